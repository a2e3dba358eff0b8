import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import type { Log } from '../../src/ports';
import type { CheckpointStore } from './checkpoint-store';
import type { OnFailureRecord } from './on-failure-destination';
import type { StreamSettings } from './stream-settings';

/** The deployed stream handler's signature: the runner calls the same exported `handler`. */
export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<
  // biome-ignore lint/suspicious/noConfusingVoidType: handlers typed Promise<void> must fit, as in Lambda's own types
  DynamoDBBatchResponse | undefined | void
>;

/** Where the runner reports progress: the `Log` port (a Powertools `Logger` fits as is). */
export type StreamRunnerLog = Log;

/** A batch the runner gave up on, as handed to the `onFailure` callback. */
export type FailedBatch = {
  /** What Lambda would have sent to the on-failure destination (also the line in the JSONL file). */
  record: OnFailureRecord;
  /** The records themselves (Lambda leaves them in the stream; locally they are at hand). */
  event: DynamoDBStreamEvent;
  /** Why the last attempt failed. */
  reason: string;
};

export type StreamRunnerOptions = {
  streamsClient: DynamoDBStreamsClient;
  dynamodbClient: DynamoDBClient;
  /** The table whose stream is read (DescribeTable gives its LatestStreamArn). */
  tableName: string;
  handler: StreamHandler;
  /** The stream event settings (see `loadStreamSettings`); anything left out takes Lambda's default. */
  settings?: Partial<StreamSettings>;
  /** A store, or the path of a JSON checkpoint file. Default: in memory (a restart starts over). */
  checkpoints?: CheckpointStore | string;
  functionName: string;
  /** JSON Lines file that receives the on-failure records (the local stand-in for the SQS destination). */
  onFailureFile?: string;
  /** Called with every batch given up on, after the file was written. */
  onFailure?: (failed: FailedBatch) => void | Promise<void>;
  log?: StreamRunnerLog;
  /** Pause after a GetRecords that returned nothing (Lambda polls each shard four times a second). */
  pollIntervalMs?: number;
  /** How often the shard list is read again to find new shards. */
  shardRefreshIntervalMs?: number;
  /** Backoff before retrying a failed batch: base * 2^(retry-1), capped at max. */
  retryDelayMs?: { base: number; max: number };
};

/** Counters since the runner was created. */
export type StreamRunnerStats = {
  invocations: number;
  /** Records whose invocation succeeded (a record redelivered and succeeding twice counts twice). */
  recordsSucceeded: number;
  retries: number;
  bisections: number;
  failedBatches: number;
  failedRecords: number;
  shardsFinished: number;
};

export function errorName(error: unknown): string {
  return (error as { name?: string } | null)?.name ?? '';
}

export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Logs to the console, one line per message. */
const consoleLine = (message: string, attributes: Record<string, unknown>[]) =>
  `[stream] ${message}${attributes.map((a) => ` ${JSON.stringify(a)}`).join('')}`;

export const consoleRunnerLog: StreamRunnerLog = {
  debug: () => {},
  info: (message, ...attributes) => console.log(consoleLine(message, attributes)),
  warn: (message, ...attributes) => console.warn(consoleLine(message, attributes)),
  error: (message, ...attributes) => console.error(consoleLine(message, attributes)),
};
