import { randomUUID } from 'node:crypto';
import { bucketKey, snapshotKeys } from '../../src/snapshot/redis/keys';
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

/**
 * A small bot's warm search answers from the snapshot and texts held in process after one version check
 * against real Redis: it must never serve what the stream or an eviction has changed since.
 */
jest.setTimeout(60_000);

const dimension = 16;
let world: SearchWorld;

beforeAll(() => {
  world = searchWorld();
});
afterAll(async () => {
  await world.close();
});

/** A bot of `count` chunks whose snapshot and texts are held in process. */
async function warmBot(count: number, seed: number) {
  const random = rng(seed);
  const botId = `bot-${randomUUID()}`;
  await world.bots.putOwned(botId, 'owner', { embedding_dimension: dimension });
  await world.chunks.put(randomChunks(botId, count, dimension, random, { files: 4 }));
  const query = randomVector(dimension, random);
  // DynamoDB (rebuilds), the scan form, then the whole snapshot with its texts.
  for (let i = 0; i < 4 && world.cache.peek(botId, 0)?.texts === undefined; i++) {
    await world.search(botId, query, { limit: 5 });
  }
  expect(world.cache.peek(botId, 0)?.texts).toHaveLength(count);
  return { botId, query };
}

const hitsOf = (answer: { results: { chunk_id: string; text: string }[] }) =>
  answer.results.map((hit) => [hit.chunk_id, hit.text]);

describe('warm search from texts held in process', () => {
  it('answers exactly with the texts held, reading no text from Redis', async () => {
    const { botId, query } = await warmBot(40, 11);
    const stored = await readWholeBot(world.chunks, botId);
    const textReads = world.snapshots.textsAtCalls;

    const warm = await world.search(botId, query, { limit: 5 });

    expect(warm.source).toBe('snapshot');
    const textOf = new Map(stored.map((chunk) => [chunk.chunk_id, chunk.text]));
    expect(hitsOf(warm)).toEqual(
      bruteForceTopK(stored, query, 5).map((hit) => [hit.chunk_id, textOf.get(hit.chunk_id)]),
    );
    expect(world.snapshots.textsAtCalls).toBe(textReads);
  });

  it('serves a text the stream changed, though the vector stayed, on the next search', async () => {
    const { botId, query } = await warmBot(40, 12);
    const before = await world.search(botId, query, { limit: 3 });
    const [top] = (await readWholeBot(world.chunks, botId)).filter(
      (chunk) => chunk.chunk_id === before.results[0]?.chunk_id,
    );
    if (top === undefined) throw new Error('the top hit is not in DynamoDB');
    const edited = { ...top, text: 'edited by the stream' };
    await world.chunks.put([edited]);
    await world.snapshots.applyChanges(botId, [upsertOf(edited)]);

    const after = await world.search(botId, query, { limit: 3 });

    expect(after.source).toBe('snapshot');
    expect(hitsOf(after)).toEqual([[top.chunk_id, 'edited by the stream'], ...hitsOf(before).slice(1)]);
  });

  it('answers from DynamoDB, not from the held copy, once Redis lost one of the snapshot texts keys', async () => {
    const { botId, query } = await warmBot(40, 13);
    const expected = await world.search(botId, query, { limit: 5 });
    // As an eviction would: one texts bucket gone, so Redis no longer holds this snapshot whole.
    await world.redis.del(bucketKey(snapshotKeys(world.prefix, botId).texts, 0));
    const edited = (await readWholeBot(world.chunks, botId)).filter(
      (chunk) => chunk.chunk_id === expected.results[1]?.chunk_id,
    );
    await world.chunks.put(edited.map((chunk) => ({ ...chunk, text: 'written while Redis lost a key' })));

    const after = await world.search(botId, query, { limit: 5 });

    expect(after.source).toBe('dynamodb');
    expect(hitsOf(after)).toEqual(
      hitsOf(expected).map(([id, text], i) => [id, i === 1 ? 'written while Redis lost a key' : text]),
    );
  });
});
