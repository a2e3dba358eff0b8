import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { StoredChunk } from '../../src/domain/types';
import { ValidationError } from '../../src/errors';
import type { ScanSnapshot, Snapshot } from '../../src/snapshot';
import { RedisSnapshotStore } from '../../src/snapshot';
import {
  chunk,
  claimRebuild,
  contentOf,
  SNAPSHOT_TEST_DIM as DIM,
  expectContent,
  expectedContent,
  streamChangesDuringRebuild,
  vectorFor,
} from '../fixtures/snapshot-chunks';

// The streaming rebuild: pages staged as a search reads them, segments of 5 rows so pages straddle
// segment boundaries, stream changes landing between pages.
const ROWS_PER_SEGMENT = 5;
const PREFIX = 'vs-paged-test';

jest.setTimeout(60_000);

const redis = new Redis(process.env.REDIS_URL as string);
const store = new RedisSnapshotStore(redis, PREFIX, { segmentBytes: ROWS_PER_SEGMENT * DIM * 4 });
afterAll(() => redis.quit());

const newBotId = () => `bot-${randomUUID()}`;

const claim = (botId: string) => claimRebuild(store, botId);

async function stagingKeysLeft(botId: string): Promise<string[]> {
  return redis.keys(`${PREFIX}:{${botId}}:staging:*`);
}

describe('redis snapshot store: rebuild staged page by page', () => {
  it('publishes exactly the truth when stream changes land between pages', async () => {
    const botId = newBotId();
    // What DynamoDB holds when the read starts: 23 chunks, one of another dimension, one non-finite.
    const truth = new Map<string, StoredChunk>();
    const read = Array.from({ length: 23 }, (_, i) => chunk(botId, i));
    read.push(chunk(botId, 50, { embedding: vectorFor(50, DIM + 1) }));
    read.push(chunk(botId, 51, { embedding: Float32Array.from({ length: DIM }, () => Number.NaN) }));
    for (const c of read.slice(0, 23)) truth.set(c.chunk_id, c);

    const ticket = await claim(botId);
    const staging = store.stageRebuild(ticket, DIM);
    const pages = [read.slice(0, 7), read.slice(7, 16), read.slice(16)];
    for (const [p, page] of pages.entries()) {
      await staging.add(page);
      if (p === 0) {
        // The stream meanwhile: an edit of a staged chunk, a delete, a new chunk (written to DynamoDB
        // first, then applied; the live snapshot is absent, so only `dirty` records them).
        await streamChangesDuringRebuild(store, botId, truth, {
          edit: 'chunk-2',
          add: 60,
          remove: 'chunk-12',
        });
      }
    }
    const reread = async (ids: string[]) => ids.flatMap((id) => truth.get(id) ?? []);
    expect(await staging.commit(reread)).toBe(true);

    const snapshot = (await store.read(botId)) as Snapshot;
    expectContent(contentOf(snapshot), expectedContent(truth.values()));
    const scan = (await store.readScan(botId)) as ScanSnapshot;
    expect(scan.live).toBe(truth.size);
    expect(scan.matrix.scale).toBeGreaterThan(0);
    expect(await stagingKeysLeft(botId)).toEqual([]);
    expect(await store.beginRebuild(botId, 1)).not.toBeNull();
  });

  it('publishes an empty snapshot for a bot without chunks', async () => {
    const botId = newBotId();
    const staging = store.stageRebuild(await claim(botId), DIM);
    await staging.add([]);
    expect(await staging.commit(async () => [])).toBe(true);
    const snapshot = (await store.read(botId)) as Snapshot;
    expect(snapshot.rows).toEqual([]);
    expect(snapshot.dimension).toBe(0);
  });

  it('refuses a chunk of another bot, and an abort releases the slot and deletes the staging keys', async () => {
    const botId = newBotId();
    const staging = store.stageRebuild(await claim(botId), DIM);
    await staging.add([chunk(botId, 1), chunk(botId, 2)]);
    await expect(staging.add([chunk('someone-else', 3)])).rejects.toBeInstanceOf(ValidationError);
    await staging.abort();

    expect(await stagingKeysLeft(botId)).toEqual([]);
    expect(await store.currentVersion(botId)).toBeNull();
    expect(await store.beginRebuild(botId, 1)).not.toBeNull();
  });
});
