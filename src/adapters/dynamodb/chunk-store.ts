import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  paginateQuery,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { documentChunkIdPrefix } from '../../domain/chunk-id';
import { type ChunkItem, chunkItem } from '../../domain/chunk-record';
import { versionOfItem } from '../../domain/document-version';
import type { EmbeddingEncoding } from '../../domain/embedding-codec';
import type { ChunkMetadata, StoredChunk } from '../../domain/types';
import { ItemRefusedError, ValidationError, WriteIncompleteError } from '../../errors';
import { mapLimited } from '../../machinery/pool';
import type { ChunkIdRange, ChunkStore, DocumentChunkKey } from '../../ports';
import { FILENAME_INDEX } from '../../tables/definition';
import { type BatchRetry, batchGetAll, batchWriteAll, type WriteRequest } from './batch-calls';
import { toStoredChunks } from './chunk-item';
import { defaultRetryPolicy, type RetryPolicy } from './retry-unprocessed';

/** UpdateItem calls in flight at once for `setMetadata` (each one item, so more than batch calls). */
const UPDATE_CONCURRENCY = 16;

export type DynamoChunkStoreOptions = {
  /** The VectorEmbeddings table's deployed name. */
  table: string;
  /** How `put` stores embeddings; every read accepts both encodings whatever this says. */
  embeddingEncoding: EmbeddingEncoding;
  /** Retries of UnprocessedItems / UnprocessedKeys. */
  retryPolicy?: RetryPolicy;
  /** BatchWriteItem calls in flight at once. */
  writeConcurrency?: number;
  /** Injected in tests; a real timer otherwise. */
  sleep?: (ms: number) => Promise<void>;
};

/**
 * VectorEmbeddings on DynamoDB. Every Query follows LastEvaluatedKey (a bot's chunks span many 1 MB
 * pages), every batch call retries what DynamoDB left unprocessed, and every read decodes both embedding
 * encodings, so items written by the design document's own code (List<Number>) keep working.
 */
export class DynamoChunkStore implements ChunkStore {
  private readonly retryPolicy: RetryPolicy;
  private readonly writeConcurrency: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoChunkStoreOptions,
  ) {
    this.retryPolicy = options.retryPolicy ?? defaultRetryPolicy;
    this.writeConcurrency = options.writeConcurrency ?? 4;
  }

  /**
   * @throws ValidationError when two chunks share a key (BatchWriteItem would reject the whole batch).
   * @throws ItemRefusedError naming each chunk DynamoDB refused outright (the others are written).
   * @throws WriteIncompleteError naming every chunk still unwritten after the last attempt.
   */
  async put(chunks: StoredChunk[]): Promise<void> {
    const seen = new Set<string>();
    for (const chunk of chunks) {
      const name = `${chunk.bot_id}/${chunk.chunk_id}`;
      if (seen.has(name)) throw new ValidationError(`chunk ${name} appears twice in one write`, 'chunk_id');
      seen.add(name);
    }
    await this.writeAll(
      chunks.map((chunk) => ({ PutRequest: { Item: chunkItem(chunk, this.options.embeddingEncoding) } })),
      'put',
    );
  }

  /** @throws WriteIncompleteError naming every chunk still undeleted after the last attempt. */
  async delete(botId: string, chunkIds: string[]): Promise<void> {
    const unique = [...new Set(chunkIds)];
    await this.writeAll(
      unique.map((chunkId) => ({ DeleteRequest: { Key: { bot_id: botId, chunk_id: chunkId } } })),
      'delete',
    );
  }

  /** Conditional UpdateItem per chunk (`writeConcurrency` at a time); a chunk gone meanwhile is skipped. */
  async setMetadata(
    botId: string,
    updates: ReadonlyArray<{ chunk_id: string; metadata: ChunkMetadata }>,
  ): Promise<number> {
    const done = await mapLimited(updates, UPDATE_CONCURRENCY, async (update): Promise<number> => {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.options.table,
            Key: { bot_id: botId, chunk_id: update.chunk_id },
            UpdateExpression: 'SET #metadata = :metadata',
            // An update never creates an item: a chunk removed meanwhile (a TTL deletion) stays removed.
            ConditionExpression: 'attribute_exists(chunk_id)',
            ExpressionAttributeNames: { '#metadata': 'metadata' },
            ExpressionAttributeValues: { ':metadata': update.metadata },
          }),
        );
        return 1;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return 0;
        throw error;
      }
    });
    return done.reduce((sum, n) => sum + n, 0);
  }

  /**
   * Keys of one document's chunks, with their versions. The filename-index GSI finds every chunk whatever
   * its id, but a GSI is only eventually consistent: chunks written a moment ago may be missing from it.
   * Deterministic ids share a per-document prefix, so a strongly consistent Query of the base table finds
   * those too; the union of both is what a re-ingest must replace.
   */
  async documentChunkKeys(botId: string, filename: string): Promise<DocumentChunkKey[]> {
    const keys = new Map<string, DocumentChunkKey>();
    const indexNames = {
      '#chunk_id': 'chunk_id',
      '#chunk_index': 'chunk_index',
      '#created_at': 'created_at',
    };
    const fromIndex = this.queryAll({
      TableName: this.options.table,
      IndexName: FILENAME_INDEX,
      KeyConditionExpression: 'bot_id = :bot AND #filename = :filename',
      // The index projects chunk_index, file_size and created_at, not the version attributes.
      ProjectionExpression: '#chunk_id, #chunk_index, #created_at',
      ExpressionAttributeNames: { ...indexNames, '#filename': 'filename' },
      ExpressionAttributeValues: { ':bot': botId, ':filename': filename },
    });
    for await (const page of fromIndex) for (const item of page) addKey(keys, item);
    // The base table's answer is current, so it wins over the index's where both have a chunk.
    const fromTable = this.queryAll({
      TableName: this.options.table,
      KeyConditionExpression: 'bot_id = :bot AND begins_with(#chunk_id, :prefix)',
      FilterExpression: '#filename = :filename',
      ConsistentRead: true,
      ProjectionExpression: KEY_ATTRIBUTES.join(', '),
      ExpressionAttributeNames: { '#chunk_id': 'chunk_id', '#filename': 'filename' },
      ExpressionAttributeValues: {
        ':bot': botId,
        ':prefix': documentChunkIdPrefix(filename),
        ':filename': filename,
      },
    });
    const current = new Set<string>();
    for await (const page of fromTable) {
      for (const item of page) {
        addKey(keys, item);
        current.add(String(item.chunk_id));
      }
    }
    // Ids of the caller's own are found through the index alone: read their versions from the table
    // (strongly consistent), which also drops any the index still shows after they were deleted.
    const onlyIndexed = [...keys.keys()].filter((chunkId) => !current.has(chunkId));
    if (onlyIndexed.length > 0) {
      for (const chunkId of onlyIndexed) keys.delete(chunkId);
      const items = await batchGetAll(
        this.client,
        this.options.table,
        onlyIndexed.map((chunkId) => ({ bot_id: botId, chunk_id: chunkId })),
        { consistent: true, projection: KEY_ATTRIBUTES.join(', ') },
        this.retry(),
      );
      for (const item of items) if (item.filename === filename) addKey(keys, item);
    }
    return [...keys.values()];
  }

  /** Strongly consistent, so that deleting a bot also finds chunks written a moment ago. */
  async *botChunkIds(botId: string): AsyncIterable<string[]> {
    const pages = this.queryAll({
      TableName: this.options.table,
      KeyConditionExpression: 'bot_id = :bot',
      ConsistentRead: true,
      ProjectionExpression: '#chunk_id',
      ExpressionAttributeNames: { '#chunk_id': 'chunk_id' },
      ExpressionAttributeValues: { ':bot': botId },
    });
    for await (const page of pages) {
      const ids = page.map((item) => item.chunk_id).filter((id): id is string => typeof id === 'string');
      if (ids.length > 0) yield ids;
    }
  }

  async *readBot(
    botId: string,
    options: {
      consistent: boolean;
      withText: boolean;
      onInvalid?: (chunkId: string, error: Error) => void;
      range?: ChunkIdRange;
    },
  ): AsyncIterable<StoredChunk[]> {
    const attributes = [
      'bot_id',
      'chunk_id',
      'embedding',
      'filename',
      'file_size',
      'chunk_index',
      'created_at',
      'metadata',
      'doc_version',
      'version_chunks',
      'version_at',
      'expires_at',
      ...(options.withText ? ['text'] : []),
    ];
    const { from, below } = options.range ?? {};
    // A key condition takes one comparison of the sort key: [from, below) is BETWEEN from AND below with
    // the item at `below` itself (which the next range reads) left out.
    const range =
      from !== undefined && below !== undefined
        ? { condition: ' AND #chunk_id BETWEEN :from AND :below', values: { ':from': from, ':below': below } }
        : from !== undefined
          ? { condition: ' AND #chunk_id >= :from', values: { ':from': from } }
          : below !== undefined
            ? { condition: ' AND #chunk_id < :below', values: { ':below': below } }
            : { condition: '', values: {} };
    const pages = this.queryAll({
      TableName: this.options.table,
      KeyConditionExpression: `#bot_id = :bot${range.condition}`,
      ConsistentRead: options.consistent,
      ProjectionExpression: attributes.map((name) => `#${name}`).join(', '),
      ExpressionAttributeNames: Object.fromEntries(attributes.map((name) => [`#${name}`, name])),
      ExpressionAttributeValues: { ':bot': botId, ...range.values },
    });
    for await (const page of pages) {
      const items =
        from !== undefined && below !== undefined ? page.filter((item) => item.chunk_id !== below) : page;
      const chunks = toStoredChunks(items, options.onInvalid, { textRead: options.withText });
      if (chunks.length > 0) yield chunks;
    }
  }

  /** @throws Error when DynamoDB still leaves keys unprocessed after the last attempt. */
  async get(botId: string, chunkIds: string[], options: { consistent: boolean }): Promise<StoredChunk[]> {
    const keys = [...new Set(chunkIds)].map((chunkId) => ({ bot_id: botId, chunk_id: chunkId }));
    const items = await batchGetAll(this.client, this.options.table, keys, options, this.retry());
    return toStoredChunks(items);
  }

  private async *queryAll(input: QueryCommandInput): AsyncIterable<ChunkItem[]> {
    for await (const page of paginateQuery({ client: this.client }, input)) yield page.Items ?? [];
  }

  private async writeAll(requests: WriteRequest[], action: 'put' | 'delete'): Promise<void> {
    const { unwritten, refused } = await batchWriteAll(this.client, this.options.table, requests, {
      ...this.retry(),
      concurrency: this.writeConcurrency,
    });
    if (refused.length > 0) {
      const named = refused.map(({ request, reason }) => ({
        chunkId: String((request.PutRequest?.Item ?? request.DeleteRequest?.Key)?.chunk_id),
        reason,
      }));
      throw new ItemRefusedError(
        `DynamoDB refused ${named.length} of ${requests.length} items (${action}): ${named
          .slice(0, 3)
          .map((r) => `${r.chunkId}: ${r.reason}`)
          .join('; ')}`,
        named,
      );
    }
    if (unwritten.length > 0) {
      const names = unwritten.map(requestName);
      const shown = names.slice(0, 10).join(', ');
      const more = names.length > 10 ? ` and ${names.length - 10} more` : '';
      throw new WriteIncompleteError(
        `BatchWriteItem (${action}) left ${names.length} of ${requests.length} items unwritten after ${this.retryPolicy.maxAttempts} attempts: ${shown}${more}`,
        names,
      );
    }
  }

  private retry(): BatchRetry {
    return {
      policy: this.retryPolicy,
      ...(this.options.sleep === undefined ? {} : { sleep: this.options.sleep }),
    };
  }
}

/** What `documentChunkKeys` reads of an item (none of these is a DynamoDB reserved word). */
const KEY_ATTRIBUTES = [
  'chunk_id',
  'chunk_index',
  'created_at',
  'filename',
  'doc_version',
  'version_chunks',
  'version_at',
];

function requestName(request: WriteRequest): string {
  const key = request.PutRequest?.Item ?? request.DeleteRequest?.Key ?? {};
  return `${String(key.bot_id)}/${String(key.chunk_id)}`;
}

function addKey(keys: Map<string, DocumentChunkKey>, item: ChunkItem): void {
  if (typeof item.chunk_id !== 'string') return;
  const version = versionOfItem(item);
  keys.set(item.chunk_id, {
    chunk_id: item.chunk_id,
    chunk_index: typeof item.chunk_index === 'number' ? item.chunk_index : -1,
    ...(typeof item.created_at === 'string' ? { created_at: item.created_at } : {}),
    ...(version === undefined ? {} : { version }),
  });
}
