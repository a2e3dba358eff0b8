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

/** A request DynamoDB refused outright, with its reason (the ValidationException's message). */
export type RefusedWrite = { request: WriteRequest; reason: string };

/** How a batchWriteAll ended: what stayed unwritten after the retries, and what DynamoDB refused. */
export type BatchWriteOutcome = { unwritten: WriteRequest[]; refused: RefusedWrite[] };

const isRefusal = (error: unknown): error is Error =>
  error instanceof Error && error.name === 'ValidationException';

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Sends the requests with BatchWriteItem in groups of 25, `concurrency` calls in flight, retrying
 * UnprocessedItems. DynamoDB refuses a whole group for one item it will not store (a ValidationException
 * naming no item), so such a group is sent again one request at a time: the others are written, and the
 * refused ones come back in `refused`. Every group has ended before this returns or throws, so a caller
 * undoing the writes never races one still in flight.
 * @throws the first error other than a refusal, once every group has ended.
 */
export async function batchWriteAll(
  client: DynamoDBDocumentClient,
  table: string,
  requests: WriteRequest[],
  options: BatchRetry & { concurrency: number },
): Promise<BatchWriteOutcome> {
  const groups: WriteRequest[][] = [];
  for (let start = 0; start < requests.length; start += WRITE_BATCH) {
    groups.push(requests.slice(start, start + WRITE_BATCH));
  }
  const send = async (batch: WriteRequest[]): Promise<WriteRequest[]> => {
    const response = await client.send(new BatchWriteCommand({ RequestItems: { [table]: batch as never } }));
    return (response.UnprocessedItems?.[table] ?? []) as WriteRequest[];
  };
  const refused: RefusedWrite[] = [];
  const sendGroup = async (group: WriteRequest[]): Promise<WriteRequest[]> => {
    try {
      return await sendWithRetry(group, send, options);
    } catch (error) {
      if (!isRefusal(error)) throw error;
    }
    const left: WriteRequest[] = [];
    for (const request of group) {
      try {
        left.push(...(await sendWithRetry([request], send, options)));
      } catch (error) {
        if (!isRefusal(error)) throw error;
        refused.push({ request, reason: error.message });
      }
    }
    return left;
  };
  const settled = await mapLimited(groups, options.concurrency, (group) =>
    sendGroup(group).then(
      (value): Settled<WriteRequest[]> => ({ ok: true, value }),
      (error: unknown): Settled<WriteRequest[]> => ({ ok: false, error }),
    ),
  );
  const unwritten: WriteRequest[] = [];
  for (const outcome of settled) {
    if (!outcome.ok) throw outcome.error;
    unwritten.push(...outcome.value);
  }
  return { unwritten, refused };
}
