import { randomUUID } from 'node:crypto';
import { ScoreBuffer } from '../../src/domain/ranking/scoring';
import type { StoredChunk } from '../../src/domain/types';
import type { ChunkStore } from '../../src/ports';
import type { SnapshotChange } from '../../src/snapshot';
import { SnapshotCache } from '../../src/snapshot';
import { makeSearch, type Search } from '../../src/use-cases/search';
import {
  CapturingLogger,
  randomChunks,
  readWholeBot,
  rng,
  type SearchWorld,
  searchWorld,
} from '../fixtures/search-world';
import { upsertOf } from '../fixtures/snapshot-chunks';

/**
 * A search's rebuild reads DynamoDB while writes keep landing. Each write here goes to DynamoDB through
 * the write path's ChunkStore and then to the snapshot store as the stream handler sends it
 * (`applyChanges`), at the two moments that matter: after the rebuild claimed its slot but before its read,
 * and after its read but before its commit. The snapshot must end exactly equal to DynamoDB, or absent.
 */
const dimension = 16;
let world: SearchWorld;

beforeAll(() => {
  world = searchWorld();
});
afterAll(async () => {
  await world.close();
});

/** The real ChunkStore, running `afterRead` once the whole bot has been read (before search goes on). */
class ChunkStoreWithHook implements Pick<ChunkStore, 'readBot' | 'get'> {
  afterRead: (() => Promise<void>) | undefined;
  constructor(private readonly inner: ChunkStore) {}

  async *readBot(botId: string, options: Parameters<ChunkStore['readBot']>[1]): AsyncIterable<StoredChunk[]> {
    yield* this.inner.readBot(botId, options);
    const hook = this.afterRead;
    this.afterRead = undefined;
    await hook?.();
  }

  get: ChunkStore['get'] = (botId, ids, options) => this.inner.get(botId, ids, options);
}

function searchOver(chunks: ChunkStoreWithHook): Search {
  return makeSearch({
    bots: world.bots,
    chunks,
    snapshots: world.snapshots,
    cache: new SnapshotCache(world.snapshots),
    scores: new ScoreBuffer(),
    logger: new CapturingLogger(),
  });
}

/** Writes chunks to DynamoDB, then hands the stream's changes to the snapshot store. */
async function writeThroughStream(chunks: StoredChunk[]): Promise<void> {
  await world.chunks.put(chunks);
  const changes: SnapshotChange[] = chunks.map(upsertOf);
  await world.snapshots.applyChanges(chunks[0]?.bot_id as string, changes);
}

async function deleteThroughStream(botId: string, chunkIds: string[]): Promise<void> {
  await world.chunks.delete(botId, chunkIds);
  await world.snapshots.applyChanges(
    botId,
    chunkIds.map((chunk_id) => ({ kind: 'delete', chunk_id })),
  );
}

/** Asserts the bot's snapshot holds exactly what DynamoDB holds (ids, vectors' direction, texts). */
async function expectSnapshotEqualsDynamoDb(botId: string): Promise<void> {
  const stored = await readWholeBot(world.chunks, botId);
  const snapshot = await world.snapshots.read(botId);
  if (snapshot === null) throw new Error('the rebuild gave up; this race should have been absorbed');
  expect(snapshot.rows.map((row) => row.chunk_id).sort()).toEqual(
    stored.map((chunk) => chunk.chunk_id).sort(),
  );
  const texts = await world.snapshots.texts(
    botId,
    stored.map((chunk) => chunk.chunk_id),
  );
  expect(texts).toEqual(stored.map((chunk) => chunk.text));
}

async function newBot(count: number, seed: number): Promise<string> {
  const botId = `bot-${randomUUID()}`;
  await world.bots.putOwned(botId, 'owner', { embedding_dimension: dimension });
  await world.chunks.put(randomChunks(botId, count, dimension, rng(seed)));
  return botId;
}

describe('a search rebuild racing stream writes', () => {
  it('keeps a chunk written between claiming the rebuild and reading DynamoDB', async () => {
    const botId = await newBot(100, 41);
    const late = randomChunks(botId, 1, dimension, rng(42), { prefix: 'late' });
    const chunks = new ChunkStoreWithHook(world.chunks);
    world.snapshots.afterTicket = async () => {
      world.snapshots.afterTicket = undefined;
      await writeThroughStream(late);
    };
    const search = searchOver(chunks);

    await search(botId, Array.from(late[0]?.embedding ?? []), { limit: 1 });

    await expectSnapshotEqualsDynamoDb(botId);
    const found = await search(botId, Array.from(late[0]?.embedding ?? []), { limit: 1 });
    expect(found.source).toBe('snapshot');
    expect(found.results[0]?.chunk_id).toBe('late-000000');
  });

  it('keeps a chunk written after the read and before the commit', async () => {
    const botId = await newBot(100, 43);
    const late = randomChunks(botId, 3, dimension, rng(44), { prefix: 'late' });
    const chunks = new ChunkStoreWithHook(world.chunks);
    chunks.afterRead = () => writeThroughStream(late);
    const search = searchOver(chunks);

    const first = await search(botId, Array.from(late[1]?.embedding ?? []), { limit: 1 });
    expect(first.source).toBe('dynamodb');
    // The read ran before the write: its own answer could not include it...
    expect(first.results[0]?.chunk_id).not.toMatch(/^late-/);

    // ...but the snapshot it published does.
    await expectSnapshotEqualsDynamoDb(botId);
    const next = await search(botId, Array.from(late[1]?.embedding ?? []), { limit: 1 });
    expect(next).toMatchObject({ source: 'snapshot', results: [{ chunk_id: 'late-000001' }] });
  });

  it('does not bring back a chunk deleted after the read and before the commit', async () => {
    const botId = await newBot(100, 45);
    const stored = await readWholeBot(world.chunks, botId);
    const doomed = stored[10] as StoredChunk;
    const chunks = new ChunkStoreWithHook(world.chunks);
    chunks.afterRead = () => deleteThroughStream(botId, [doomed.chunk_id]);
    const search = searchOver(chunks);

    await search(botId, Array.from(doomed.embedding), { limit: 1 });

    await expectSnapshotEqualsDynamoDb(botId);
    const next = await search(botId, Array.from(doomed.embedding), { limit: 3 });
    expect(next.source).toBe('snapshot');
    expect(next.results.map((hit) => hit.chunk_id)).not.toContain(doomed.chunk_id);
  });
});
