import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { RedisSnapshotStore } from '../../src/adapters/redis/snapshot-store';
import type { StoredChunk } from '../../src/domain/types';
import type { Snapshot, SnapshotChange } from '../../src/ports';
import { type LocalService, startRedisServer } from '../../tools/local/stack';
import {
  chunk,
  contentOf,
  existingSnapshotKeys,
  expectContent,
  expectedContent,
  publishSnapshot,
  upsertOf,
  vectorFor,
} from '../fixtures/snapshot-chunks';

// These tests flush, restart and starve their own redis-server, never the shared one.
const PREFIX = 'vs';

describe('redis snapshot store across FLUSHALL, restarts and real eviction', () => {
  let server: LocalService;
  let redis: Redis;
  let store: RedisSnapshotStore;

  beforeEach(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    store = new RedisSnapshotStore(redis, PREFIX);
  });

  afterEach(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('finds no snapshot after FLUSHALL, and changes applied then do not create one', async () => {
    const botId = `bot-${randomUUID()}`;
    await publishSnapshot(store, botId, [chunk(botId, 1), chunk(botId, 2)]);

    await redis.flushall();
    await store.applyChanges(botId, [upsertOf(chunk(botId, 3)), { kind: 'delete', chunk_id: 'chunk-1' }]);

    expect(await store.currentVersion(botId)).toBeNull();
    expect(await store.read(botId)).toBeNull();
    expect(await existingSnapshotKeys(redis, PREFIX, botId)).toEqual([]);
  });

  it('finds no snapshot after a Redis restart, and rebuilds one with a new version', async () => {
    const botId = `bot-${randomUUID()}`;
    const chunks = [chunk(botId, 1), chunk(botId, 2)];
    await publishSnapshot(store, botId, chunks);
    const before = await store.currentVersion(botId);

    await server.stop();
    server = await startRedisServer({ port: server.port });
    // The first command after the restart may meet the dead connection; the client reconnects.
    await redis.ping().catch(() => redis.ping());

    expect(await store.read(botId)).toBeNull();
    await store.applyChanges(botId, [upsertOf(chunk(botId, 3))]);
    expect(await existingSnapshotKeys(redis, PREFIX, botId)).toEqual([]);
    await publishSnapshot(store, botId, chunks);
    const after = await store.currentVersion(botId);
    expect(after?.version).not.toBe(before?.version);
    expectContent(contentOf((await store.read(botId)) as Snapshot), expectedContent(chunks));
  });

  it('never lands a batch late: a call that reaches Redis after its deadline changes nothing', async () => {
    const botId = `bot-${randomUUID()}`;
    await publishSnapshot(store, botId, [chunk(botId, 1)]);
    const before = await store.currentVersion(botId);
    const hasty = new RedisSnapshotStore(redis, PREFIX, { applyTimeoutMs: 100 });
    const admin = new Redis(server.url);

    // Redis holds every client's commands for 600 ms, as a network stall or a frozen Lambda would.
    await admin.call('CLIENT', 'PAUSE', '600', 'ALL');
    await expect(hasty.applyChanges(botId, [upsertOf(chunk(botId, 2))])).rejects.toThrow('within 100 ms');
    // One connection answers in order: this PING returns after the pause, once the late script has run.
    await redis.ping();
    admin.disconnect();

    expect(await store.currentVersion(botId)).toEqual(before);
    expect((await store.read(botId))?.rows.map((row) => row.chunk_id)).toEqual(['chunk-1']);
  });

  it('does not hold the rebuild slot for a claim that reached Redis after its caller gave up', async () => {
    const botId = `bot-${randomUUID()}`;
    const hasty = new RedisSnapshotStore(redis, PREFIX, { applyTimeoutMs: 100 });
    const admin = new Redis(server.url);

    await admin.call('CLIENT', 'PAUSE', '600', 'ALL');
    await expect(hasty.beginRebuild(botId, 1)).rejects.toThrow('within 100 ms');
    await redis.ping();
    admin.disconnect();

    expect(await store.beginRebuild(botId, 1)).not.toBeNull();
  });

  it('leaves every bot either exactly right or absent when Redis evicts keys at random', async () => {
    const bots = Array.from({ length: 40 }, () => `bot-${randomUUID()}`);
    const dim = 64;
    const truth = new Map(
      bots.map((botId) => [
        botId,
        new Map(
          Array.from({ length: 200 }, (_, i) => [
            `chunk-${i}`,
            chunk(botId, i, { embedding: vectorFor(i, dim) }),
          ]),
        ),
      ]),
    );
    // 4 MB of headroom holds roughly half of the bots' snapshots: some survive whole, others lose keys.
    const baseline = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    await redis.config('SET', 'maxmemory', String(baseline + 4 * 1024 * 1024));
    await redis.config('SET', 'maxmemory-policy', 'allkeys-random');

    for (const botId of bots) {
      const ticket = await store.beginRebuild(botId, 1);
      if (ticket !== null)
        await store.commitRebuild(ticket, [...(truth.get(botId)?.values() ?? [])], async () => []);
    }
    for (let round = 0; round < 3; round++) {
      for (const botId of bots) {
        const chunks = truth.get(botId) as Map<string, StoredChunk>;
        const changed = chunk(botId, round * 7, {
          embedding: vectorFor(1000 + round, dim),
          text: `round ${round}`,
        });
        const added = chunk(botId, 500 + round, { embedding: vectorFor(500 + round, dim) });
        const changes: SnapshotChange[] = [
          upsertOf(changed),
          upsertOf(added),
          { kind: 'delete', chunk_id: `chunk-${100 + round}` },
        ];
        chunks.set(changed.chunk_id, changed);
        chunks.set(added.chunk_id, added);
        chunks.delete(`chunk-${100 + round}`);
        await store.applyChanges(botId, changes);
      }
    }
    await redis.config('SET', 'maxmemory', '0');

    let present = 0;
    for (const botId of bots) {
      const snapshot = await store.read(botId);
      if (snapshot === null) continue;
      present += 1;
      expectContent(contentOf(snapshot), expectedContent(truth.get(botId)?.values() ?? []));
    }
    const evicted = Number(/evicted_keys:(\d+)/.exec(await redis.info('stats'))?.[1]);
    expect(evicted).toBeGreaterThan(0);
    expect(present).toBeGreaterThan(0);
    expect(present).toBeLessThan(bots.length);
  });
});
