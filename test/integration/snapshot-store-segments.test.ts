import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { StoredChunk } from '../../src/domain/types';
import type { Snapshot, SnapshotChange } from '../../src/snapshot';
import { RedisSnapshotStore } from '../../src/snapshot';
import { segmentKey, snapshotKeys } from '../../src/snapshot/redis/keys';
import { rng, testSeed } from '../fixtures/random';
import {
  chunk,
  contentOf,
  SNAPSHOT_TEST_DIM as DIM,
  expectContent,
  expectedContent,
  publishSnapshot,
  upsertOf,
  vectorBytes,
  vectorFor,
} from '../fixtures/snapshot-chunks';

// Segments of 5 vectors, so a few dozen chunks cross many segment boundaries (a 1M-chunk bot's layout
// at test scale: the scripts and the reader only ever see rows-per-segment, never the byte size).
const ROWS_PER_SEGMENT = 5;
const PREFIX = 'vs-seg-test';

jest.setTimeout(60_000);

const redis = new Redis(process.env.REDIS_URL as string);
const store = new RedisSnapshotStore(redis, PREFIX, { segmentBytes: ROWS_PER_SEGMENT * DIM * 4 });
afterAll(() => redis.quit());

const newBotId = () => `bot-${randomUUID()}`;

async function segmentLengths(botId: string): Promise<number[]> {
  const base = snapshotKeys(PREFIX, botId).vectors;
  const lengths: number[] = [];
  for (let n = 0; ; n++) {
    const length = await redis.strlen(segmentKey(base, n));
    if (length === 0) return lengths;
    lengths.push(length / (DIM * 4));
  }
}

async function expectSnapshot(botId: string, truth: Map<string, StoredChunk>): Promise<void> {
  const snapshot = await store.read(botId);
  expect(snapshot).not.toBeNull();
  expectContent(contentOf(snapshot as Snapshot), expectedContent(truth.values()));
}

describe('redis snapshot store across vector segments', () => {
  it('stages, reads and publishes a snapshot of several segments, the last one partial', async () => {
    const botId = newBotId();
    const chunks = Array.from({ length: 23 }, (_, i) => chunk(botId, i));
    await publishSnapshot(store, botId, chunks);

    expect(await segmentLengths(botId)).toEqual([5, 5, 5, 5, 3]);
    await expectSnapshot(botId, new Map(chunks.map((c) => [c.chunk_id, c])));
  });

  it('stays exact under random batches that overwrite, delete and add rows on segment boundaries', async () => {
    const seed = testSeed();
    console.log(`segment boundary test seed: ${seed}`);
    const random = rng(seed);
    const botId = newBotId();
    const truth = new Map<string, StoredChunk>();
    const initial = Array.from({ length: 21 }, (_, i) => chunk(botId, i));
    for (const c of initial) truth.set(c.chunk_id, c);
    await publishSnapshot(store, botId, initial);
    let next = 1000;
    for (let round = 0; round < 15; round++) {
      const changes: SnapshotChange[] = [];
      for (let j = 0; j < 6; j++) {
        const ids = [...truth.keys()];
        const roll = random();
        if (roll < 0.35 && ids.length > 0) {
          // Rows 4, 5, 9, 10, 14, 15 ... sit on either side of a boundary: chunk-i is slot i after the rebuild.
          const id = ids[Math.floor(random() * ids.length)] as string;
          changes.push({ kind: 'delete', chunk_id: id });
          truth.delete(id);
        } else if (roll < 0.7 && ids.length > 0) {
          const id = ids[Math.floor(random() * ids.length)] as string;
          const old = truth.get(id) as StoredChunk;
          const edited = { ...old, embedding: vectorFor(next++), text: `edit ${round}`, metadata: { round } };
          changes.push(upsertOf(edited));
          truth.set(id, edited);
        } else {
          const added = chunk(botId, next++);
          changes.push(upsertOf(added));
          truth.set(added.chunk_id, added);
        }
      }
      await store.applyChanges(botId, changes);
      await expectSnapshot(botId, truth);
    }
    // Every slot is in a segment of its own size; the vectors add up to the slots the snapshot holds.
    const lengths = await segmentLengths(botId);
    expect(lengths.slice(0, -1).every((rows) => rows === ROWS_PER_SEGMENT)).toBe(true);
    const { slots } = await redis.hgetall(snapshotKeys(PREFIX, botId).meta);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(Number(slots));
  });

  it('grows into new segments from the stream and removes them all when the last chunk goes', async () => {
    const botId = newBotId();
    await publishSnapshot(store, botId, []);
    const chunks = Array.from({ length: 12 }, (_, i) => chunk(botId, i));
    await store.applyChanges(botId, chunks.map(upsertOf));
    expect(await segmentLengths(botId)).toEqual([5, 5, 2]);
    await expectSnapshot(botId, new Map(chunks.map((c) => [c.chunk_id, c])));

    await store.applyChanges(
      botId,
      chunks.map((c) => ({ kind: 'delete', chunk_id: c.chunk_id })),
    );
    expect(await vectorBytes(redis, PREFIX, botId)).toBe(0);
    expect(await redis.exists(segmentKey(snapshotKeys(PREFIX, botId).vectors, 2))).toBe(0);
    await expectSnapshot(botId, new Map());
  });

  it('drops the whole snapshot when a middle segment is evicted, or a stray segment follows the last', async () => {
    const middle = newBotId();
    await publishSnapshot(
      store,
      middle,
      Array.from({ length: 14 }, (_, i) => chunk(middle, i)),
    );
    await redis.del(segmentKey(snapshotKeys(PREFIX, middle).vectors, 1));
    expect(await store.currentVersion(middle)).toBeNull();
    expect(await vectorBytes(redis, PREFIX, middle)).toBe(0);
    expect(await redis.exists(segmentKey(snapshotKeys(PREFIX, middle).vectors, 2))).toBe(0);

    const stray = newBotId();
    await publishSnapshot(
      store,
      stray,
      Array.from({ length: 7 }, (_, i) => chunk(stray, i)),
    );
    await redis.set(segmentKey(snapshotKeys(PREFIX, stray).vectors, 2), Buffer.alloc(DIM * 4));
    expect(await store.read(stray)).toBeNull();
    expect(await redis.exists(segmentKey(snapshotKeys(PREFIX, stray).vectors, 0))).toBe(0);
  });

  it('drop removes every segment and a new rebuild replaces a larger snapshot without leftovers', async () => {
    const botId = newBotId();
    await publishSnapshot(
      store,
      botId,
      Array.from({ length: 18 }, (_, i) => chunk(botId, i)),
    );
    const smaller = Array.from({ length: 6 }, (_, i) => chunk(botId, i + 100));
    await publishSnapshot(store, botId, smaller, 2);
    expect(await segmentLengths(botId)).toEqual([5, 1]);
    expect(await redis.exists(segmentKey(snapshotKeys(PREFIX, botId).vectors, 3))).toBe(0);
    await expectSnapshot(botId, new Map(smaller.map((c) => [c.chunk_id, c])));

    await store.drop(botId);
    expect(await redis.keys(`${PREFIX}:{${botId}}*`)).toEqual([]);
  });
});
