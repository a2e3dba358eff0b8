import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { StoredChunk } from '../../src/domain/types';
import type { Snapshot, SnapshotChange } from '../../src/snapshot';
import { RedisSnapshotStore, type SnapshotStoreEvent } from '../../src/snapshot';
import { rowSegmentKey, snapshotKeys } from '../../src/snapshot/redis/keys';
import {
  chunk,
  contentOf,
  existingSnapshotKeys,
  expectContent,
  expectedContent,
  publishSnapshot,
  upsertOf,
  vectorBytes,
  vectorFor,
} from '../fixtures/snapshot-chunks';
import { waitUntil } from '../fixtures/wait';

const PREFIX = 'vs-rebuild-test';

const redis = new Redis(process.env.REDIS_URL as string);
const store = new RedisSnapshotStore(redis, PREFIX);
afterAll(() => redis.quit());

function newBotId(): string {
  return `bot-${randomUUID()}`;
}

/**
 * A bot's chunks as DynamoDB holds them, and the stream that follows: every write changes the truth and
 * then reaches the snapshot store through applyChanges, as the stream handler would deliver it.
 */
class Truth {
  readonly chunks = new Map<string, StoredChunk>();
  constructor(readonly botId: string) {}

  async write(changes: SnapshotChange[], target: RedisSnapshotStore = store): Promise<void> {
    for (const change of changes) {
      if (change.kind === 'delete') this.chunks.delete(change.chunk_id);
      else if (change.kind === 'row') {
        const current = this.chunks.get(change.row.chunk_id);
        if (current !== undefined) this.chunks.set(change.row.chunk_id, { ...current, ...change.row });
      } else {
        const { row, text, embedding } = change;
        this.chunks.set(row.chunk_id, { ...chunk(this.botId, 0), ...row, text, embedding });
      }
    }
    await target.applyChanges(this.botId, changes);
  }

  /** A full read, as the search path's DynamoDB Query would return it now. */
  all(): StoredChunk[] {
    return [...this.chunks.values()];
  }

  /** The strongly consistent re-read commitRebuild asks for. */
  reread = async (ids: string[]): Promise<StoredChunk[]> =>
    ids.flatMap((id) => {
      const c = this.chunks.get(id);
      return c === undefined ? [] : [c];
    });
}

async function stagingKeysLeft(botId: string): Promise<string[]> {
  return redis.keys(`${PREFIX}:{${botId}}:staging:*`);
}

describe('snapshot rebuild', () => {
  it('includes stream changes that landed between beginRebuild and commit', async () => {
    const botId = newBotId();
    const truth = new Truth(botId);
    for (let i = 0; i < 30; i++) truth.chunks.set(`chunk-${i}`, chunk(botId, i));

    const ticket = await store.beginRebuild(botId, 3);
    const readFromDynamoDb = truth.all();
    await truth.write([
      upsertOf(chunk(botId, 5, { embedding: vectorFor(500), filename: 'changed.txt' })),
      { kind: 'delete', chunk_id: 'chunk-6' },
      upsertOf(chunk(botId, 40)),
    ]);
    const published = await store.commitRebuild(
      ticket as NonNullable<typeof ticket>,
      readFromDynamoDb,
      truth.reread,
    );

    expect(published).toBe(true);
    const snapshot = await store.read(botId);
    expect(snapshot?.epoch).toBe(3);
    expectContent(contentOf(snapshot as Snapshot), expectedContent(truth.all()));
    expect(await store.texts(botId, ['chunk-40'])).toEqual(['text of chunk 40']);
    expect(await existingSnapshotKeys(redis, PREFIX, botId)).not.toContain(
      snapshotKeys(PREFIX, botId).building,
    );
  });

  it('picks up changes that land while it re-reads the previous ones', async () => {
    const botId = newBotId();
    const truth = new Truth(botId);
    for (let i = 0; i < 10; i++) truth.chunks.set(`chunk-${i}`, chunk(botId, i));
    const ticket = await store.beginRebuild(botId, 1);
    const readFromDynamoDb = truth.all();
    await truth.write([{ kind: 'delete', chunk_id: 'chunk-1' }]);
    let rereads = 0;

    const published = await store.commitRebuild(
      ticket as NonNullable<typeof ticket>,
      readFromDynamoDb,
      async (ids) => {
        rereads += 1;
        if (rereads === 1) await truth.write([upsertOf(chunk(botId, 2, { text: 'late edit' }))]);
        return truth.reread(ids);
      },
    );

    expect(published).toBe(true);
    expect(rereads).toBe(2);
    expectContent(contentOf((await store.read(botId)) as Snapshot), expectedContent(truth.all()));
    expect(await store.texts(botId, ['chunk-2'])).toEqual(['late edit']);
  });

  it('gives up and leaves the snapshot absent when changes keep arriving', async () => {
    const botId = newBotId();
    const truth = new Truth(botId);
    truth.chunks.set('chunk-0', chunk(botId, 0));
    const ticket = await store.beginRebuild(botId, 1);
    await truth.write([upsertOf(chunk(botId, 1))]);
    let n = 100;

    const published = await store.commitRebuild(
      ticket as NonNullable<typeof ticket>,
      truth.all(),
      async (ids) => {
        await truth.write([upsertOf(chunk(botId, n++))]);
        return truth.reread(ids);
      },
    );

    expect(published).toBe(false);
    expect(await store.read(botId)).toBeNull();
    expect(await stagingKeysLeft(botId)).toEqual([]);
    expect(await store.beginRebuild(botId, 1)).not.toBeNull();
  });

  it('gives up when the dirty set was evicted during the rebuild', async () => {
    const botId = newBotId();
    const truth = new Truth(botId);
    truth.chunks.set('chunk-0', chunk(botId, 0));
    const ticket = await store.beginRebuild(botId, 1);
    await truth.write([upsertOf(chunk(botId, 1)), upsertOf(chunk(botId, 2))]);

    await redis.del(snapshotKeys(PREFIX, botId).dirty);
    // A later change re-creates the set; the counter beside it still shows what was lost.
    await truth.write([upsertOf(chunk(botId, 3))]);
    const published = await store.commitRebuild(
      ticket as NonNullable<typeof ticket>,
      truth.all(),
      truth.reread,
    );

    expect(published).toBe(false);
    expect(await store.read(botId)).toBeNull();
    expect(await existingSnapshotKeys(redis, PREFIX, botId)).toEqual([]);
    expect(await stagingKeysLeft(botId)).toEqual([]);
  });

  it('gives up when its slot was lost: the snapshot was dropped meanwhile', async () => {
    const botId = newBotId();
    const ticket = await store.beginRebuild(botId, 1);

    await store.drop(botId);
    const published = await store.commitRebuild(
      ticket as NonNullable<typeof ticket>,
      [chunk(botId, 1)],
      async () => [],
    );

    expect(published).toBe(false);
    expect(await store.read(botId)).toBeNull();
  });

  it('gives up when it outlived its slot, and stream changes made after that are not lost', async () => {
    const botId = newBotId();
    const quick = new RedisSnapshotStore(redis, PREFIX, { rebuildTtlMs: 100 });
    const truth = new Truth(botId);
    truth.chunks.set('chunk-0', chunk(botId, 0));
    const ticket = await quick.beginRebuild(botId, 1);
    const readFromDynamoDb = truth.all();

    await waitUntil(
      'the rebuild slot to expire',
      async () => (await redis.exists(snapshotKeys(PREFIX, botId).building)) === 0,
    );
    await truth.write([upsertOf(chunk(botId, 1))]);
    const published = await quick.commitRebuild(
      ticket as NonNullable<typeof ticket>,
      readFromDynamoDb,
      truth.reread,
    );

    expect(published).toBe(false);
    expect(await store.read(botId)).toBeNull();
  });

  it('hands out one ticket when many searches miss at once', async () => {
    const botId = newBotId();

    const tickets = await Promise.all(Array.from({ length: 20 }, () => store.beginRebuild(botId, 1)));

    expect(tickets.filter((t) => t !== null)).toHaveLength(1);
  });

  it('frees the slot after publishing, so the next rebuild may start', async () => {
    const botId = newBotId();
    await publishSnapshot(store, botId, [chunk(botId, 1)]);

    const next = await store.beginRebuild(botId, 2);

    expect(next).not.toBeNull();
    expect(await stagingKeysLeft(botId)).toEqual([]);
  });

  it('frees the slot and removes its staging keys when the re-read fails', async () => {
    const botId = newBotId();
    const truth = new Truth(botId);
    const ticket = await store.beginRebuild(botId, 1);
    await truth.write([upsertOf(chunk(botId, 1))]);

    await expect(
      store.commitRebuild(ticket as NonNullable<typeof ticket>, [chunk(botId, 0)], async () => {
        throw new Error('DynamoDB unavailable');
      }),
    ).rejects.toThrow('DynamoDB unavailable');

    expect(await stagingKeysLeft(botId)).toEqual([]);
    expect(await store.read(botId)).toBeNull();
    expect(await store.beginRebuild(botId, 1)).not.toBeNull();
  });

  it("refuses to publish another bot's chunk into a bot's snapshot", async () => {
    const botId = newBotId();
    const ticket = await store.beginRebuild(botId, 1);

    await expect(
      store.commitRebuild(
        ticket as NonNullable<typeof ticket>,
        [chunk(botId, 1), chunk('someone-else', 2)],
        async () => [],
      ),
    ).rejects.toMatchObject({ name: 'ValidationError', field: 'chunks[1].bot_id' });

    expect(await store.read(botId)).toBeNull();
    expect(await store.beginRebuild(botId, 1)).not.toBeNull();
  });

  it('replaces a stale snapshot, which kept taking changes while the rebuild ran', async () => {
    const botId = newBotId();
    const truth = new Truth(botId);
    for (let i = 0; i < 5; i++) truth.chunks.set(`chunk-${i}`, chunk(botId, i));
    await publishSnapshot(store, botId, [...truth.all(), chunk(botId, 99)], 1);
    const stale = await store.currentVersion(botId);

    const ticket = await store.beginRebuild(botId, 2);
    const readFromDynamoDb = truth.all();
    await truth.write([{ kind: 'delete', chunk_id: 'chunk-0' }, upsertOf(chunk(botId, 7))]);
    const published = await store.commitRebuild(
      ticket as NonNullable<typeof ticket>,
      readFromDynamoDb,
      truth.reread,
    );

    expect(published).toBe(true);
    const snapshot = await store.read(botId);
    expect(snapshot?.epoch).toBe(2);
    expect(snapshot?.version).not.toBe(stale?.version);
    expectContent(contentOf(snapshot as Snapshot), expectedContent(truth.all()));
  });

  it('keeps the dimension most chunks have and leaves out the others', async () => {
    const botId = newBotId();
    const chunks = [
      chunk(botId, 1),
      chunk(botId, 2, { embedding: vectorFor(2, 3) }),
      chunk(botId, 3),
      chunk(botId, 4, { embedding: new Float32Array([1, Number.NaN, 0, 0, 0, 0, 0, 0]) }),
    ];

    await publishSnapshot(store, botId, chunks);

    const snapshot = await store.read(botId);
    expect(snapshot?.dimension).toBe(8);
    expectContent(contentOf(snapshot as Snapshot), expectedContent([chunks[0], chunks[2]] as StoredChunk[]));
  });

  it('stages a large snapshot in pieces and publishes all of it', async () => {
    const botId = newBotId();
    const dim = 384;
    const chunks = Array.from({ length: 12_000 }, (_, i) =>
      chunk(botId, i, { embedding: vectorFor(i, dim) }),
    );

    await publishSnapshot(store, botId, chunks);

    const snapshot = await store.read(botId);
    expect(snapshot?.rows).toHaveLength(chunks.length);
    expect(await vectorBytes(redis, PREFIX, botId)).toBe(chunks.length * dim * 4);
    expectContent(contentOf(snapshot as Snapshot), expectedContent(chunks));
    await store.drop(botId);
  });

  it('reports every rebuild outcome and every snapshot it found broken', async () => {
    const events: SnapshotStoreEvent[] = [];
    const observed = new RedisSnapshotStore(redis, PREFIX, { onEvent: (event) => events.push(event) });
    const botId = newBotId();
    await publishSnapshot(observed, botId, [chunk(botId, 1), chunk(botId, 2)]);
    const ticket = await observed.beginRebuild(botId, 2);
    await observed.applyChanges(botId, [upsertOf(chunk(botId, 3))]);
    await redis.del(snapshotKeys(PREFIX, botId).dirty);
    await observed.commitRebuild(ticket as NonNullable<typeof ticket>, [chunk(botId, 1)], async () => []);
    await redis.del(rowSegmentKey(snapshotKeys(PREFIX, botId).rows, 0));
    await observed.currentVersion(botId);

    expect(events).toEqual([
      { kind: 'rebuild', botId, outcome: 'published', rounds: 1, chunks: 2 },
      { kind: 'rebuild', botId, outcome: 'evicted', rounds: 1, chunks: 1 },
      { kind: 'dropped', botId, foundBy: 'currentVersion' },
    ]);
  });
});
