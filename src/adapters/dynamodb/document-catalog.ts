import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { checkKey, MAX_FILENAME_BYTES } from '../../contracts/dynamo-limits';
import { epochSeconds, isExpired } from '../../domain/expiry';
import type { DocumentSummary } from '../../domain/types';
import { ValidationError } from '../../errors';

/** One page of a bot's documents; `nextCursor` is absent on the last page. */
export type DocumentPage = { documents: DocumentSummary[]; nextCursor?: string };

/**
 * A bot's documents as BotDocuments summarises them (maintained by the stream handler): one item per
 * document with at least one chunk, so listing costs O(documents), never a read of the chunks.
 */
export class DynamoDocumentCatalog {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * One page of the bot's documents in filename order.
   * @param options.limit at most this many documents (1 to 1000, default 100)
   * @param options.cursor the `nextCursor` of the previous page
   * @throws ValidationError naming `cursor` or `limit` when either is malformed
   */
  async list(botId: string, options: { limit?: number; cursor?: string } = {}): Promise<DocumentPage> {
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new ValidationError('limit must be an integer from 1 to 1000', 'limit');
    }
    const startAfter = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const documents: DocumentSummary[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined =
      startAfter === undefined ? undefined : { bot_id: botId, filename: startAfter };
    // A page of `limit` items can come back short (1 MB per response), so keep reading until full.
    do {
      const response = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'bot_id = :bot',
          ExpressionAttributeValues: { ':bot': botId },
          ExclusiveStartKey: exclusiveStartKey,
          Limit: limit - documents.length,
        }),
      );
      // A document whose every chunk has expired is gone for search; DynamoDB's TTL removes it later.
      const now = epochSeconds(this.now());
      for (const item of response.Items ?? []) {
        const summary = toSummary(item);
        if (!isExpired(summary.expires_at, now)) documents.push(summary);
      }
      exclusiveStartKey = response.LastEvaluatedKey;
    } while (exclusiveStartKey !== undefined && documents.length < limit);
    const last = documents[documents.length - 1];
    return exclusiveStartKey === undefined || last === undefined
      ? { documents }
      : { documents, nextCursor: encodeCursor(last.filename) };
  }

  /** Every document of the bot, page by page. */
  async *all(botId: string, pageSize = 1000): AsyncIterable<DocumentSummary[]> {
    let cursor: string | undefined;
    do {
      const page = await this.list(botId, { limit: pageSize, ...(cursor === undefined ? {} : { cursor }) });
      if (page.documents.length > 0) yield page.documents;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }
}

function toSummary(item: Record<string, unknown>): DocumentSummary {
  return {
    filename: String(item.filename),
    chunk_count: Number(item.chunk_count ?? 0),
    file_size: Number(item.file_size ?? 0),
    created_at: String(item.created_at ?? ''),
    updated_at: String(item.updated_at ?? ''),
    ...(typeof item.expires_at === 'number' ? { expires_at: item.expires_at } : {}),
  };
}

function encodeCursor(filename: string): string {
  return Buffer.from(JSON.stringify({ f: filename }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const f = typeof parsed === 'object' && parsed !== null ? (parsed as { f?: unknown }).f : undefined;
    // The filename becomes ExclusiveStartKey's sort key: DynamoDB refuses an empty or oversized one.
    if (typeof f === 'string') {
      checkKey(f, 'cursor', MAX_FILENAME_BYTES);
      return f;
    }
  } catch {
    // Not base64 JSON, or a filename no page could end at: the error below says so.
  }
  throw new ValidationError('cursor is not one this API returned', 'cursor');
}
