/**
 * Reading the texts of some chunks (docs/snapshot.md, "Reads"): the texts live in buckets by a hash of
 * the chunk id, and the bucket count is the snapshot's own (`bkz` in the meta hash). One MULTI reads `bkz`
 * beside the HMGETs of the buckets the ids fall in under the count expected (the store's own setting,
 * which every snapshot it rebuilt took); only when the snapshot says otherwise does it read again.
 */
import type { Cluster, Redis } from 'ioredis';
import { type BotSnapshotKeys, bucketKey, groupByBucket } from './keys';
import { valuesOf } from './read';
import { textsOfStored } from './text-codec';

/**
 * The texts of `chunkIds` in their order, or null when the snapshot is absent or any text is missing
 * or does not decode (`textOfStored`).
 * `expectedBuckets` is the bucket count to try first. With `atVersion`, 'moved' when the snapshot is not
 * at that version (`build:seq`), checked in the same MULTI: then nothing it read is used.
 */
export async function readTexts(
  client: Redis | Cluster,
  keys: BotSnapshotKeys,
  chunkIds: readonly string[],
  expectedBuckets: number,
  atVersion?: string,
): Promise<string[] | 'moved' | null> {
  if (chunkIds.length === 0 && atVersion === undefined) return [];
  let buckets = expectedBuckets;
  // A second attempt uses the count the first one read, so two are enough unless a rebuild with another
  // setting published in between (then the caller sees null and treats the snapshot as untrustworthy).
  for (let attempt = 0; attempt < 2; attempt++) {
    const groups = [...groupByBucket(chunkIds, buckets)];
    const multi = client.multi().hmget(keys.meta, 'bkz', 'build', 'seq');
    for (const [b, positions] of groups) {
      multi.hmgetBuffer(bucketKey(keys.texts, b), ...positions.map((i) => chunkIds[i] as string));
    }
    const values = valuesOf(await multi.exec());
    const [bk, build, seq] = values[0] as (string | null)[];
    if (atVersion !== undefined && (build == null || `${build}:${seq ?? '0'}` !== atVersion)) return 'moved';
    const found = Number(bk);
    if (bk == null || !Number.isInteger(found) || found < 1) return null;
    if (found !== buckets) {
      buckets = found;
      continue;
    }
    const stored: Buffer[] = new Array(chunkIds.length);
    for (const [g, [, positions]] of groups.entries()) {
      const replies = values[g + 1] as (Buffer | null)[];
      for (const [j, position] of positions.entries()) {
        const value = replies[j];
        if (value == null) return null;
        stored[position] = value;
      }
    }
    const out = textsOfStored(stored);
    if (out.includes(null)) return null;
    return out as string[];
  }
  return null;
}
