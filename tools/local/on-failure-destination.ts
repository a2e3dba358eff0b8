import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FailureCondition } from './batch-policy';

/**
 * The message Lambda sends to a stream mapping's on-failure destination (SQS or SNS) when it gives up on a
 * batch: metadata only, the records themselves stay in the stream (24 hours) under these sequence numbers.
 */
export type OnFailureRecord = {
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: FailureCondition;
    approximateInvokeCount: number;
  };
  responseContext: {
    statusCode: number;
    executedVersion: string;
    functionError?: 'Unhandled';
  };
  version: '1.0';
  timestamp: string;
  DDBStreamBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord: string;
    approximateArrivalOfLastRecord: string;
    batchSize: number;
    streamArn: string;
  };
};

/** ISO 8601 to the second, as Lambda writes the arrival times. */
function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** Builds the on-failure record for records `first`..`last` (in stream order) of one shard. */
export function buildOnFailureRecord(input: {
  functionArn: string;
  condition: FailureCondition;
  invocations: number;
  /** True when the last invocation threw (Lambda: `functionError: "Unhandled"`). */
  functionError: boolean;
  shardId: string;
  streamArn: string;
  first: { sequenceNumber: string; approximateCreationTime: number };
  last: { sequenceNumber: string; approximateCreationTime: number };
  batchSize: number;
  now?: Date;
}): OnFailureRecord {
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn: input.functionArn,
      condition: input.condition,
      approximateInvokeCount: input.invocations,
    },
    responseContext: {
      statusCode: 200,
      executedVersion: '$LATEST',
      ...(input.functionError ? { functionError: 'Unhandled' as const } : {}),
    },
    version: '1.0',
    timestamp: (input.now ?? new Date()).toISOString(),
    DDBStreamBatchInfo: {
      shardId: input.shardId,
      startSequenceNumber: input.first.sequenceNumber,
      endSequenceNumber: input.last.sequenceNumber,
      approximateArrivalOfFirstRecord: isoSeconds(input.first.approximateCreationTime),
      approximateArrivalOfLastRecord: isoSeconds(input.last.approximateCreationTime),
      batchSize: input.batchSize,
      streamArn: input.streamArn,
    },
  };
}

/** Appends on-failure records to a JSON Lines file (one record per line), creating its directory. */
export class JsonLinesFailureFile {
  private ready: Promise<unknown> | undefined;

  constructor(readonly path: string) {}

  /** @throws the file system error when the line cannot be written (the runner then retries, it never skips). */
  async append(record: OnFailureRecord): Promise<void> {
    this.ready ??= mkdir(dirname(this.path), { recursive: true });
    await this.ready;
    await appendFile(this.path, `${JSON.stringify(record)}\n`, 'utf8');
  }
}
