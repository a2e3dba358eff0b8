import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mapLimited } from '../../machinery/pool';
import { type RetryPolicy, sendWithRetry } from './retry-unprocessed';

type Item = Record<string, unknown>;

/** One request of a BatchWriteItem call. */
export type WriteRequest = { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } };

/** How a batch call retries what DynamoDB left unprocessed (see sendWithRetry). */
export type BatchRetry = { policy?: RetryPolicy; sleep?: (ms: number) => Promise<void> };

/** BatchWriteItem takes at most 25 requests, BatchGetItem at most 100 keys. */
const WRITE_BATCH = 25;
const GET_BATCH = 100;

/**
 * Reads any number of keys of one table with BatchGetItem, 100 a call, retrying UnprocessedKeys.
 * @throws Error naming the table when keys are still unprocessed after the last attempt.
 */
export async function batchGetAll(
  client: DynamoDBDocumentClient,
  table: string,
  keys: Item[],
  read: { consistent: boolean; projection?: string },
  retry: BatchRetry = {},
): Promise<Item[]> {
  const found: Item[] = [];
  for (let start = 0; start < keys.length; start += GET_BATCH) {
    const left = await sendWithRetry(
      keys.slice(start, start + GET_BATCH),
      async (batch) => {
        const response = await client.send(
          new BatchGetCommand({
            RequestItems: {
              [table]: {
                Keys: batch,
                ConsistentRead: read.consistent,
                ...(read.projection === undefined ? {} : { ProjectionExpression: read.projection }),
              },
            },
          }),
        );
        found.push(...(response.Responses?.[table] ?? []));
        return (response.UnprocessedKeys?.[table]?.Keys ?? []) as Item[];
      },
      retry,
    );
    if (left.length > 0) {
      throw new Error(`BatchGetItem left ${left.length} keys of ${table} unprocessed after retries`);
    }
  }
  return found;
}

/**
 * Sends the requests with BatchWriteItem in groups of 25, `concurrency` calls in flight, retrying
 * UnprocessedItems. Returns the requests still unwritten after the last attempt (empty when all went
 * through); the caller decides what that means.
 */
export async function batchWriteAll(
  client: DynamoDBDocumentClient,
  table: string,
  requests: WriteRequest[],
  options: BatchRetry & { concurrency: number },
): Promise<WriteRequest[]> {
  const groups: WriteRequest[][] = [];
  for (let start = 0; start < requests.length; start += WRITE_BATCH) {
    groups.push(requests.slice(start, start + WRITE_BATCH));
  }
  const send = async (batch: WriteRequest[]): Promise<WriteRequest[]> => {
    const response = await client.send(new BatchWriteCommand({ RequestItems: { [table]: batch as never } }));
    return (response.UnprocessedItems?.[table] ?? []) as WriteRequest[];
  };
  const unwritten = await mapLimited(groups, options.concurrency, (group) =>
    sendWithRetry(group, send, options),
  );
  return unwritten.flat();
}
