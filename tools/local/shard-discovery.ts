import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
} from '@aws-sdk/client-dynamodb-streams';
import type { ShardInfo } from './shard-lineage';
import type { ShardState } from './shard-state';

/** Every shard of the stream, open and closed, page after page of DescribeStream. */
export async function describeShards(client: DynamoDBStreamsClient, streamArn: string): Promise<ShardInfo[]> {
  const shards: ShardInfo[] = [];
  let exclusiveStartShardId: string | undefined;
  do {
    const { StreamDescription } = await client.send(
      new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
    );
    for (const shard of StreamDescription?.Shards ?? []) {
      if (shard.ShardId === undefined) continue;
      shards.push({
        shardId: shard.ShardId,
        parentShardId: shard.ParentShardId,
        endingSequenceNumber: shard.SequenceNumberRange?.EndingSequenceNumber,
      });
    }
    exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
  } while (exclusiveStartShardId !== undefined);
  return shards;
}

/**
 * A shard iterator where the shard's reading continues: after the last record read or checkpointed, at
 * the trim horizon after a trim (or for a shard never read), or at LATEST when the mapping starts there.
 */
export async function newIterator(
  client: DynamoDBStreamsClient,
  streamArn: string,
  shard: ShardState,
): Promise<string | null> {
  const input: GetShardIteratorCommandInput = {
    StreamArn: streamArn,
    ShardId: shard.info.shardId,
    ShardIteratorType: 'TRIM_HORIZON',
  };
  const position = shard.readPosition ?? shard.checkpoint;
  if (shard.trimmed) {
    shard.trimmed = false;
  } else if (position !== undefined) {
    input.ShardIteratorType = 'AFTER_SEQUENCE_NUMBER';
    input.SequenceNumber = position;
  } else if (shard.startAtLatest) {
    input.ShardIteratorType = 'LATEST';
  }
  const { ShardIterator } = await client.send(new GetShardIteratorCommand(input));
  return ShardIterator ?? null;
}
