import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { StoredChunk } from '../../src/domain/types';
import type { ScanSnapshot, Snapshot } from '../../src/snapshot';
import { RedisSnapshotStore, type SnapshotStoreEvent } from '../../src/snapshot';
import {
  bucketKey,
  bucketOf,
  rowSegmentKey,
  type SnapshotDataKeys,
  segmentKey,
  snapshotKeys,
} from '../../src/snapshot/redis/keys';
import {
  chunk,
  contentOf,
  SNAPSHOT_TEST_DIM as DIM,
  expectContent,
  expectedContent,
  keyHolding,
  publishSnapshot,
  type SnapshotKeyKind,
  upsertOf,
} from '../fixtures/snapshot-chunks';

// Row segments of 5 slots and 3 buckets of ids, so a few dozen chunks cross every kind of boundary: the
// layout of a 1M-chunk bot at test scale (the code only ever sees rows per segment and the bucket count).
const ROWS_PER_SEGMENT = 5;
const BUCKETS = 3;
const PREFIX = 'vs-bucket-test';

jest.setTimeout(60_000);

const redis = new Redis(process.env.REDIS_URL as string);
const events: SnapshotStoreEvent[] = [];
const store = new RedisSnapshotStore(redis, PREFIX, {
  segmentBytes: ROWS_PER_SEGMENT * DIM * 4,
  idBuckets: BUCKETS,
  onEvent: (event) => events.push(event),
});
afterAll(() => redis.quit());

const newBotId = () => `bot-${randomUUID()}`;
const botKeys = (botId: string): SnapshotDataKeys => snapshotKeys(PREFIX, botId);
const allKeysOf = (botId: string) => redis.keys(`${PREFIX}:{${botId}}*`);

/** Chunk ids of several scripts, so that the TypeScript and Lua hashes are compared on UTF-8 bytes too. */
function chunksOf(botId: string, count: number): StoredChunk[] {
  const scripts = ['', 'ünïcødé-', '✓-', '漢字-'];
  return Array.from({ length: count }, (_, i) => ({
    ...chunk(botId, i),
    chunk_id: `${scripts[i % scripts.length]}chunk-${i}`,
  }));
}

/** Which ids each bucket of the index and the texts holds, and the slots each row segment holds. */
async function layoutOf(botId: string) {
  const k = botKeys(botId);
  const index: string[][] = [];
  const texts: string[][] = [];
  for (let b = 0; b < BUCKETS; b++) {
    index.push((await redis.hkeys(bucketKey(k.index, b))).sort());
    texts.push((await redis.hkeys(bucketKey(k.texts, b))).sort());
  }
  const rows: number[][] = [];
  for (let n = 0; ; n++) {
    if ((await redis.exists(segmentKey(k.vectors, n))) === 0) break;
    rows.push((await redis.hkeys(rowSegmentKey(k.rows, n))).map(Number).sort((a, b) => a - b));
  }
  return { index, texts, rows };
}

/** The ids of each bucket by the TypeScript hash. */
function expectedBuckets(ids: Iterable<string>): string[][] {
  const out: string[][] = Array.from({ length: BUCKETS }, () => []);
  for (const id of ids) out[bucketOf(id, BUCKETS)]?.push(id);
  return out.map((bucket) => bucket.sort());
}

describe('redis snapshot store with rows in segments and ids in buckets', () => {
  it('puts every row in its slot’s segment and every id and text in its bucket, from a rebuild and the stream', async () => {
    const botId = newBotId();
    const chunks = chunksOf(botId, 23);
    await publishSnapshot(store, botId, chunks);

    let layout = await layoutOf(botId);
    expect(layout.rows).toEqual(
      [0, 1, 2, 3, 4].map((n) => [0, 1, 2, 3, 4].map((i) => n * 5 + i).filter((s) => s < 23)),
    );
    expect(layout.index).toEqual(expectedBuckets(chunks.map((c) => c.chunk_id)));
    expect(layout.texts).toEqual(layout.index);
    expect(layout.index.every((bucket) => bucket.length > 0)).toBe(true);

    // The stream (Lua) hashes ids as TypeScript does: new ids land where texts() looks for them.
    const added = chunksOf(botId, 30).slice(23);
    const truth = new Map(chunks.map((c) => [c.chunk_id, c]));
    await store.applyChanges(botId, [
      ...added.map(upsertOf),
      { kind: 'delete', chunk_id: chunks[4]?.chunk_id as string },
      { kind: 'delete', chunk_id: chunks[5]?.chunk_id as string },
    ]);
    for (const c of added) truth.set(c.chunk_id, c);
    truth.delete(chunks[4]?.chunk_id as string);
    truth.delete(chunks[5]?.chunk_id as string);

    layout = await layoutOf(botId);
    expect(layout.index).toEqual(expectedBuckets(truth.keys()));
    expect(layout.texts).toEqual(layout.index);
    layout.rows.forEach((slots, n) => {
      expect(slots.every((slot) => Math.floor(slot / ROWS_PER_SEGMENT) === n)).toBe(true);
    });
    expectContent(contentOf((await store.read(botId)) as Snapshot), expectedContent(truth.values()));
    const ids = [...truth.keys()].reverse();
    expect(await store.texts(botId, ids)).toEqual(ids.map((id) => truth.get(id)?.text));
  });

  it('stages pages in the same layout and fetches candidates from several row segments', async () => {
    const botId = newBotId();
    const chunks = chunksOf(botId, 17);
    const ticket = await store.beginRebuild(botId, 1);
    const staging = store.stageRebuild(ticket as NonNullable<typeof ticket>, DIM);
    await staging.add(chunks.slice(0, 7));
    await staging.add(chunks.slice(7));
    expect(await staging.commit(async () => [])).toBe(true);

    const layout = await layoutOf(botId);
    expect(layout.index).toEqual(expectedBuckets(chunks.map((c) => c.chunk_id)));
    expect(layout.rows.map((slots) => slots.length)).toEqual([5, 5, 5, 2]);
    const scan = await store.readScan(botId);
    const fetched = await store.candidates(scan as ScanSnapshot, [16, 2, 7, 11]);
    expect(fetched?.rows.map((row) => row.chunk_id)).toEqual([16, 2, 7, 11].map((i) => chunks[i]?.chunk_id));
  });

  it('keeps its bucket count when a store of another setting reads and changes it', async () => {
    const botId = newBotId();
    const chunks = chunksOf(botId, 12);
    await publishSnapshot(store, botId, chunks);
    const other = new RedisSnapshotStore(redis, PREFIX, { idBuckets: 7 });

    const added = chunk(botId, 50);
    await other.applyChanges(botId, [
      upsertOf(added),
      { kind: 'delete', chunk_id: chunks[0]?.chunk_id as string },
    ]);
    const truth = [...chunks.slice(1), added];

    expect((await layoutOf(botId)).index).toEqual(expectedBuckets(truth.map((c) => c.chunk_id)));
    const ids = truth.map((c) => c.chunk_id);
    expect(await other.texts(botId, ids)).toEqual(truth.map((c) => c.text));
    expect(await store.texts(botId, ids)).toEqual(truth.map((c) => c.text));
    expectContent(contentOf((await other.read(botId)) as Snapshot), expectedContent(truth));
  });

  const kinds: SnapshotKeyKind[] = ['vectors', 'rows', 'index', 'texts'];

  it.each(kinds)('drops the whole snapshot when a %s key past the first is evicted', async (kind) => {
    const botId = newBotId();
    const chunks = chunksOf(botId, 14);
    await publishSnapshot(store, botId, chunks);
    // The last chunk: its segment is the third, and its bucket whichever the hash says.
    const last = chunks[13] as StoredChunk;
    await redis.del(keyHolding(PREFIX, botId, kind, last.chunk_id, 13, ROWS_PER_SEGMENT, BUCKETS));

    expect(await store.currentVersion(botId)).toBeNull();
    expect(await allKeysOf(botId)).toEqual([]);
  });

  it('keeps every key of a growing bot within its budget: a segment’s rows, a bucket’s share of ids', async () => {
    const botId = newBotId();
    await publishSnapshot(store, botId, chunksOf(botId, 200));
    await store.applyChanges(botId, chunksOf(botId, 400).slice(200).map(upsertOf));

    const k = botKeys(botId);
    const live = 400;
    for (const key of await allKeysOf(botId)) {
      const part = key.slice(key.indexOf('}:') + 2);
      if (/^vec:\d+$/.test(part))
        expect(await redis.strlen(key)).toBeLessThanOrEqual(ROWS_PER_SEGMENT * DIM * 4);
      else if (/^vec:\d+:i8$/.test(part))
        expect(await redis.strlen(key)).toBeLessThanOrEqual(ROWS_PER_SEGMENT * DIM);
      else if (/^rows:\d+$/.test(part)) expect(await redis.hlen(key)).toBeLessThanOrEqual(ROWS_PER_SEGMENT);
      // 400 ids in 3 buckets by SHA-1: each holds about a third, never the bot.
      else if (/^(idx|text):\d+$/.test(part))
        expect(await redis.hlen(key)).toBeLessThan((live / BUCKETS) * 1.5);
      else expect([k.meta, k.free]).toContain(key);
    }
  });

  it.each([
    ['read', (botId: string) => store.read(botId)],
    ['readScan', (botId: string) => store.readScan(botId)],
    ['currentVersion', (botId: string) => store.currentVersion(botId)],
    ['applyChanges', (botId: string) => store.applyChanges(botId, [upsertOf(chunk(botId, 99))])],
  ] as const)('drops a snapshot of the single-hash layout whole when %s meets it', async (_, call) => {
    const botId = newBotId();
    const chunks = chunksOf(botId, 8);
    await publishSnapshot(store, botId, chunks);
    await toSingleHashLayout(botId, chunks);
    events.length = 0;

    await call(botId);

    expect(await store.read(botId)).toBeNull();
    expect(await allKeysOf(botId)).toEqual([]);
    expect(events).toEqual([{ kind: 'dropped', botId, foundBy: _ }]);
  });
});

/** Rewrites a published snapshot as the layout before row segments and id buckets wrote it. */
async function toSingleHashLayout(botId: string, chunks: StoredChunk[]): Promise<void> {
  const k = botKeys(botId);
  for (let n = 0; n < 2; n++) {
    const rows = await redis.hgetall(rowSegmentKey(k.rows, n));
    await redis.hset(k.rows, rows);
    await redis.del(rowSegmentKey(k.rows, n));
  }
  for (const [slot, c] of chunks.entries()) {
    await redis.hset(k.index, c.chunk_id, slot);
    await redis.hset(k.texts, c.chunk_id, c.text);
  }
  for (let b = 0; b < BUCKETS; b++) await redis.del(bucketKey(k.index, b), bucketKey(k.texts, b));
  await redis.hdel(k.meta, 'bkz');
}
