import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { _Record as SdkStreamRecord } from '@aws-sdk/client-dynamodb-streams';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import type { StoredChunk } from '../../../src/domain/types';
import { createRedisClient } from '../../../src/redis-client';
import { RedisSnapshotStore } from '../../../src/snapshot';
import { createLambdaContext } from '../../local/lambda-context';
import { bufferRecord, buildEvent } from '../../local/stream-event';
import { type BenchContext, CREATED_AT } from '../context';
import { storedChunk } from '../data';
import { count } from '../format';
import { meterWriteCapacity, redisInputBytes } from '../instrument';
import { itemOf } from '../load';

const RECORDS = 100;
/** Sequence numbers are 21-40 digit numeric strings; start high enough to have 21 digits. */
let nextSequence = 10n ** 20n;

/** 100 new chunks (4 documents of 25) that the bot does not have yet, as batch `batch` of the run. */
export function newChunks(context: BenchContext, botId: string, batch: number): StoredChunk[] {
  const source = context.dataset(RECORDS);
  return Array.from({ length: RECORDS }, (_, row) => {
    const chunk = storedChunk(source, botId, row, CREATED_AT);
    chunk.filename = `batch-${batch}-${chunk.filename}`;
    chunk.chunk_id = `batch-${batch}-${chunk.chunk_id}`;
    return chunk;
  });
}

/** The INSERT records DynamoDB Streams would carry for these chunks, as Lambda delivers them. */
export function insertEvent(chunks: StoredChunk[], streamArn: string): DynamoDBStreamEvent {
  const records = chunks.map((chunk) => {
    const image = marshall(itemOf(chunk, 'binary'), { removeUndefinedValues: true });
    nextSequence += 1n;
    const record: SdkStreamRecord = {
      eventID: `bench-${nextSequence}`,
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: new Date(),
        Keys: marshall({ bot_id: chunk.bot_id, chunk_id: chunk.chunk_id }),
        NewImage: image as NonNullable<SdkStreamRecord['dynamodb']>['NewImage'],
        SequenceNumber: nextSequence.toString(),
        SizeBytes: 2_300,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    };
    return bufferRecord(record, streamArn, 'us-east-1');
  });
  return buildEvent(records) as DynamoDBStreamEvent;
}

/**
 * What one stream batch of 100 INSERTs costs the handler (handlers/stream-sync.ts, invoked in process with
 * a Lambda-shaped event) for bots of each size whose snapshot is present: bytes sent to Redis (INFO stats
 * total_net_input_bytes) and DynamoDB write capacity (ReturnConsumedCapacity on every write it makes).
 * Snapshots are published from generated rows; the bot's chunks are not written to VectorEmbeddings
 * (the handler never reads them). Each bot gets one batch first, so the measured one is steady state.
 */
export async function batchCost(context: BenchContext, sizes: number[]): Promise<void> {
  const { base, streamSync: handler } = context.env;
  const meter = meterWriteCapacity(base.dynamodb);
  const redis = createRedisClient(context.env.stack.redis.url);
  const store = new RedisSnapshotStore(redis, context.env.config.redisKeyPrefix);
  const table = await context.env.dynamodb.send(
    new DescribeTableCommand({ TableName: context.env.config.tables.vectorEmbeddings }),
  );
  const streamArn = table.Table?.LatestStreamArn ?? 'unknown';
  const invoke = async (event: DynamoDBStreamEvent) => {
    const response = await handler(
      event,
      createLambdaContext({ functionName: 'streamSync', region: 'us-east-1', timeoutSeconds: 60 }),
    );
    if (response.batchItemFailures.length > 0) {
      throw new Error(`the stream handler failed ${response.batchItemFailures.length} records of the batch`);
    }
  };
  try {
    for (const n of sizes) {
      const botId = await context.snapshotBot(store, context.env.stack.redis.url, n);
      context.progress.note(`stream batch cost at ${count(n)}`);
      await invoke(insertEvent(newChunks(context, botId, 0), streamArn));
      const versionBefore = await store.currentVersion(botId);
      const event = insertEvent(newChunks(context, botId, 1), streamArn);
      meter.reset();
      const bytesBefore = await redisInputBytes(redis);
      await invoke(event);
      const bytesAfter = await redisInputBytes(redis);
      const versionAfter = await store.currentVersion(botId);
      if (versionAfter === null || versionAfter.version === versionBefore?.version) {
        throw new Error(`the batch did not update the snapshot of ${botId}`);
      }
      // The INFO call that took the first reading is itself counted in the second one.
      const infoCommandBytes = '*2\r\n$4\r\ninfo\r\n$5\r\nstats\r\n'.length;
      const row = {
        botSize: n,
        records: RECORDS,
        redisBytesIn: bytesAfter - bytesBefore - infoCommandBytes,
        dynamoWriteUnits: meter.units(),
        ruleWriteUnits: meter.ruleUnits(),
        writeRequests: meter.writes(),
      };
      context.results.batchCost.push(row);
      context.progress.note(
        `stream batch at ${count(n)}: ${row.redisBytesIn} bytes to Redis, ${row.dynamoWriteUnits ?? 'unreported'} WCU`,
      );
      // The bot now holds 200 more chunks than the shared snapshot of its size should.
      await store.drop(botId);
      context.forgetSnapshot(context.env.stack.redis.url, n);
    }
  } finally {
    redis.disconnect();
  }
}
