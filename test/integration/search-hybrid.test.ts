import { randomUUID } from 'node:crypto';
import { DynamoBotStats } from '../../src/adapters/dynamodb/bot-stats';
import { loadConfig } from '../../src/config';
import { decodeEmbedding } from '../../src/domain/embedding-codec';
import type { Fusion } from '../../src/domain/ranking/fusion';
import { headFusionStats } from '../../src/domain/ranking/keyword-rows';
import {
  dotRow,
  normalise,
  ScoreBuffer,
  type TopKKernel,
  unitVector32,
} from '../../src/domain/ranking/scoring';
import { type CompiledFilter, matchesFilter } from '../../src/domain/search-filter';
import type { SearchHit, StoredChunk } from '../../src/domain/types';
import type { KeywordIndexStore, KeywordRead } from '../../src/snapshot';
import { RedisKeywordIndexStore, SnapshotCache } from '../../src/snapshot';
import { makeSearch, type Search, type SearchOptions } from '../../src/use-cases/search';
import {
  type StreamLog,
  type SyncStreamBatchDeps,
  syncStreamBatch,
} from '../../src/use-cases/sync-stream-batch';
import { botStatsOf } from '../../src/wiring/adapters';
import { bruteBm25, bruteFuse, bruteTop, randomText } from '../fixtures/brute-keywords';
import { filterOf } from '../fixtures/filters';
import { testSeed } from '../fixtures/random';
import {
  randomVector,
  readWholeBot,
  rng,
  type SearchWorld,
  searchIn,
  searchWorld,
} from '../fixtures/search-world';
import { upsertOf } from '../fixtures/snapshot-chunks';
import { configIn } from '../fixtures/snapshot-modes';
import { type ChunkItem, chunkItem, StreamEventFactory } from '../fixtures/stream-events';
import { scannerAtEverySize } from '../fixtures/tied-vectors';

const DIM = 16;
const seed = testSeed();
let world: SearchWorld;
let random: () => number;
let keywords: ObservedKeywordIndex;
/** The world's search with the Redis keyword index plugged in. */
let search: Search;

/** Forwards every call to the Redis keyword index and counts how reads, builds and updates ended. */
class ObservedKeywordIndex implements KeywordIndexStore {
  served = 0;
  /** Reads sent and not yet answered. */
  pending = 0;
  builds = 0;
  rebuilt = 0;
  updates: boolean[] = [];
  constructor(readonly inner: RedisKeywordIndexStore) {}
  beginUpdate: KeywordIndexStore['beginUpdate'] = (botId) => this.inner.beginUpdate(botId);
  drop: KeywordIndexStore['drop'] = (botId) => this.inner.drop(botId);
  async finishUpdate(...args: Parameters<KeywordIndexStore['finishUpdate']>): Promise<boolean> {
    const current = await this.inner.finishUpdate(...args);
    this.updates.push(current);
    return current;
  }
  async read(...args: Parameters<KeywordIndexStore['read']>): Promise<KeywordRead> {
    this.pending += 1;
    try {
      const read = await this.inner.read(...args);
      if (typeof read !== 'string') this.served += 1;
      return read;
    } finally {
      this.pending -= 1;
    }
  }
  async build(...args: Parameters<KeywordIndexStore['build']>): Promise<boolean> {
    const built = await this.inner.build(...args);
    if (built) this.builds += 1;
    return built;
  }
  claimBuild: KeywordIndexStore['claimBuild'] = (botId) => this.inner.claimBuild(botId);
  async publishBuild(...args: Parameters<KeywordIndexStore['publishBuild']>): Promise<boolean> {
    const built = await this.inner.publishBuild(...args);
    if (built) this.rebuilt += 1;
    return built;
  }
}

beforeAll(() => {
  console.log(`hybrid search exactness seed ${seed} (TEST_SEED replays it)`);
  world = searchWorld();
  random = rng(seed);
  keywords = new ObservedKeywordIndex(new RedisKeywordIndexStore(world.redis, world.prefix));
  search = makeSearch({
    bots: world.bots,
    chunks: world.chunks,
    snapshots: world.snapshots,
    cache: world.cache,
    scores: new ScoreBuffer(),
    keywords,
    // The native kernel on every snapshot at any size: ungrouped hybrid queries take the vector head.
    kernel: scannerAtEverySize(),
    logger: world.logger,
  });
});
afterAll(async () => {
  await world.close();
});

function item(botId: string, filename: string, index: number): ChunkItem {
  return {
    ...chunkItem(botId, filename, index, { dimension: DIM, seed: Math.floor(random() * 1e6) }),
    text: randomText(random),
  };
}

const stored = (c: ChunkItem): StoredChunk => ({ ...c, embedding: decodeEmbedding(c.embedding) });

/** The expected ids and fused scores, from a brute force over every chunk DynamoDB holds now. */
function expected(
  chunks: StoredChunk[],
  query: { text: string; embedding?: number[]; fusion?: Fusion; filter?: CompiledFilter },
  limit: number,
  offset = 0,
): { ids: string[]; scores: number[]; matches: number } {
  const ids = chunks.map((c) => c.chunk_id);
  const bm25 = bruteBm25(
    chunks.map((c) => c.text),
    query.text,
  );
  const filter = query.filter ?? null;
  const passes = chunks.map((c) => filter === null || matchesFilter(c, filter));
  const pick = (i: number) => passes[i] === true;
  const matches = chunks.filter((_, i) => pick(i) && (bm25[i] as number) > 0).length;
  if (query.embedding === undefined) {
    const top = bruteTop(bm25, ids, offset + limit, (i) => pick(i) && (bm25[i] as number) > 0).slice(offset);
    return { ids: top, scores: top.map((id) => bm25[ids.indexOf(id)] as number), matches };
  }
  const unit = normalise(query.embedding) as Float64Array;
  const kept = chunks.flatMap((_, i) => (pick(i) ? [i] : []));
  // Cosine of the float32 unit vectors search stores and scores (a float64 cosine differs by ~1e-7, which
  // weighted fusion's min-max normalisation can lift past the tolerance below); BM25 and fusion, what
  // this test is about, stay computed independently.
  const cosine = kept.map((i) => dotRow(unitVector32((chunks[i] as StoredChunk).embedding), 0, unit, DIM));
  const keptIds = kept.map((i) => ids[i] as string);
  const fused = bruteFuse(
    cosine,
    kept.map((i) => bm25[i] as number),
    keptIds,
    query.fusion ?? { method: 'rrf', k: 60 },
  );
  const top = bruteTop(fused, keptIds, offset + limit).slice(offset);
  return { ids: top, scores: top.map((id) => fused[keptIds.indexOf(id)] as number), matches };
}

const idsOf = (hits: SearchHit[]) => hits.map((h) => h.chunk_id);

/** Searches with `search` and with a DynamoDB-only search, and checks both against brute force. */
async function checkQueries(
  botId: string,
  expectSource: 'snapshot' | 'dynamodb',
  searchWith: Search = search,
): Promise<void> {
  const chunks = await readWholeBot(world.chunks, botId);
  const noRedis = makeSearch({
    bots: world.bots,
    chunks: world.chunks,
    snapshots: null,
    cache: null,
    scores: new ScoreBuffer(),
    logger: world.logger,
  });
  const terms = ['redis snapshot', 'E-1042 stream', 'running keyword café', 'v2.3', 'SKU-77 lambda deploy'];
  for (const text of terms) {
    const embedding = randomVector(DIM, random);
    const cases: { embedding?: number[]; fusion?: Fusion; filter?: CompiledFilter; offset?: number }[] = [
      {},
      { filter: filterOf({ filename: ['f1.txt', 'f2.txt'] }) },
      { embedding },
      { embedding, fusion: { method: 'weighted', alpha: 0.3 }, offset: 2 },
      {
        embedding,
        fusion: { method: 'rrf', k: 10 },
        filter: filterOf({ must_not: [{ key: 'filename', match: { value: 'f0.txt' } }] }),
      },
      { embedding, fusion: { method: 'rrf', k: 2, weights: { vector: 0.4, keyword: 2 } }, offset: 1 },
      { embedding, fusion: { method: 'dbsf' } },
      {
        embedding,
        fusion: { method: 'dbsf' },
        filter: filterOf({ filename: ['f1.txt', 'f3.txt'] }),
        offset: 3,
      },
    ];
    for (const c of cases) {
      const options: SearchOptions = {
        limit: 7,
        queryText: text,
        ...(c.fusion === undefined ? {} : { fusion: c.fusion }),
        ...(c.filter === undefined ? {} : { filter: c.filter }),
        ...(c.offset === undefined ? {} : { offset: c.offset }),
      };
      const want = expected(chunks, { text, ...c }, 7, c.offset ?? 0);
      const fromSnapshot = await searchWith(botId, c.embedding, options);
      const fromTable = await noRedis(botId, c.embedding, options);
      expect(fromSnapshot.source).toBe(expectSource);
      expect(fromTable.source).toBe('dynamodb');
      expect(idsOf(fromSnapshot.results)).toEqual(want.ids);
      expect(idsOf(fromTable.results)).toEqual(want.ids);
      expect([fromSnapshot.keywordMatches, fromTable.keywordMatches]).toEqual([want.matches, want.matches]);
      fromSnapshot.results.forEach((hit, i) => {
        expect(hit.score).toBeCloseTo(want.scores[i] as number, 6);
        expect(hit.fused_score).toBe(hit.score);
        expect(hit.keyword_score).toBeGreaterThanOrEqual(0);
        expect(hit.vector_score === undefined).toBe(c.embedding === undefined);
        // Snapshot and fallback agree bit for bit: same texts, same float32 unit vectors, same loops.
        expect(fromTable.results[i]).toEqual(hit);
      });
    }
    // A score threshold cuts the fused list alike in both sources (the table scores every chunk).
    for (const fusion of [
      { method: 'rrf', k: 5 },
      { method: 'weighted', alpha: 0.6 },
    ] as Fusion[]) {
      const all = await noRedis(botId, embedding, { limit: 7, queryText: text, fusion });
      const bar = all.results[3]?.score ?? 0;
      const options: SearchOptions = { limit: 7, queryText: text, fusion, scoreThreshold: bar, offset: 1 };
      const fromSnapshot = await searchWith(botId, embedding, options);
      expect(fromSnapshot.results).toEqual((await noRedis(botId, embedding, options)).results);
      expect(fromSnapshot.results.every((hit) => hit.score >= bar)).toBe(true);
    }
    // Grouping applies to the fused list alike in both sources; every group's hits are in fused order.
    const grouped: SearchOptions = {
      limit: 3,
      queryText: text,
      groupBy: { field: 'filename', groupSize: 2 },
    };
    const groupedSnapshot = await searchWith(botId, embedding, grouped);
    const groupedTable = await noRedis(botId, embedding, grouped);
    expect(groupedSnapshot.groups?.length).toBeGreaterThan(0);
    expect(groupedSnapshot.groups).toEqual(groupedTable.groups);
    for (const group of groupedSnapshot.groups ?? []) {
      expect(group.hits.every((hit) => hit.metadata.filename === group.id)).toBe(true);
      const scores = group.hits.map((hit) => hit.score);
      expect(scores).toEqual([...scores].sort((x, y) => y - x));
    }
  }
}

/**
 * Stream updates of `items` written to the table and counted through `stream`: inserts, overwrites (new
 * text and vector), moves (another document) and deletions. Returns the bot's chunks after them.
 */
async function streamUpdates(
  botId: string,
  items: ChunkItem[],
  events: StreamEventFactory,
  stream: SyncStreamBatchDeps,
): Promise<ChunkItem[]> {
  const inserted = Array.from({ length: 8 }, (_, i) => item(botId, 'f4.txt', i));
  const overwritten = items
    .slice(0, 8)
    .map((old) => ({ ...item(botId, old.filename, old.chunk_index), chunk_id: old.chunk_id }));
  const moved = items.slice(8, 12).map((old) => ({ ...old, filename: 'f3.txt', text: randomText(random) }));
  const deleted = items.slice(12, 20);
  await world.chunks.put([...inserted, ...overwritten, ...moved].map(stored));
  await world.chunks.delete(
    botId,
    deleted.map((c) => c.chunk_id),
  );
  const report = await syncStreamBatch(stream, [
    ...inserted.map((c) => events.insert(c)),
    ...overwritten.map((c, i) => events.modify(items[i] as ChunkItem, c)),
    ...moved.map((c, i) => events.modify(items[8 + i] as ChunkItem, c)),
    ...deleted.map((c) => events.remove(c)),
  ]);
  expect(report.failures).toEqual([]);
  const after = [...overwritten, ...moved, ...items.slice(20), ...inserted];
  expect((await readWholeBot(world.chunks, botId)).length).toBe(after.length);
  return after;
}

/** The stream handler's dependencies on the world's tables, snapshot store and keyword index. */
function redisStream(): SyncStreamBatchDeps {
  const config = loadConfig(process.env);
  const stats = new DynamoBotStats(world.documents, {
    botCollectionsTable: config.tables.botCollections,
    botDocumentsTable: config.tables.botDocuments,
    streamClaimsTable: config.tables.streamClaims,
    defaultEmbeddingDimension: config.defaultEmbeddingDimension,
  });
  const log: StreamLog = { warn: () => {}, error: () => {} };
  return { stats, snapshots: world.snapshots, keywords, log, defaultEmbeddingDimension: DIM };
}

/** A new bot of `count` chunks in four documents, written to the table and counted through the stream. */
async function streamedBot(count: number) {
  const botId = `bot-${randomUUID()}`;
  await world.bots.putOwned(botId, 'owner', { embedding_dimension: DIM });
  const stream = redisStream();
  const events = new StreamEventFactory();
  const items = Array.from({ length: count }, (_, i) => item(botId, `f${i % 4}.txt`, Math.floor(i / 4)));
  await world.chunks.put(items.map(stored));
  await syncStreamBatch(
    stream,
    items.map((c) => events.insert(c)),
  );
  return { botId, stream, events, items };
}

describe('hybrid search is exact', () => {
  it('matches brute-force BM25 and fusion from the snapshot and DynamoDB, through stream updates and a rebuild', async () => {
    const { botId, stream, events, items: written } = await streamedBot(60);
    let items = written;
    // No snapshot yet: the first search answers from DynamoDB and rebuilds it.
    expect((await search(botId, undefined, { limit: 1, queryText: 'redis' })).source).toBe('dynamodb');
    // The rebuild built the keyword index from the same read: queries read their terms' postings from it.
    expect(keywords.rebuilt).toBe(1);
    const servedBefore = keywords.served;
    await checkQueries(botId, 'snapshot');
    expect(keywords.builds).toBe(0);
    expect(keywords.served).toBeGreaterThan(servedBefore);

    items = await streamUpdates(botId, items, events, stream);
    // The stream handler moved the index along with the snapshot (O(batch)): at the new version queries
    // read their terms' postings from it, and none had to rebuild it.
    expect(keywords.updates).toEqual([true]);
    const served = keywords.served;
    await checkQueries(botId, 'snapshot');
    expect(keywords.builds).toBe(0);
    expect(keywords.served).toBeGreaterThan(served);

    // A key of the index lost (as eviction would): the next read of it finds it broken, drops it and
    // rebuilds it. Postings a copy holds answer its version without a read, so the copy is read anew.
    const [terms] = await world.redis.keys(`${world.prefix}:*${botId}*:kw:*:terms`);
    const id = await world.redis.hget(terms as string, 'redi');
    expect(id).not.toBeNull();
    expect(await world.redis.del((terms as string).replace(/terms$/, `p:${id}`))).toBe(1);
    world.cache.forget(botId);
    await checkQueries(botId, 'snapshot');
    expect(keywords.builds).toBe(1);

    // A rebuild from DynamoDB gives the same keyword statistics, and stores the index with the snapshot.
    await world.snapshots.drop(botId);
    expect((await search(botId, undefined, { limit: 1, queryText: 'redis' })).source).toBe('dynamodb');
    await checkQueries(botId, 'snapshot');
    expect(keywords.rebuilt).toBe(2);
    expect(keywords.builds).toBe(1);
    // Some hybrid answers came from the vector head (the rest from every candidate): both were checked.
    expect(headFusionStats.searches - headFusionStats.fellBack).toBeGreaterThan(0);
    console.log(`hybrid from the vector head: ${JSON.stringify(headFusionStats)}`);
  });

  it('reads the postings of a warm query at the held copy version without a version check first, holds them for the next query at that version, and answers changes since exactly', async () => {
    const { botId, stream, events, items: written } = await streamedBot(40);
    let items = written;
    // The native kernel, noting each approximate scan asked and whether a postings read was on its way.
    const scanner = scannerAtEverySize();
    const scans: { wanted: number; withBottom: boolean; postingsPending: boolean }[] = [];
    const kernel: TopKKernel = {
      topK: (...args) => scanner.topK(...args),
      approximate: (vectors, dimension, rowCount, unitQuery, wanted, mask, withBottom) => {
        scans.push({ wanted, withBottom: withBottom === true, postingsPending: keywords.pending > 0 });
        return scanner.approximate(vectors, dimension, rowCount, unitQuery, wanted, mask, withBottom);
      },
      dense: (...args) => scanner.dense(...args),
    };
    // A container that holds no texts, as for a large bot: the hits' texts are read per search.
    const warm = makeSearch({
      bots: world.bots,
      chunks: world.chunks,
      snapshots: world.snapshots,
      cache: new SnapshotCache(world.snapshots, { textsHeldMaxRows: 0 }),
      scores: new ScoreBuffer(),
      keywords,
      kernel,
      logger: world.logger,
    });
    let text = 'redis snapshot';
    const hybrid = (embedding: number[] | undefined, limit = 5, fusion?: Fusion) =>
      warm(botId, embedding, { limit, queryText: text, ...(fusion === undefined ? {} : { fusion }) });
    const expectExact = async (
      answer: Awaited<ReturnType<Search>>,
      embedding: number[] | undefined,
      fusion?: Fusion,
    ) => {
      const want = expected(
        await readWholeBot(world.chunks, botId),
        {
          text,
          ...(embedding === undefined ? {} : { embedding }),
          ...(fusion === undefined ? {} : { fusion }),
        },
        answer.results.length,
      );
      expect(answer.source).toBe('snapshot');
      expect(idsOf(answer.results)).toEqual(want.ids);
      answer.results.forEach((hit, i) => {
        expect(hit.score).toBeCloseTo(want.scores[i] as number, 6);
      });
    };
    // The first query rebuilds the snapshot and its index; the next one reads the copy it holds after.
    await hybrid(randomVector(DIM, random));
    await hybrid(randomVector(DIM, random));

    // Terms not asked at this version yet: their postings are read.
    text = 'stream shard';
    const embedding = randomVector(DIM, random);
    const checks = world.snapshots.versionChecks;
    const textReads = world.snapshots.textsAtCalls;
    const served = keywords.served;
    scans.length = 0;
    const answer = await hybrid(embedding);
    await expectExact(answer, embedding);
    // The fused top's first vector scan is read while the postings are on their way, and read once.
    const expectScanReadMeanwhile = () => {
      expect(scans[0]?.postingsPending).toBe(true);
      const asked = scans.map((scan) => `${scan.wanted}/${scan.withBottom}`);
      expect(new Set(asked).size).toBe(asked.length);
    };
    expectScanReadMeanwhile();
    // One round trip for the postings at the held version, one for the texts that confirm it.
    expect(keywords.served).toBe(served + 1);
    expect(world.snapshots.textsAtCalls).toBe(textReads + 1);
    expect(world.snapshots.versionChecks).toBe(checks);
    // Weighted fusion's first scan (the query and its negation) too.
    text = 'vector search';
    scans.length = 0;
    const weighted = await hybrid(embedding, 5, { method: 'weighted', alpha: 0.5 });
    expect(weighted.source).toBe('snapshot');
    expect(scans[0]?.withBottom).toBe(true);
    expectScanReadMeanwhile();

    // Terms asked before at this version (in any order, or some of them): their postings are held with the
    // copy, so no read, and the answers are as exact.
    const heldServed = keywords.served;
    for (const asked of ['shard stream', 'search', 'redis vector snapshot']) {
      text = asked;
      const again = randomVector(DIM, random);
      await expectExact(await hybrid(again), again);
      const weightedFusion: Fusion = { method: 'weighted', alpha: 0.5 };
      await expectExact(await hybrid(again, 5, weightedFusion), again, weightedFusion);
      await expectExact(await hybrid(undefined, 100), undefined);
    }
    expect(keywords.served).toBe(heldServed);
    // A term not asked yet at this version: it alone is read, once, and scored with the held ones.
    text = 'redis shard lambda';
    const unheld = randomVector(DIM, random);
    await expectExact(await hybrid(unheld), unheld);
    expect(keywords.served).toBe(heldServed + 1);
    text = 'redis snapshot';

    // The stream moved the snapshot and its index: the held version's postings are gone, the checked path answers.
    items = await streamUpdates(botId, items, events, stream);
    const afterStream = randomVector(DIM, random);
    await expectExact(await hybrid(afterStream), afterStream);
    expect(world.snapshots.versionChecks).toBeGreaterThan(checks);

    // The snapshot moved without its index (the index still describes the held version): the postings
    // read beside it match the held copy, and the texts read at that version find it moved.
    const [first] = items;
    if (first === undefined) throw new Error('no chunk left');
    const edited = { ...stored(first), text: 'redis snapshot, redis snapshot and the redis snapshot' };
    await world.chunks.put([edited]);
    await world.snapshots.applyChanges(botId, [upsertOf(edited)]);
    // Keyword only, every match listed: the edited chunk is among them, with its new text.
    const edit = await hybrid(undefined, 100);
    await expectExact(edit, undefined);
    expect(edit.results.find((hit) => hit.chunk_id === first.chunk_id)?.text).toBe(edited.text);
  });

  it('matches brute-force BM25 and fusion from a memory-mode container, before and after stream updates', async () => {
    const botId = `bot-${randomUUID()}`;
    await world.bots.putOwned(botId, 'owner', { embedding_dimension: DIM });
    // The stream handler of the memory mode: counts with the change log, no snapshot or keyword index kept.
    const stats = botStatsOf({ config: configIn('memory'), documents: world.documents });
    const stream: SyncStreamBatchDeps = {
      stats,
      snapshots: null,
      log: { warn: () => {}, error: () => {} },
      defaultEmbeddingDimension: DIM,
    };
    const events = new StreamEventFactory();
    const items = Array.from({ length: 60 }, (_, i) => item(botId, `f${i % 4}.txt`, Math.floor(i / 4)));
    await world.chunks.put(items.map(stored));
    await syncStreamBatch(
      stream,
      items.map((c) => events.insert(c)),
    );
    const held = searchIn(world, 'memory');

    await checkQueries(botId, 'snapshot', held.search);
    await streamUpdates(botId, items, events, stream);
    await checkQueries(botId, 'snapshot', held.search);
    expect(held.logger.warnings).toEqual([]);
  });

  it('refuses a query_text that has no terms or too many, naming the field', async () => {
    const botId = `bot-${randomUUID()}`;
    await world.bots.putOwned(botId, 'owner', { embedding_dimension: DIM });
    await expect(world.search(botId, undefined, { limit: 3, queryText: 'the and of' })).rejects.toMatchObject(
      {
        field: 'query_text',
      },
    );
    const long = Array.from({ length: 1001 }, (_, i) => `word${i}`).join(' ');
    await expect(world.search(botId, undefined, { limit: 3, queryText: long })).rejects.toMatchObject({
      field: 'query_text',
    });
  });
});
