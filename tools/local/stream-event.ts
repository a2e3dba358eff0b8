import type { _Record as SdkStreamRecord } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { toLambdaRecord } from '../../src/adapters/dynamodb/lambda-stream-record';

/**
 * One stream record as the runner keeps it: the Lambda-shaped record serialised once (what an invocation
 * payload is made of), plus what batching, checkpointing and the on-failure record need.
 */
export type BufferedRecord = {
  sequenceNumber: string;
  /** Milliseconds since the epoch (DynamoDB Local truncates it to the minute). */
  approximateCreationTime: number;
  /** The record exactly as Lambda's JSON payload carries it. */
  json: string;
  /** UTF-8 bytes of `json`, for the invocation payload limit. */
  bytes: number;
};

/** Converts and serialises one stream record for the runner's buffer. */
export function bufferRecord(record: SdkStreamRecord, streamArn: string, region: string): BufferedRecord {
  const lambdaRecord = toLambdaRecord(record, streamArn, region);
  const json = JSON.stringify(lambdaRecord);
  return {
    sequenceNumber: lambdaRecord.dynamodb?.SequenceNumber ?? '',
    approximateCreationTime: record.dynamodb?.ApproximateCreationDateTime?.getTime() ?? Date.now(),
    json,
    bytes: Buffer.byteLength(json),
  };
}

/** Bytes of the JSON payload `{"Records":[...]}` for these records. */
export function payloadBytes(records: readonly BufferedRecord[]): number {
  let bytes = '{"Records":[]}'.length + Math.max(0, records.length - 1);
  for (const r of records) bytes += r.bytes;
  return bytes;
}

/** The event for one invocation, parsed from JSON like Lambda's runtime does, so every call gets its own copy. */
export function buildEvent(records: readonly BufferedRecord[]): { Records: DynamoDBRecord[] } {
  return JSON.parse(`{"Records":[${records.map((r) => r.json).join(',')}]}`) as { Records: DynamoDBRecord[] };
}
