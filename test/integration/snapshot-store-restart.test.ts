import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { StoredChunk } from '../../src/domain/types';
import type { Snapshot, SnapshotChange } from '../../src/snapshot';
import { RedisSnapshotStore } from '../../src/snapshot';
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

    try {
      // Redis holds every client's commands for 600 ms, as a network stall or a frozen Lambda would.
      await admin.call('CLIENT', 'PAUSE', '600', 'ALL');
      // Refused at the deadline, or (when this process was busy past the pause and Redis's answer came
      // first) refused by the script itself, which found the deadline passed: either way nothing lands.
      await expect(hasty.applyChanges(botId, [upsertOf(chunk(botId, 2))])).rejects.toThrow(
        /within 100 ms|after its 100 ms deadline/,
      );
      // One connection answers in order: this PING returns after the pause, once the late script has run.
      await redis.ping();
    } finally {
      admin.disconnect();
    }

    expect(await store.currentVersion(botId)).toEqual(before);
    expect((await store.read(botId))?.rows.map((row) => row.chunk_id)).toEqual(['chunk-1']);
  });

  it('does not hold the rebuild slot for a claim that reached Redis after its caller gave up', async () => {
    const botId = `bot-${randomUUID()}`;
    const hasty = new RedisSnapshotStore(redis, PREFIX, { applyTimeoutMs: 100 });
    const admin = new Redis(server.url);

    try {
      await admin.call('CLIENT', 'PAUSE', '600', 'ALL');
      // Refused at the deadline, or answered "not claimed" by the script, which found the deadline passed.
      const late = await hasty.beginRebuild(botId, 1).catch((error: Error) => error);
      if (late instanceof Error) expect(late.message).toContain('within 100 ms');
      else expect(late).toBeNull();
      await redis.ping();
    } finally {
      admin.disconnect();
    }

    expect(await store.beginRebuild(botId, 1)).not.toBeNull();
  });

  it('drops a bot that lost any key to random eviction, and reads every other bot exactly', async () => {
    const bots = Array.from({ length: 24 }, () => `bot-${randomUUID()}`);
    const truth = await writeBots(store, bots);
    const keysOf = new Map<string, string[]>();
    for (const botId of bots) keysOf.set(botId, await keysMatching(redis, `${PREFIX}:{${botId}}:*`));
    // Only published snapshot keys are left (a free list among them), so losing any one of them must show.
    const all = [...keysOf.values()].flat();
    expect(all.filter((key) => /:(building|dirty|staging)/.test(key))).toEqual([]);
    expect(all.filter((key) => key.endsWith(':free'))).toHaveLength(bots.length);

    // Each step sets maxmemory 1 KB under the memory in use, so Redis evicts random keys until about 1 KB
    // is free: a few keys at most (no key here takes under ~150 bytes). Stopping once 4 keys are gone
    // damages at most a dozen of the 24 bots, whatever keys Redis picks; the others keep every key.
    await redis.config('SET', 'maxmemory-policy', 'allkeys-random');
    const evictedBefore = await infoField(redis, 'stats', 'evicted_keys');
    while ((await infoField(redis, 'stats', 'evicted_keys')) < evictedBefore + 4) {
      const used = await infoField(redis, 'memory', 'used_memory');
      await redis.config('SET', 'maxmemory', String(used - 1024));
      await redis.ping();
    }
    await redis.config('SET', 'maxmemory', '0');

    const damaged = new Set<string>();
    for (const botId of bots) {
      const exists = await Promise.all((keysOf.get(botId) ?? []).map((key) => redis.exists(key)));
      if (exists.includes(0)) damaged.add(botId);
    }
    expect(damaged.size).toBeGreaterThan(0);
    expect(damaged.size).toBeLessThan(bots.length);
    for (const botId of bots) {
      const snapshot = await store.read(botId);
      if (damaged.has(botId)) {
        expect({ botId, read: snapshot === null ? 'absent' : 'present' }).toEqual({ botId, read: 'absent' });
        // The read that found it broken deleted the rest of it.
        expect(await existingSnapshotKeys(redis, PREFIX, botId)).toEqual([]);
      } else {
        expect({ botId, read: snapshot === null ? 'absent' : 'present' }).toEqual({ botId, read: 'present' });
        expectContent(contentOf(snapshot as Snapshot), expectedContent(truth.get(botId)?.values() ?? []));
      }
    }
  });

  it('leaves every bot exactly right or absent when Redis evicts at random while bots are rebuilt and changed', async () => {
    const bots = Array.from({ length: 40 }, () => `bot-${randomUUID()}`);
    // The first bot also loads the scripts and grows buffers, so the second one measures a bot's footprint.
    const truth = await writeBots(store, bots.slice(0, 1));
    const before = await infoField(redis, 'memory', 'used_memory');
    for (const [botId, chunks] of await writeBots(store, bots.slice(1, 2))) truth.set(botId, chunks);
    const used = await infoField(redis, 'memory', 'used_memory');
    const rest = bots.slice(2);
    const evictedBefore = await infoField(redis, 'stats', 'evicted_keys');
    // Room for half of the other bots: they cannot all stay whole, so keys are evicted while they are written.
    await redis.config('SET', 'maxmemory', String(used + Math.round(((used - before) * rest.length) / 2)));
    await redis.config('SET', 'maxmemory-policy', 'allkeys-random');
    for (const [botId, chunks] of await writeBots(store, rest)) truth.set(botId, chunks);
    await redis.config('SET', 'maxmemory', '0');

    // Few bots survive whole here, often none: the test above is the one that shows whole bots read exact.
    let present = 0;
    for (const botId of bots) {
      const snapshot = await store.read(botId);
      if (snapshot === null) continue;
      present += 1;
      expectContent(contentOf(snapshot), expectedContent(truth.get(botId)?.values() ?? []));
    }
    expect(await infoField(redis, 'stats', 'evicted_keys')).toBeGreaterThan(evictedBefore);
    expect(present).toBeLessThan(bots.length);
  });
});

const DIM = 64;

/**
 * Publishes 200 chunks for each bot, then gives every bot three rounds of changes (one chunk changed, one
 * added, one deleted, which leaves a free slot): what each bot's snapshot must now hold.
 */
async function writeBots(
  store: RedisSnapshotStore,
  bots: string[],
): Promise<Map<string, Map<string, StoredChunk>>> {
  const truth = new Map(
    bots.map((botId) => [
      botId,
      new Map(
        Array.from({ length: 200 }, (_, i) => [
          `chunk-${i}`,
          chunk(botId, i, { embedding: vectorFor(i, DIM) }),
        ]),
      ),
    ]),
  );
  for (const botId of bots) {
    const ticket = await store.beginRebuild(botId, 1);
    if (ticket !== null)
      await store.commitRebuild(ticket, [...(truth.get(botId)?.values() ?? [])], async () => []);
  }
  for (let round = 0; round < 3; round++) {
    for (const botId of bots) {
      const chunks = truth.get(botId) as Map<string, StoredChunk>;
      const changed = chunk(botId, round * 7, {
        embedding: vectorFor(1000 + round, DIM),
        text: `round ${round}`,
      });
      const added = chunk(botId, 500 + round, { embedding: vectorFor(500 + round, DIM) });
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
  return truth;
}

/** A numeric field of an INFO section (used_memory, evicted_keys). */
async function infoField(redis: Redis, section: string, field: string): Promise<number> {
  const value = new RegExp(`^${field}:(\\d+)`, 'm').exec(await redis.info(section))?.[1];
  if (value === undefined) throw new Error(`INFO ${section} has no ${field}`);
  return Number(value);
}

async function keysMatching(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}
