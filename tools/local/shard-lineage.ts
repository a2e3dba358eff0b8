/** A shard of the stream as DescribeStream lists it. */
export type ShardInfo = {
  shardId: string;
  parentShardId: string | undefined;
  /** Set once the shard is closed: no record will be added after it. */
  endingSequenceNumber: string | undefined;
};

/**
 * The shards that may be read now. A child shard holds records written after those of its parent, so it
 * is read only once the parent is finished (closed and read to its end). A parent that is no longer listed
 * was trimmed (older than the stream's 24-hour retention) and does not hold the child back.
 */
export function readableShards(shards: readonly ShardInfo[], finished: ReadonlySet<string>): ShardInfo[] {
  const listed = new Set(shards.map((s) => s.shardId));
  return shards.filter(
    (shard) =>
      !finished.has(shard.shardId) &&
      (shard.parentShardId === undefined ||
        !listed.has(shard.parentShardId) ||
        finished.has(shard.parentShardId)),
  );
}

/** Compares two stream sequence numbers (numeric strings of up to 40 digits): negative, 0 or positive. */
export function compareSequenceNumbers(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
