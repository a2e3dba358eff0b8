import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { StoredChunk } from '../../src/domain/types';
import type { SnapshotChange, SnapshotRow } from '../../src/snapshot';
import { RedisSnapshotStore } from '../../src/snapshot';
import { chunk, publishSnapshot, upsertOf } from '../fixtures/snapshot-chunks';

/** The row a chunk is held under. */
function rowOf(c: StoredChunk): SnapshotRow {
  const change = upsertOf(c);
  if (change.kind !== 'upsert') throw new Error('not an upsert');
  return change.row;
}

const redis = new Redis(process.env.REDIS_URL as string);
const store = new RedisSnapshotStore(redis, 'vs-test');
afterAll(() => redis.quit());

describe('redis snapshot row changes', () => {
  it('replaces the row of a held chunk, keeping its vector and text, and moves the version', async () => {
    const botId = `bot-${randomUUID()}`;
    const chunks = Array.from({ length: 5 }, (_, i) => chunk(botId, i));
    await publishSnapshot(store, botId, chunks, 1);
    const before = await store.read(botId);
    const held = chunks[2];
    if (before === null || held === undefined) throw new Error('no snapshot');
    const slot = before.rows.findIndex((row) => row.chunk_id === held.chunk_id);
    const vector = Array.from(
      before.vectors.subarray(slot * before.dimension, (slot + 1) * before.dimension),
    );

    const change: SnapshotChange = {
      kind: 'row',
      row: { ...rowOf(held), metadata: { lang: 'fr' }, expires_at: 1_900_000_000 },
    };
    await store.applyChanges(botId, [change]);
    await store.applyChanges(botId, [change]);

    const after = await store.read(botId);
    if (after === null) throw new Error('snapshot dropped');
    expect(after.version).not.toBe(before.version);
    const at = after.rows.findIndex((row) => row.chunk_id === held.chunk_id);
    expect(after.rows[at]).toEqual({
      ...rowOf(held),
      metadata: { lang: 'fr' },
      expires_at: 1_900_000_000,
    });
    expect(Array.from(after.vectors.subarray(at * after.dimension, (at + 1) * after.dimension))).toEqual(
      vector,
    );
    expect(await store.texts(botId, [held.chunk_id])).toEqual([held.text]);
    expect(after.rows).toHaveLength(5);
  });

  it('leaves a chunk the snapshot does not hold out of it', async () => {
    const botId = `bot-${randomUUID()}`;
    await publishSnapshot(store, botId, [chunk(botId, 0)], 1);
    const absent = chunk(botId, 9);
    await store.applyChanges(botId, [{ kind: 'row', row: rowOf(absent) }]);
    const after = await store.read(botId);
    expect(after?.rows.map((row) => row.chunk_id)).toEqual([chunk(botId, 0).chunk_id]);
  });
});
