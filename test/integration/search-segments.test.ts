import { randomUUID } from 'node:crypto';
import type { CompiledFilter } from '../../src/domain/search-filter';
import type { StoredChunk } from '../../src/domain/types';
import type { SnapshotChange } from '../../src/snapshot';
import { filterOf } from '../fixtures/filters';
import { testSeed } from '../fixtures/random';
import {
  bruteForceTopK,
  randomChunks,
  randomVector,
  readWholeBot,
  rng,
  type SearchWorld,
  searchWorld,
} from '../fixtures/search-world';
import { upsertOf } from '../fixtures/snapshot-chunks';

// A snapshot of 7-row vector segments: 90 chunks span 13 segments, so every query's top k and every
// filter mixes rows from several segments, as a 1M-chunk bot's 46 segments of 32 MiB do.
jest.setTimeout(60_000);

const dimension = 24;
const ROWS_PER_SEGMENT = 7;
let world: SearchWorld;

beforeAll(() => {
  world = searchWorld({ segmentBytes: ROWS_PER_SEGMENT * dimension * 4 });
});
afterAll(async () => {
  await world.close();
});

const cases: { filter?: CompiledFilter; limit: number }[] = [
  { limit: 10 },
  { limit: 1 },
  { limit: 40 },
  { filter: filterOf({ metadata: { lang: 'de' } }), limit: 10 },
  { filter: filterOf({ filename: ['doc-1.txt', 'doc-4.txt'], metadata: { part: 1 } }), limit: 5 },
];

type Answer = { source: string; ids: string[]; scores: number[] };

async function answers(botId: string, query: number[]): Promise<Answer[]> {
  const out: Answer[] = [];
  for (const { filter, limit } of cases) {
    const answer = await world.search(botId, query, { limit, ...(filter === undefined ? {} : { filter }) });
    out.push({
      source: answer.source,
      ids: answer.results.map((hit) => hit.chunk_id),
      scores: answer.results.map((hit) => hit.score),
    });
  }
  return out;
}

function expectExact(got: Answer[], stored: StoredChunk[], query: number[], source: string): void {
  got.forEach((answer, i) => {
    const { filter, limit } = cases[i] as (typeof cases)[number];
    const expected = bruteForceTopK(stored, query, limit, filter === undefined ? {} : { filter });
    expect(answer.source).toBe(source);
    expect(answer.ids).toEqual(expected.map((hit) => hit.chunk_id));
    answer.scores.forEach((score, j) => {
      expect(Math.abs(score - (expected[j]?.score as number))).toBeLessThan(1e-5);
    });
  });
}

describe('search over a snapshot stored in many segments', () => {
  it('answers cold, warm and from DynamoDB alike, before and after updates on segment boundaries', async () => {
    const seed = testSeed();
    console.log(`search segments seed: ${seed}`);
    const random = rng(seed);
    const botId = `bot-${randomUUID()}`;
    await world.bots.putOwned(botId, 'owner', { embedding_dimension: dimension });
    await world.chunks.put(randomChunks(botId, 90, dimension, random, { files: 6 }));
    let stored = await readWholeBot(world.chunks, botId);
    const query = randomVector(dimension, random);

    // The DynamoDB fallback (which rebuilds), then warm, then cold (an empty process cache).
    await world.snapshots.drop(botId);
    world.cache.forget(botId);
    const fromDynamo = await world.search(botId, query, { limit: 10 });
    expect(fromDynamo.source).toBe('dynamodb');
    expectExact(await answers(botId, query), stored, query, 'snapshot');
    world.cache.forget(botId);
    expectExact(await answers(botId, query), stored, query, 'snapshot');

    // Changes as the stream applies them: overwrite the rows on either side of each boundary (slots
    // 6|7, 13|14, ...), delete some, add new ones into freed slots and past the end.
    const bySlotOrder = (await world.snapshots.read(botId))?.rows.map((row) => row.chunk_id) ?? [];
    const boundary = bySlotOrder.filter(
      (_, slot) => slot % ROWS_PER_SEGMENT === 0 || slot % ROWS_PER_SEGMENT === 6,
    );
    const edited = stored
      .filter((c) => boundary.slice(0, 12).includes(c.chunk_id))
      .map((c) => ({ ...c, embedding: Float32Array.from(randomVector(dimension, random)) }));
    const deleted = boundary.slice(12, 18);
    const added = randomChunks(botId, 10, dimension, random, { files: 6, prefix: 'new' });
    await world.chunks.put([...edited, ...added]);
    await world.chunks.delete(botId, deleted);
    const changes: SnapshotChange[] = [
      ...deleted.map((chunk_id): SnapshotChange => ({ kind: 'delete', chunk_id })),
      ...[...edited, ...added].map(upsertOf),
    ];
    await world.snapshots.applyChanges(botId, changes);
    stored = await readWholeBot(world.chunks, botId);
    expect(stored).toHaveLength(90 - deleted.length + added.length);

    const warm = await answers(botId, query);
    expectExact(warm, stored, query, 'snapshot');
    world.cache.forget(botId);
    expectExact(await answers(botId, query), stored, query, 'snapshot');
    await world.snapshots.drop(botId);
    world.cache.forget(botId);
    const fallback = await world.search(botId, query, { limit: 40 });
    expect(fallback.source).toBe('dynamodb');
    expect(fallback.results.map((hit) => hit.chunk_id)).toEqual(warm[2]?.ids);
  });
});
