import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { StoredChunk } from '../../src/domain/types';
import type { Snapshot, SnapshotChange } from '../../src/snapshot';
import { RedisSnapshotStore } from '../../src/snapshot';
import { segmentKey, snapshotKeys } from '../../src/snapshot/redis/keys';
import {
  chunk,
  contentOf,
  SNAPSHOT_TEST_DIM as DIM,
  existingSnapshotKeys,
  expectContent,
  expectedContent,
  keyHolding,
  publishSnapshot,
  type SnapshotKeyKind,
  upsertOf,
  vectorBytes,
  vectorFor,
} from '../fixtures/snapshot-chunks';

const PREFIX = 'vs-test';

const redis = new Redis(process.env.REDIS_URL as string);
const store = new RedisSnapshotStore(redis, PREFIX);
afterAll(() => redis.quit());

function newBotId(): string {
  return `bot-${randomUUID()}`;
}

function publish(botId: string, chunks: StoredChunk[], epoch = 1): Promise<void> {
  return publishSnapshot(store, botId, chunks, epoch);
}

function keysOf(botId: string): Promise<string[]> {
  return existingSnapshotKeys(redis, PREFIX, botId);
}

describe('redis snapshot store', () => {
  it('reads back exactly the chunks a rebuild published, with unit vectors', async () => {
    const botId = newBotId();
    const chunks = Array.from({ length: 50 }, (_, i) => chunk(botId, i));

    await publish(botId, chunks, 7);
    const snapshot = await store.read(botId);

    expect(snapshot).not.toBeNull();
    expect(snapshot?.epoch).toBe(7);
    expect(snapshot?.dimension).toBe(DIM);
    expectContent(contentOf(snapshot as Snapshot), expectedContent(chunks));
    expect(await store.texts(botId, ['chunk-3', 'chunk-49'])).toEqual([
      'text of chunk 3',
      'text of chunk 49',
    ]);
    expect(await store.currentVersion(botId)).toEqual({ version: snapshot?.version, epoch: 7 });
  });

  it('reads the vectors into a buffer of their own, from its first byte, however ioredis sliced the reply', async () => {
    const botId = newBotId();
    await publish(
      botId,
      Array.from({ length: 20_000 }, (_, i) => chunk(botId, i)),
      1,
    );
    // 640 KB of vectors, read several times: ioredis hands such replies out as slices of a receive buffer
    // about three times their size, at varying offsets.
    for (let read = 0; read < 4; read++) {
      const { vectors } = (await store.read(botId)) as Snapshot;
      expect(vectors.byteOffset).toBe(0);
      expect(vectors.buffer.byteLength).toBe(vectors.byteLength);
    }
  });

  it('publishes an empty snapshot for a bot with no chunks, which then takes its first upsert', async () => {
    const botId = newBotId();
    await publish(botId, []);
    expect((await store.read(botId))?.rows).toEqual([]);

    const first = chunk(botId, 1);
    await store.applyChanges(botId, [upsertOf(first)]);

    const snapshot = await store.read(botId);
    expect(snapshot?.dimension).toBe(DIM);
    expectContent(contentOf(snapshot as Snapshot), expectedContent([first]));
  });

  it('applies upserts, overwrites, deletes and a move to another file in order', async () => {
    const botId = newBotId();
    const truth = new Map<string, StoredChunk>();
    for (let i = 0; i < 20; i++) truth.set(`chunk-${i}`, chunk(botId, i));
    await publish(botId, [...truth.values()]);

    const added = chunk(botId, 100);
    const overwritten = chunk(botId, 4, { embedding: vectorFor(999), text: 'new text', metadata: { v: 2 } });
    const moved = chunk(botId, 5, { filename: 'elsewhere.md', chunk_index: 0 });
    const changes: SnapshotChange[] = [
      upsertOf(added),
      upsertOf(overwritten),
      { kind: 'delete', chunk_id: 'chunk-7' },
      upsertOf(moved),
      { kind: 'delete', chunk_id: 'chunk-8' },
      { kind: 'delete', chunk_id: 'never-existed' },
      upsertOf(chunk(botId, 101)),
      { kind: 'delete', chunk_id: 'chunk-101' },
    ];
    truth.set(added.chunk_id, added);
    truth.set(overwritten.chunk_id, overwritten);
    truth.delete('chunk-7');
    truth.set(moved.chunk_id, moved);
    truth.delete('chunk-8');

    await store.applyChanges(botId, changes);
    const snapshot = await store.read(botId);

    expectContent(contentOf(snapshot as Snapshot), expectedContent(truth.values()));
    expect(await store.texts(botId, ['chunk-4', 'chunk-100'])).toEqual(['new text', 'text of chunk 100']);
    expect(await store.texts(botId, ['chunk-7'])).toBeNull();
  });

  it('reuses the slots of deleted chunks instead of growing the blob', async () => {
    const botId = newBotId();
    await publish(
      botId,
      Array.from({ length: 10 }, (_, i) => chunk(botId, i)),
    );
    const before = await vectorBytes(redis, PREFIX, botId);
    expect(before).toBe(10 * DIM * 4);

    await store.applyChanges(botId, [
      { kind: 'delete', chunk_id: 'chunk-2' },
      { kind: 'delete', chunk_id: 'chunk-6' },
    ]);
    await store.applyChanges(botId, [upsertOf(chunk(botId, 20)), upsertOf(chunk(botId, 21))]);

    expect(await vectorBytes(redis, PREFIX, botId)).toBe(before);
    expect((await store.read(botId))?.rows).toHaveLength(10);
  });

  it('leaves the same content when a batch is applied twice', async () => {
    const botId = newBotId();
    await publish(
      botId,
      Array.from({ length: 10 }, (_, i) => chunk(botId, i)),
    );
    const batch: SnapshotChange[] = [
      upsertOf(chunk(botId, 30)),
      { kind: 'delete', chunk_id: 'chunk-1' },
      upsertOf(chunk(botId, 2, { filename: 'moved.txt' })),
    ];

    await store.applyChanges(botId, batch);
    const once = contentOf((await store.read(botId)) as Snapshot);
    await store.applyChanges(botId, batch);
    const twice = contentOf((await store.read(botId)) as Snapshot);

    expect(twice).toEqual(once);
  });

  it('splits a batch larger than one script call and still applies all of it in order', async () => {
    const botId = newBotId();
    const small = new RedisSnapshotStore(redis, PREFIX, { maxCallBytes: 2000 });
    await publish(botId, []);
    const chunks = Array.from({ length: 60 }, (_, i) => chunk(botId, i));

    await small.applyChanges(botId, [...chunks.map(upsertOf), { kind: 'delete', chunk_id: 'chunk-0' }]);

    expectContent(contentOf((await store.read(botId)) as Snapshot), expectedContent(chunks.slice(1)));
  });

  it('takes a chunk out when its new embedding has another dimension', async () => {
    const botId = newBotId();
    const chunks = Array.from({ length: 5 }, (_, i) => chunk(botId, i));
    await publish(botId, chunks);

    await store.applyChanges(botId, [upsertOf(chunk(botId, 3, { embedding: vectorFor(3, DIM + 1) }))]);

    expectContent(
      contentOf((await store.read(botId)) as Snapshot),
      expectedContent(chunks.filter((c) => c.chunk_id !== 'chunk-3')),
    );
  });

  it('lets a bot move to another embedding dimension once its last chunk of the old one is gone', async () => {
    const botId = newBotId();
    await publish(botId, [chunk(botId, 1), chunk(botId, 2)]);
    const wider = [
      chunk(botId, 3, { embedding: vectorFor(3, 12) }),
      chunk(botId, 4, { embedding: vectorFor(4, 12) }),
    ];

    await store.applyChanges(botId, [
      { kind: 'delete', chunk_id: 'chunk-1' },
      { kind: 'delete', chunk_id: 'chunk-2' },
      ...wider.map(upsertOf),
    ]);

    const snapshot = await store.read(botId);
    expect(snapshot?.dimension).toBe(12);
    expectContent(contentOf(snapshot as Snapshot), expectedContent(wider));
  });

  it('rejects a change with an empty chunk id and writes nothing of its batch', async () => {
    const botId = newBotId();
    await publish(botId, [chunk(botId, 1)]);
    const before = await store.currentVersion(botId);

    await expect(
      store.applyChanges(botId, [upsertOf(chunk(botId, 2)), { kind: 'delete', chunk_id: '' }]),
    ).rejects.toMatchObject({ name: 'ValidationError', field: 'changes[1].chunk_id' });

    expect(await store.currentVersion(botId)).toEqual(before);
    expect((await store.read(botId))?.rows.map((r) => r.chunk_id)).toEqual(['chunk-1']);
  });

  it('does nothing when the snapshot is absent', async () => {
    const botId = newBotId();

    await store.applyChanges(botId, [upsertOf(chunk(botId, 1)), { kind: 'delete', chunk_id: 'chunk-2' }]);

    expect(await keysOf(botId)).toEqual([]);
    expect(await store.read(botId)).toBeNull();
    expect(await store.currentVersion(botId)).toBeNull();
  });

  it('changes the version on every apply and never repeats it across rebuilds', async () => {
    const botId = newBotId();
    const chunks = [chunk(botId, 1)];
    await publish(botId, chunks);
    const seen = new Set<string>();
    const first = await store.currentVersion(botId);
    seen.add(first?.version as string);

    for (let i = 0; i < 3; i++) {
      await store.applyChanges(botId, [upsertOf(chunk(botId, 10 + i))]);
      seen.add((await store.currentVersion(botId))?.version as string);
    }
    await redis.unlink(...(await keysOf(botId)));
    await publish(botId, chunks);
    const rebuilt = await store.currentVersion(botId);

    expect(seen.size).toBe(4);
    expect(rebuilt?.version.endsWith(':0')).toBe(true);
    expect(first?.version.endsWith(':0')).toBe(true);
    expect(rebuilt?.version).not.toBe(first?.version);
  });

  it('matches a model of the bot after hundreds of random batches, each applied once or twice', async () => {
    const botId = newBotId();
    const truth = new Map<string, StoredChunk>();
    for (let i = 0; i < 40; i++) truth.set(`chunk-${i}`, chunk(botId, i));
    await publish(botId, [...truth.values()]);
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };

    for (let batch = 0; batch < 150; batch++) {
      const changes: SnapshotChange[] = [];
      for (let j = random(12); j >= 0; j--) {
        const id = random(80);
        if (random(3) === 0) {
          changes.push({ kind: 'delete', chunk_id: `chunk-${id}` });
          truth.delete(`chunk-${id}`);
        } else {
          const next = chunk(botId, id, {
            embedding: vectorFor(batch * 100 + j),
            filename: `doc-${random(4)}.txt`,
            text: `batch ${batch} text ${j}`,
          });
          changes.push(upsertOf(next));
          truth.set(next.chunk_id, next);
        }
      }
      await store.applyChanges(botId, changes);
      if (random(4) === 0) await store.applyChanges(botId, changes);
    }

    const snapshot = (await store.read(botId)) as Snapshot;
    expectContent(contentOf(snapshot), expectedContent(truth.values()));
    const ids = [...truth.keys()];
    expect(await store.texts(botId, ids)).toEqual(ids.map((id) => truth.get(id)?.text));
  });

  it('keeps the version when a batch changes nothing', async () => {
    const botId = newBotId();
    await publish(botId, [chunk(botId, 1)]);
    const before = await store.currentVersion(botId);

    await store.applyChanges(botId, [{ kind: 'delete', chunk_id: 'not-there' }]);

    expect(await store.currentVersion(botId)).toEqual(before);
  });

  it('removes every key of the bot on drop', async () => {
    const botId = newBotId();
    await publish(botId, [chunk(botId, 1), chunk(botId, 2)]);
    await store.applyChanges(botId, [{ kind: 'delete', chunk_id: 'chunk-1' }]);

    await store.drop(botId);

    expect(await keysOf(botId)).toEqual([]);
    expect(await store.read(botId)).toBeNull();
  });

  it('keeps bots apart, including ids that contain braces', async () => {
    const braced = `a}{b-${randomUUID()}`;
    const plain = `a-${randomUUID()}`;
    await publish(braced, [chunk(braced, 1)]);
    await publish(plain, [chunk(plain, 2)]);

    await store.drop(plain);

    expect((await store.read(braced))?.rows.map((r) => r.chunk_id)).toEqual(['chunk-1']);
    expect(await store.read(plain)).toBeNull();
  });
});

describe('redis snapshot store when keys disappear', () => {
  const kinds: SnapshotKeyKind[] = ['meta', 'vectors', 'rows', 'index', 'texts', 'free'];

  it.each(kinds)('drops the whole snapshot when its %s key was evicted', async (kind) => {
    const botId = newBotId();
    await publish(
      botId,
      Array.from({ length: 6 }, (_, i) => chunk(botId, i)),
    );
    // A deleted chunk leaves its slot on the free list, so every key kind exists.
    await store.applyChanges(botId, [{ kind: 'delete', chunk_id: 'chunk-0' }]);
    expect(await keysOf(botId)).toHaveLength(6);

    await redis.del(keyHolding(PREFIX, botId, kind, 'chunk-1', 1));

    expect(await store.read(botId)).toBeNull();
    expect(await keysOf(botId)).toEqual([]);
  });

  it.each(kinds)('reports no version and deletes the rest when its %s key was evicted', async (kind) => {
    const botId = newBotId();
    await publish(
      botId,
      Array.from({ length: 6 }, (_, i) => chunk(botId, i)),
    );
    await store.applyChanges(botId, [{ kind: 'delete', chunk_id: 'chunk-0' }]);

    await redis.del(keyHolding(PREFIX, botId, kind, 'chunk-1', 1));

    expect(await store.currentVersion(botId)).toBeNull();
    expect(await keysOf(botId)).toEqual([]);
  });

  it.each(kinds)(
    'does not resurrect a partial snapshot when changes arrive after its %s key was evicted',
    async (kind) => {
      const botId = newBotId();
      await publish(
        botId,
        Array.from({ length: 6 }, (_, i) => chunk(botId, i)),
      );
      await store.applyChanges(botId, [{ kind: 'delete', chunk_id: 'chunk-0' }]);

      await redis.del(keyHolding(PREFIX, botId, kind, 'chunk-1', 1));
      await store.applyChanges(botId, [upsertOf(chunk(botId, 9)), { kind: 'delete', chunk_id: 'chunk-1' }]);

      expect(await keysOf(botId)).toEqual([]);
      expect(await store.read(botId)).toBeNull();
    },
  );

  it('reports a texts miss when a text was lost, so search cannot return a chunk without its text', async () => {
    const botId = newBotId();
    await publish(botId, [chunk(botId, 1), chunk(botId, 2)]);

    await redis.hdel(keyHolding(PREFIX, botId, 'texts', 'chunk-2', 1), 'chunk-2');

    expect(await store.texts(botId, ['chunk-1', 'chunk-2'])).toBeNull();
    expect(await store.read(botId)).toBeNull();
  });

  it.each([
    ['a slot count far beyond its blob', 'slots', '999999999999'],
    ['a negative live count', 'live', '-1'],
    ['a dimension that is no number', 'dim', 'x'],
  ])('drops a snapshot whose meta holds %s', async (_, field, value) => {
    const botId = newBotId();
    await publish(botId, [chunk(botId, 1), chunk(botId, 2)]);

    await redis.hset(snapshotKeys(PREFIX, botId).meta, field, value);

    expect(await store.read(botId)).toBeNull();
    expect(await keysOf(botId)).toEqual([]);
  });

  it('drops a snapshot with a row that is not a row', async () => {
    const botId = newBotId();
    await publish(botId, [chunk(botId, 1), chunk(botId, 2)]);

    await redis.hset(keyHolding(PREFIX, botId, 'rows', 'chunk-1', 1), '1', '1 {"chunk_id":');

    expect(await store.read(botId)).toBeNull();
    expect(await keysOf(botId)).toEqual([]);
  });

  it('drops a snapshot whose blob length disagrees with its slot count', async () => {
    const botId = newBotId();
    await publish(botId, [chunk(botId, 1), chunk(botId, 2)]);

    await redis.append(segmentKey(snapshotKeys(PREFIX, botId).vectors, 0), 'xxxx');

    expect(await store.read(botId)).toBeNull();
    expect(await keysOf(botId)).toEqual([]);
  });
});
