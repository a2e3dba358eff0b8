/**
 * Reading the texts of some chunks (docs/snapshot.md, "Reads"): the texts live in buckets by a hash of
 * the chunk id, and the bucket count is the snapshot's own (`bk` in the meta hash), so a first round trip
 * reads it and the MULTI of the HMGETs reads it again to prove the snapshot did not change its layout.
 */
import type { Cluster, Redis } from 'ioredis';
import { type BotSnapshotKeys, bucketKey, groupByBucket } from './snapshot-keys';
import { valuesOf } from './snapshot-read';

/** The texts of `chunkIds` in their order, or null when the snapshot is absent or any text is missing. */
export async function readTexts(
  client: Redis | Cluster,
  keys: BotSnapshotKeys,
  chunkIds: readonly string[],
): Promise<string[] | null> {
  if (chunkIds.length === 0) return [];
  const bucketsField = await client.hget(keys.meta, 'bk');
  const buckets = Number(bucketsField);
  if (bucketsField === null || !Number.isInteger(buckets) || buckets < 1) return null;
  const groups = [...groupByBucket(chunkIds, buckets)];
  const multi = client.multi().hget(keys.meta, 'bk');
  for (const [b, positions] of groups) {
    multi.hmget(bucketKey(keys.texts, b), ...positions.map((i) => chunkIds[i] as string));
  }
  const values = valuesOf(await multi.exec());
  if (values[0] !== bucketsField) return null;
  const out: string[] = new Array(chunkIds.length);
  for (const [g, [, positions]] of groups.entries()) {
    const found = values[g + 1] as (string | null)[];
    for (const [j, position] of positions.entries()) {
      const text = found[j];
      if (text == null) return null;
      out[position] = text;
    }
  }
  return out;
}
