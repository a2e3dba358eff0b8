import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { SnapshotChange } from '../../src/snapshot';
import { RedisSnapshotStore } from '../../src/snapshot';
import { type LocalService, startRedisServer } from '../../tools/local/stack';
import { chunk, publishSnapshot, upsertOf, vectorBytes, vectorFor } from '../fixtures/snapshot-chunks';

// A private redis-server: INFO counters are server-wide, and other test files share the global one.
const DIM = 384;

/** The batch a stream handler might apply: 20 deletes, 50 overwrites, 30 new chunks. */
function hundredChanges(botId: string, size: number): SnapshotChange[] {
  const changes: SnapshotChange[] = [];
  for (let i = 0; i < 20; i++) changes.push({ kind: 'delete', chunk_id: `chunk-${i * 7 + 3}` });
  for (let i = 0; i < 50; i++) {
    changes.push(
      upsertOf(chunk(botId, i * 7, { embedding: vectorFor(10_000 + i, DIM), text: `edited ${i}` })),
    );
  }
  for (let i = 0; i < 30; i++)
    changes.push(upsertOf(chunk(botId, size + i, { embedding: vectorFor(size + i, DIM) })));
  return changes;
}

describe('snapshot update cost', () => {
  let server: LocalService;
  let redis: Redis;
  let store: RedisSnapshotStore;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url);
    store = new RedisSnapshotStore(redis, 'vs');
  });

  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  async function stat(section: string, name: string): Promise<number> {
    const match = new RegExp(`${name}:(\\d+)`).exec(await redis.info(section));
    return Number(match?.[1]);
  }

  /** Bytes Redis received while one 100-change batch was applied to a bot of `size` chunks. */
  async function bytesForOneBatch(size: number): Promise<number> {
    const botId = `bot-${randomUUID()}`;
    const chunks = Array.from({ length: size }, (_, i) => chunk(botId, i, { embedding: vectorFor(i, DIM) }));
    await publishSnapshot(store, botId, chunks);
    const changes = hundredChanges(botId, size);
    const vectorBytesBefore = await vectorBytes(redis, 'vs', botId);

    const before = await stat('stats', 'total_net_input_bytes');
    await store.applyChanges(botId, changes);
    const after = await stat('stats', 'total_net_input_bytes');

    // The batch landed: 30 new chunks fill 20 freed slots and grow the blob by 10.
    expect((await store.read(botId))?.rows).toHaveLength(size + 10);
    expect(await vectorBytes(redis, 'vs', botId)).toBe(vectorBytesBefore + 10 * DIM * 4);
    await store.drop(botId);
    return after - before;
  }

  it('sends about the same bytes for a 100-change batch to a 1k-chunk bot as to a 20k-chunk bot', async () => {
    const small = await bytesForOneBatch(1_000);
    const large = await bytesForOneBatch(20_000);

    // 80 upserts carry 80 vectors of 1,536 bytes plus rows and texts: about 150 KB, whatever the bot's size.
    expect(small).toBeGreaterThan(80 * DIM * 4);
    expect(small).toBeLessThan(100 * (DIM * 4 + 400));
    expect(large / small).toBeLessThan(1.5);
    expect(large / small).toBeGreaterThan(1 / 1.5);
  });

  it('applies a 100-change batch to a 20k-chunk bot without rewriting its blob or hashes', async () => {
    const botId = `bot-${randomUUID()}`;
    await publishSnapshot(
      store,
      botId,
      Array.from({ length: 20_000 }, (_, i) => chunk(botId, i, { embedding: vectorFor(i, DIM) })),
    );
    await redis.config('RESETSTAT');

    await store.applyChanges(botId, hundredChanges(botId, 20_000));

    // Every command the script ran touched one chunk: no GET/SET of the blob, no HGETALL/DEL of a hash.
    const commands = await redis.info('commandstats');
    expect(commands).not.toMatch(/cmdstat_(get|set|hgetall|del|unlink|rename):/);
    // One SETRANGE of the vector and one of its int8 codes per upsert.
    expect(Number(/cmdstat_setrange:calls=(\d+)/.exec(commands)?.[1])).toBe(160);
  });
});
