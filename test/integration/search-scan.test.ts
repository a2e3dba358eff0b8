import { randomUUID } from 'node:crypto';
import { normalise, ScoreBuffer, topKByDotProduct } from '../../src/domain/ranking/scoring';
import type { StoredChunk } from '../../src/domain/types';
import type { Snapshot, SnapshotChange } from '../../src/snapshot';
import { replayHint, testSeed } from '../fixtures/random';
import { randomChunks, randomVector, rng, type SearchWorld, searchWorld } from '../fixtures/search-world';

// The cold search (src/use-cases/search/sources/scan.ts): int8 codes read whole, float32 vectors and rows of the candidates
// only. Segments of 64 rows, so 700 chunks span 11 segments and every top k mixes several.
const dimension = 32;
const ROWS_PER_SEGMENT = 64;
let world: SearchWorld;

beforeAll(() => {
  world = searchWorld({ segmentBytes: ROWS_PER_SEGMENT * dimension * 4 });
});
afterAll(async () => {
  await world.close();
});

/** Float32 exact search over the whole snapshot (the portable loop): the answer the scan must equal. */
function exactTopK(snapshot: Snapshot, query: number[], k: number, scoreThreshold?: number) {
  const unit = normalise(query) as Float64Array;
  const ids = snapshot.rows.map((row) => row.chunk_id);
  const top = topKByDotProduct(snapshot.vectors, dimension, ids.length, unit, (row) => ids[row] as string, {
    k,
    scores: new ScoreBuffer(),
    ...(scoreThreshold === undefined ? {} : { scoreThreshold }),
  });
  return top.map((hit) => ({ chunk_id: hit.id, score: hit.score }));
}

/** Near-ties: copies of one vector under other ids, and copies nudged by a float32 ulp or two. */
function adversarialChunks(botId: string, random: () => number): StoredChunk[] {
  const base = randomChunks(botId, 12, dimension, random, { prefix: 'tie' });
  const anchor = base[0]?.embedding as Float32Array;
  return base.map((chunk, i) => {
    const embedding = Float32Array.from(anchor);
    if (i % 3 === 1) embedding[i % dimension] = (embedding[i % dimension] as number) * (1 + 2 ** -22);
    if (i % 3 === 2) embedding[0] = (embedding[0] as number) * (1 - 2 ** -23);
    return { ...chunk, embedding };
  });
}

async function expectScanAnswers(botId: string, queries: number[][], label: string): Promise<void> {
  const snapshot = (await world.snapshots.inner.read(botId)) as Snapshot;
  for (const [i, query] of queries.entries()) {
    for (const { limit, offset, scoreThreshold } of [
      { limit: 1 },
      { limit: 10 },
      { limit: 10, offset: 5 },
      { limit: 60 },
      { limit: 10, scoreThreshold: 0.2 },
    ]) {
      // Each search is cold (a new container): a small bot searched again is read whole (see below).
      world.cache.forget(botId);
      const answer = await world.search(botId, query, {
        limit,
        ...(offset === undefined ? {} : { offset }),
        ...(scoreThreshold === undefined ? {} : { scoreThreshold }),
      });
      const expected = exactTopK(snapshot, query, limit + (offset ?? 0), scoreThreshold).slice(offset ?? 0);
      expect({
        label,
        i,
        limit,
        source: answer.source,
        ids: answer.results.map((hit) => hit.chunk_id),
      }).toEqual({
        label,
        i,
        limit,
        source: 'snapshot',
        ids: expected.map((hit) => hit.chunk_id),
      });
      for (const [j, hit] of answer.results.entries()) {
        expect(Math.abs(hit.score - (expected[j]?.score as number))).toBeLessThanOrEqual(1e-6);
      }
    }
  }
}

describe('cold search from the int8 codes', () => {
  it('equals float32 exact search without reading the whole snapshot, before and after stream changes', async () => {
    const seed = testSeed();
    console.log(`search scan: ${replayHint(seed)}`);
    const random = rng(seed);
    const botId = `bot-${randomUUID()}`;
    await world.bots.putOwned(botId, 'owner', { embedding_dimension: dimension });
    const ties = adversarialChunks(botId, random);
    const chunks = [...randomChunks(botId, 700, dimension, random, { files: 7 }), ...ties];
    await world.chunks.put(chunks);
    // The first search misses and rebuilds from DynamoDB.
    expect((await world.search(botId, randomVector(dimension, random), { limit: 3 })).source).toBe(
      'dynamodb',
    );

    const queries = [
      ...Array.from({ length: 6 }, () => randomVector(dimension, random)),
      // Queries at the near-tie cluster: its 12 members decide the top k by ulps and ids.
      Array.from(ties[0]?.embedding as Float32Array),
      Array.from(ties[0]?.embedding as Float32Array, (x) => x + (random() - 0.5) * 1e-3),
    ];
    world.cache.forget(botId);
    world.snapshots.wholeReads = 0;
    world.snapshots.scanReads = 0;
    world.snapshots.candidateSlots = 0;
    await expectScanAnswers(botId, queries, 'after rebuild');
    // One scan read per cold search, no whole read, and far fewer vectors fetched than the bot holds.
    const searches = queries.length * 5;
    expect(world.snapshots.wholeReads).toBe(0);
    expect(world.snapshots.scanReads).toBe(searches);
    expect(world.snapshots.candidateSlots / searches).toBeLessThan(chunks.length / 4);

    // Searched again in the same container, a bot this small is read whole once and kept.
    const query = queries[0] as number[];
    await world.search(botId, query, { limit: 5 });
    expect(world.snapshots.wholeReads).toBe(1);
    const whole = await world.search(botId, query, { limit: 5 });
    expect(world.snapshots.wholeReads).toBe(1);
    expect(world.snapshots.scanReads).toBe(searches);
    expect(whole.results.map((hit) => hit.chunk_id)).toEqual(
      exactTopK((await world.snapshots.inner.read(botId)) as Snapshot, query, 5).map((hit) => hit.chunk_id),
    );

    // Stream changes: deletes free slots (masked in the scan), edits and additions fill them and grow.
    const ids = chunks.map((c) => c.chunk_id);
    const deleted = ids.filter((_, i) => i % 9 === 0).slice(0, 60);
    const edited = chunks
      .filter((_, i) => i % 11 === 1)
      .map((c) => ({ ...c, embedding: Float32Array.from(randomVector(dimension, random)) }));
    const added = randomChunks(botId, 20, dimension, random, { prefix: 'new' });
    const changes: SnapshotChange[] = [
      ...deleted.map((chunk_id): SnapshotChange => ({ kind: 'delete', chunk_id })),
      ...[...edited, ...added].map(
        (c): SnapshotChange => ({
          kind: 'upsert',
          row: {
            chunk_id: c.chunk_id,
            filename: c.filename,
            chunk_index: c.chunk_index,
            metadata: c.metadata,
          },
          text: c.text,
          embedding: c.embedding,
        }),
      ),
    ];
    await world.snapshots.applyChanges(botId, changes);
    world.snapshots.wholeReads = 0;
    world.snapshots.scanReads = 0;
    await expectScanAnswers(botId, queries, 'after stream changes');
    expect(world.snapshots.wholeReads).toBe(0);
    expect(world.snapshots.scanReads).toBe(searches);
  });

  it('leaves expired chunks out, answering from the whole snapshot when one ranks among the top rows', async () => {
    const seed = testSeed();
    console.log(`search scan expiry: ${replayHint(seed)}`);
    const random = rng(seed);
    const botId = `bot-${randomUUID()}`;
    await world.bots.putOwned(botId, 'owner', { embedding_dimension: dimension });
    const past = Math.floor(Date.now() / 1000) - 60;
    const chunks = randomChunks(botId, 300, dimension, random, { files: 3 }).map((c, i) =>
      i % 10 === 0 ? { ...c, expires_at: past } : c,
    );
    await world.chunks.put(chunks);
    await world.search(botId, randomVector(dimension, random), { limit: 3 });
    const snapshot = (await world.snapshots.inner.read(botId)) as Snapshot;
    const live = { ...snapshot, rows: [] as Snapshot['rows'], vectors: new Float32Array(0) };
    const vectors: number[] = [];
    snapshot.rows.forEach((row, r) => {
      if (row.expires_at !== undefined) return;
      live.rows.push(row);
      vectors.push(...snapshot.vectors.subarray(r * dimension, (r + 1) * dimension));
    });
    live.vectors = Float32Array.from(vectors);
    // At an expired chunk's own vector (it would rank first), and at random vectors.
    const queries = [Array.from(chunks[0]?.embedding as Float32Array), randomVector(dimension, random)];
    for (const query of queries) {
      for (const limit of [1, 10, 40]) {
        world.cache.forget(botId);
        const answer = await world.search(botId, query, { limit });
        expect(answer.source).toBe('snapshot');
        expect(answer.results.map((hit) => hit.chunk_id)).toEqual(
          exactTopK(live, query, limit).map((hit) => hit.chunk_id),
        );
      }
    }
  });
});
