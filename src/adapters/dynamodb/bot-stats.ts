import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DocumentState } from '../../domain/count-deltas';
import type { BotCountsState, BotStats, CountsWrite } from '../../ports';

export type DynamoBotStatsOptions = {
  botCollectionsTable: string;
  botDocumentsTable: string;
  /** embedding_dimension given to a bot the stream sees before anyone registered it. */
  defaultEmbeddingDimension: number;
  /** Attempts for BatchGet UnprocessedKeys before giving up. */
  maxReadAttempts?: number;
};

/** TransactWriteItems takes at most 100 items: the bot's item plus this many documents. */
export const MAX_DOCUMENTS_PER_TRANSACTION = 99;

type Item = Record<string, unknown>;

const numberOr = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The stream handler's view of BotCollections and BotDocuments on DynamoDB. Counts are written as
 * absolute values inside one transaction conditioned on the bot's `stream_seq` watermark, so a batch
 * that is retried, bisected or delivered twice can never count a record twice; the owner's fields
 * (user_id, name, status, embedding_dimension) are only ever defaulted with if_not_exists.
 */
export class DynamoBotStats implements BotStats {
  private readonly maxReadAttempts: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoBotStatsOptions,
  ) {
    this.maxReadAttempts = options.maxReadAttempts ?? 8;
  }

  async read(botId: string): Promise<BotCountsState> {
    const { Item: item } = await this.client.send(
      new GetCommand({
        TableName: this.options.botCollectionsTable,
        Key: { bot_id: botId },
        ConsistentRead: true,
        ProjectionExpression:
          'bot_id, stream_seq, snapshot_epoch, embedding_dimension, total_chunks, total_documents',
      }),
    );
    const watermark = item?.stream_seq;
    const dimension = item?.embedding_dimension;
    return {
      exists: item !== undefined,
      watermark: typeof watermark === 'string' && watermark.length > 0 ? watermark : undefined,
      snapshotEpoch: numberOr(item?.snapshot_epoch, 0),
      embeddingDimension: typeof dimension === 'number' && dimension > 0 ? dimension : undefined,
      totalChunks: numberOr(item?.total_chunks, 0),
      totalDocuments: numberOr(item?.total_documents, 0),
    };
  }

  async readDocuments(botId: string, filenames: string[]): Promise<Map<string, DocumentState>> {
    const table = this.options.botDocumentsTable;
    const documents = new Map<string, DocumentState>();
    const unique = [...new Set(filenames)];
    for (let start = 0; start < unique.length; start += 100) {
      let keys: Item[] = unique.slice(start, start + 100).map((filename) => ({ bot_id: botId, filename }));
      for (let attempt = 1; keys.length > 0; attempt++) {
        if (attempt > this.maxReadAttempts) {
          throw new Error(`BotDocuments BatchGet left ${keys.length} keys unprocessed for bot ${botId}`);
        }
        if (attempt > 1) await sleep(Math.random() * Math.min(1000, 25 * 2 ** attempt));
        const response = await this.client.send(
          new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of response.Responses?.[table] ?? []) {
          if (typeof item.filename !== 'string') continue;
          documents.set(item.filename, {
            chunkCount: numberOr(item.chunk_count, 0),
            fileSize: numberOr(item.file_size, 0),
            createdAt: typeof item.created_at === 'string' ? item.created_at : '',
          });
        }
        keys = (response.UnprocessedKeys?.[table]?.Keys as Item[] | undefined) ?? [];
      }
    }
    return documents;
  }

  async apply(botId: string, writes: CountsWrite[]): Promise<{ committed: number; conflict: boolean }> {
    for (let index = 0; index < writes.length; index++) {
      const write = writes[index] as CountsWrite;
      try {
        await this.client.send(new TransactWriteCommand(this.transaction(botId, write)));
      } catch (error) {
        if (error instanceof TransactionCanceledException && isRetryableCancel(error)) {
          return { committed: index, conflict: true };
        }
        throw error;
      }
    }
    return { committed: writes.length, conflict: false };
  }

  async bumpSnapshotEpoch(botId: string, updatedAt: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.options.botCollectionsTable,
        Key: { bot_id: botId },
        UpdateExpression: `SET ${this.defaults()}, updated_at = :now ADD snapshot_epoch :one`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':now': updatedAt,
          ':one': 1,
          ':dim': this.options.defaultEmbeddingDimension,
          ':active': 'active',
          ':zero': 0,
        },
      }),
    );
  }

  /** Fields a bot gets when the stream creates its record; an existing value always wins. */
  private defaults(): string {
    return [
      'created_at = if_not_exists(created_at, :now)',
      'embedding_dimension = if_not_exists(embedding_dimension, :dim)',
      '#status = if_not_exists(#status, :active)',
      'total_chunks = if_not_exists(total_chunks, :zero)',
      'total_documents = if_not_exists(total_documents, :zero)',
    ].join(', ');
  }

  private transaction(botId: string, write: CountsWrite): TransactWriteCommandInput {
    const { botCollectionsTable, botDocumentsTable, defaultEmbeddingDimension } = this.options;
    const bot = {
      Update: {
        TableName: botCollectionsTable,
        Key: { bot_id: botId },
        UpdateExpression:
          'SET total_chunks = :chunks, total_documents = :documents, updated_at = :now, stream_seq = :seq, ' +
          'created_at = if_not_exists(created_at, :now), ' +
          'embedding_dimension = if_not_exists(embedding_dimension, :dim), ' +
          '#status = if_not_exists(#status, :active)' +
          (write.bumpSnapshotEpoch ? ' ADD snapshot_epoch :one' : ''),
        // The watermark must still be what this batch read: otherwise someone counted in between and
        // these absolute values are stale (the caller re-reads and recomputes).
        ConditionExpression:
          write.expectedWatermark === undefined
            ? 'attribute_not_exists(stream_seq)'
            : 'stream_seq = :expected',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':chunks': write.totalChunks,
          ':documents': write.totalDocuments,
          ':now': write.updatedAt,
          ':seq': write.watermark,
          ':dim': defaultEmbeddingDimension,
          ':active': 'active',
          ...(write.bumpSnapshotEpoch ? { ':one': 1 } : {}),
          ...(write.expectedWatermark === undefined ? {} : { ':expected': write.expectedWatermark }),
        },
      },
    };
    const documents = write.documents.map((doc) =>
      doc.chunkCount > 0
        ? {
            Put: {
              TableName: botDocumentsTable,
              Item: {
                bot_id: botId,
                filename: doc.filename,
                chunk_count: doc.chunkCount,
                file_size: doc.fileSize,
                created_at: doc.createdAt,
                updated_at: write.updatedAt,
              },
            },
          }
        : { Delete: { TableName: botDocumentsTable, Key: { bot_id: botId, filename: doc.filename } } },
    );
    return { TransactItems: [bot, ...documents] };
  }
}

/** A cancelled transaction worth recomputing: the watermark moved, or another transaction held an item. */
function isRetryableCancel(error: TransactionCanceledException): boolean {
  const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
  const relevant = codes.filter((code) => code !== 'None');
  return (
    relevant.length > 0 &&
    relevant.every((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict')
  );
}
