import { randomUUID } from 'node:crypto';
import { DEFAULT_TOKENISER, tokenise } from '../../src/domain/keyword-text';
import { ScoreBuffer } from '../../src/domain/ranking/scoring';
import type { StoredChunk } from '../../src/domain/types';
import type { KeywordIndexStore, SnapshotChange } from '../../src/snapshot';
import { RedisKeywordIndexStore, SnapshotCache, startSnapshot } from '../../src/snapshot';
import { makeSearch, type Search } from '../../src/use-cases/search';
import { bruteBm25, bruteTop, randomText } from '../fixtures/brute-keywords';
import { testSeed } from '../fixtures/random';
import {
  CapturingLogger,
  randomChunks,
  randomVector,
  readWholeBot,
  rng,
  type SearchWorld,
  searchWorld,
} from '../fixtures/search-world';
import { upsertOf } from '../fixtures/snapshot-chunks';

jest.setTimeout(120_000);

/**
 * Every snapshot rebuild stores the bot's keyword index too (docs/snapshot.md, "The keyword index"),
 * whatever the bot's size: queries here may build it only for bots of at most QUERY_LIMIT chunks, and
 * the bots hold more, so an index present after a rebuild is the rebuild's. It must be exact against a
 * brute-force BM25 over what DynamoDB holds, or absent.
 */
const DIM = 16;
const QUERY_LIMIT = 10;
const QUERIES = ['redis snapshot', 'E-1042 stream', 'running keyword café', 'v2.3', 'SKU-77 lambda deploy'];
const seed = testSeed();
let world: SearchWorld;
let random: () => number;
let store: RedisKeywordIndexStore;

/** The Redis keyword index, counting the builds queries start (the rebuilds' go through publishBuild). */
class CountingKeywordIndex implements KeywordIndexStore {
  queryBuilds = 0;
  constructor(readonly inner: RedisKeywordIndexStore) {}
  beginUpdate: KeywordIndexStore['beginUpdate'] = (botId) => this.inner.beginUpdate(botId);
  finishUpdate: KeywordIndexStore['finishUpdate'] = (...args) => this.inner.finishUpdate(...args);
  drop: KeywordIndexStore['drop'] = (botId) => this.inner.drop(botId);
  read: KeywordIndexStore['read'] = (...args) => this.inner.read(...args);
  claimBuild: KeywordIndexStore['claimBuild'] = (botId) => this.inner.claimBuild(botId);
  publishBuild: KeywordIndexStore['publishBuild'] = (...args) => this.inner.publishBuild(...args);
  build: KeywordIndexStore['build'] = (...args) => {
    this.queryBuilds += 1;
    return this.inner.build(...args);
  };
}

beforeAll(() => {
  console.log(`keyword rebuild seed ${seed} (TEST_SEED replays it)`);
  world = searchWorld();
  random = rng(seed);
  store = new RedisKeywordIndexStore(world.redis, world.prefix);
});
afterAll(async () => {
  await world.close();
});

function searchWith(keywords: KeywordIndexStore): Search {
  return makeSearch({
    bots: world.bots,
    chunks: world.chunks,
    snapshots: world.snapshots,
    cache: new SnapshotCache(world.snapshots),
    scores: new ScoreBuffer(),
    keywords,
    keywordQueryBuildMaxChunks: QUERY_LIMIT,
    logger: new CapturingLogger(),
  });
}

async function newBot(count: number): Promise<string> {
  const botId = `bot-${randomUUID()}`;
  await world.bots.putOwned(botId, 'owner', { embedding_dimension: DIM });
  const chunks = randomChunks(botId, count, DIM, rng(Math.floor(random() * 1e9)));
  await world.chunks.put(chunks.map((chunk) => ({ ...chunk, text: randomText(random) })));
  return botId;
}

/** The stored index at the snapshot's current version: 'missing'/'busy', or its chunk count and postings. */
async function storedIndex(botId: string, terms: string[]) {
  const current = await world.snapshots.currentVersion(botId);
  if (current === null) throw new Error('no snapshot: the rebuild did not publish');
  return store.read(botId, current.version, terms);
}

/** Every query's keyword-only results equal brute-force BM25 over what DynamoDB holds now. */
async function expectExactKeywords(search: Search, botId: string): Promise<void> {
  const chunks = await readWholeBot(world.chunks, botId);
  const ids = chunks.map((chunk) => chunk.chunk_id);
  for (const text of QUERIES) {
    const bm25 = bruteBm25(
      chunks.map((chunk) => chunk.text),
      text,
    );
    const want = bruteTop(bm25, ids, 7, (i) => (bm25[i] as number) > 0);
    const found = await search(botId, undefined, { limit: 7, queryText: text });
    expect(found.source).toBe('snapshot');
    expect(found.results.map((hit) => hit.chunk_id)).toEqual(want);
    found.results.forEach((hit, i) => {
      expect(hit.keyword_score).toBeCloseTo(bm25[ids.indexOf(want[i] as string)] as number, 9);
    });
  }
}

/** Writes chunks to DynamoDB, then hands the stream's changes to the snapshot and keyword stores. */
async function writeThroughStream(keywords: KeywordIndexStore, chunks: StoredChunk[]): Promise<void> {
  const botId = chunks[0]?.bot_id as string;
  await world.chunks.put(chunks);
  const token = await keywords.beginUpdate(botId);
  const changes: SnapshotChange[] = chunks.map(upsertOf);
  await world.snapshots.applyChanges(botId, changes);
  const terms = chunks.map((chunk) => ({
    chunkId: chunk.chunk_id,
    terms: tokenise(chunk.text, DEFAULT_TOKENISER),
  }));
  if (token !== null) await keywords.finishUpdate(botId, token, terms);
}

describe('the keyword index is rebuilt with the snapshot', () => {
  it("stores it with a vector search's rebuild of a bot above the query-time build limit, exact", async () => {
    const keywords = new CountingKeywordIndex(store);
    const search = searchWith(keywords);
    const botId = await newBot(6 * QUERY_LIMIT);

    const first = await search(botId, randomVector(DIM, random), { limit: 3 });

    expect(first.source).toBe('dynamodb');
    const stored = await storedIndex(botId, ['redi']);
    expect(stored).toMatchObject({ docCount: 6 * QUERY_LIMIT });
    await expectExactKeywords(search, botId);
    expect(keywords.queryBuilds).toBe(0);
  });

  it("stores it with the stream handler's first snapshot of a bot, exact", async () => {
    const keywords = new CountingKeywordIndex(store);
    const botId = await newBot(4 * QUERY_LIMIT);

    const outcome = await startSnapshot(
      { snapshots: world.snapshots, chunks: world.chunks, log: { warn: () => {} }, keywords },
      botId,
      0,
      DIM,
    );

    expect(outcome).toBe('published');
    expect(await storedIndex(botId, ['redi'])).toMatchObject({ docCount: 4 * QUERY_LIMIT });
    await expectExactKeywords(searchWith(keywords), botId);
    expect(keywords.queryBuilds).toBe(0);
  });

  it('leaves it absent, never wrong, when a stream change lands during the rebuild', async () => {
    const keywords = new CountingKeywordIndex(store);
    const search = searchWith(keywords);
    const botId = await newBot(6 * QUERY_LIMIT);
    const stored = await readWholeBot(world.chunks, botId);
    // A new text for a chunk the rebuild has not read yet: the commit re-reads it into the snapshot.
    const changed = { ...(stored[3] as StoredChunk), text: 'redis E-1042 snapshot v2.3 redis' };
    world.snapshots.afterTicket = async () => {
      world.snapshots.afterTicket = undefined;
      await writeThroughStream(keywords, [changed]);
    };

    await search(botId, randomVector(DIM, random), { limit: 3 });

    expect(await storedIndex(botId, ['redi'])).toBe('missing');
    const texts = await world.snapshots.texts(botId, [changed.chunk_id]);
    expect(texts).toEqual([changed.text]);
    await expectExactKeywords(search, botId);
  });

  it("refuses an earlier rebuild's index once a later rebuild claimed it, leaving none of its keys", async () => {
    const botId = await newBot(20);
    const log = { warn: () => {} };
    expect(
      await startSnapshot({ snapshots: world.snapshots, chunks: world.chunks, log }, botId, 0, DIM),
    ).toBe('published');
    const version = (await world.snapshots.currentVersion(botId))?.version as string;
    const documents = (await readWholeBot(world.chunks, botId)).map((chunk) => ({
      chunkId: chunk.chunk_id,
      terms: tokenise(chunk.text, DEFAULT_TOKENISER),
    }));
    const earlier = await store.claimBuild(botId);
    const later = await store.claimBuild(botId);

    expect(await store.publishBuild(botId, earlier, version, documents)).toBe(false);
    expect(await world.redis.keys(`${world.prefix}:*${botId}*:kw:${earlier}:*`)).toEqual([]);
    expect(await store.publishBuild(botId, later, version, documents.slice(1))).toBe(false);
    expect(await world.redis.keys(`${world.prefix}:*${botId}*:kw:*`)).toEqual([]);
    const again = await store.claimBuild(botId);
    expect(await store.publishBuild(botId, again, version, documents)).toBe(true);
    expect(await storedIndex(botId, ['redi'])).toMatchObject({ docCount: 20 });
  });
});
