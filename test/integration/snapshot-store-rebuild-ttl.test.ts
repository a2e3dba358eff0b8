import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import Redis from 'ioredis';
import type { StoredChunk } from '../../src/domain/types';
import type { RebuildTicket, Snapshot } from '../../src/snapshot';
import { RedisSnapshotStore, type SnapshotStoreEvent } from '../../src/snapshot';
import { snapshotKeys } from '../../src/snapshot/redis/keys';
import {
  chunk,
  claimRebuild,
  contentOf,
  SNAPSHOT_TEST_DIM as DIM,
  expectContent,
  expectedContent,
  streamChangesDuringRebuild,
} from '../fixtures/snapshot-chunks';
import { waitUntil } from '../fixtures/wait';

// A paged rebuild that outlasts its TTL (docs/snapshot.md, "Long rebuilds"), scaled down: a 2.4 s TTL,
// pages every 400 ms, segments of 5 rows, so the first segments and buckets are written long before the
// commit and only the rebuild's own re-arming keeps them. The TTL leaves a loaded machine 1.6 s of slack
// between re-arms (every third of it).
const TTL_MS = 2400;
const PAGE_GAP_MS = 400;
const ROWS_PER_SEGMENT = 5;
const PREFIX = 'vs-rebuild-ttl-test';

jest.setTimeout(60_000);

const redis = new Redis(process.env.REDIS_URL as string);
const events: SnapshotStoreEvent[] = [];
const store = new RedisSnapshotStore(redis, PREFIX, {
  rebuildTtlMs: TTL_MS,
  segmentBytes: ROWS_PER_SEGMENT * DIM * 4,
  idBuckets: 4,
  onEvent: (event) => events.push(event),
});
afterAll(() => redis.quit());

const newBotId = () => `bot-${randomUUID()}`;

const claim = (botId: string) => claimRebuild(store, botId);

function stagingKeysOf(ticket: RebuildTicket): Promise<string[]> {
  return redis.keys(`${PREFIX}:{${ticket.botId}}:staging:${ticket.token}:*`);
}

const pagesOf = (chunks: StoredChunk[], size: number) =>
  Array.from({ length: Math.ceil(chunks.length / size) }, (_, p) => chunks.slice(p * size, (p + 1) * size));

describe('redis snapshot store: a paged rebuild longer than its TTL', () => {
  it('keeps its slot, dirty set and staging keys while pages arrive, and publishes exactly the truth', async () => {
    const botId = newBotId();
    const truth = new Map<string, StoredChunk>();
    const read = Array.from({ length: 36 }, (_, i) => chunk(botId, i));
    for (const c of read) truth.set(c.chunk_id, c);
    const pages = pagesOf(read, 2);
    const ticket = await claim(botId);
    const staging = store.stageRebuild(ticket, DIM);

    for (const [p, page] of pages.entries()) {
      await staging.add(page);
      if (p === 0) {
        // Recorded in `dirty` with the slot's TTL of now: the commit re-reads them 7 s later.
        await streamChangesDuringRebuild(store, botId, truth, {
          edit: 'chunk-1',
          add: 70,
          remove: 'chunk-30',
        });
      }
      if (p === 12) {
        // 4.8 s (two TTLs) after the claim, the slot is still this rebuild's.
        expect(await store.beginRebuild(botId, 1)).toBeNull();
      }
      await delay(PAGE_GAP_MS);
    }
    const reread = async (ids: string[]) => ids.flatMap((id) => truth.get(id) ?? []);
    const published = await staging.commit(reread);

    // Without the re-arming: 'lost' (the slot expired), 'evicted' (dirty did) or 'staging-broken'.
    expect(events.filter((e) => e.kind === 'rebuild' && e.botId === botId)).toEqual([
      { kind: 'rebuild', botId, outcome: 'published', rounds: 1, chunks: 36 },
    ]);
    expect(published).toBe(true);
    expectContent(contentOf((await store.read(botId)) as Snapshot), expectedContent(truth.values()));
    expect(await stagingKeysOf(ticket)).toEqual([]);
  });

  it('once abandoned, keeps nothing beyond the TTL: the slot frees and the staging keys go', async () => {
    const botId = newBotId();
    const ticket = await claim(botId);
    const staging = store.stageRebuild(ticket, DIM);
    const read = Array.from({ length: 20 }, (_, i) => chunk(botId, i));
    for (const page of pagesOf(read, 2)) {
      await staging.add(page);
      await delay(PAGE_GAP_MS);
    }
    // Four seconds (well past the TTL) after the claim, the rebuild still holds its slot and every key it staged...
    expect(await store.beginRebuild(botId, 1)).toBeNull();
    const { building, dirty } = snapshotKeys(PREFIX, botId);
    const left = await stagingKeysOf(ticket);
    expect(left.length).toBeGreaterThanOrEqual(3 * (20 / ROWS_PER_SEGMENT) + 2 * 4);

    // ...then its process dies: no more pages, and nothing re-arms a TTL any more.
    for (const key of [building, ...left]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(TTL_MS);
    }
    await waitUntil('the abandoned rebuild to expire', async () => {
      return (await redis.exists(building, dirty)) === 0 && (await stagingKeysOf(ticket)).length === 0;
    });
    expect(await store.beginRebuild(botId, 1)).not.toBeNull();
  });

  it('stops staging once it lost its slot, deletes what it staged, and its commit reports it lost', async () => {
    const botId = newBotId();
    const ticket = await claim(botId);
    const staging = store.stageRebuild(ticket, DIM);
    await staging.add([chunk(botId, 1), chunk(botId, 2)]);
    expect((await stagingKeysOf(ticket)).length).toBeGreaterThan(0);

    // The slot goes (evicted, or the bot dropped) and another rebuild claims it.
    const { building } = snapshotKeys(PREFIX, botId);
    await redis.del(building);
    const other = await claim(botId);
    // The other rebuild stays alive (it would re-arm its slot) for as long as this test looks.
    await redis.persist(building);
    // Past a third of the TTL, the next page re-arms, which finds the slot taken.
    await delay(TTL_MS / 3 + PAGE_GAP_MS);
    await staging.add([chunk(botId, 3), chunk(botId, 4)]);
    expect(await stagingKeysOf(ticket)).toEqual([]);
    await staging.add([chunk(botId, 5)]);
    expect(await stagingKeysOf(ticket)).toEqual([]);

    expect(await staging.commit(async () => [])).toBe(false);
    expect(events.filter((e) => e.kind === 'rebuild' && e.botId === botId)).toEqual([
      { kind: 'rebuild', botId, outcome: 'lost', rounds: 0, chunks: 2 },
    ]);
    // The other rebuild's slot is untouched.
    expect(await redis.hget(building, 'token')).toBe(other.token);
    expect(await store.currentVersion(botId)).toBeNull();
    await redis.del(building);
  });
});
