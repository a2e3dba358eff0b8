import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  paginateScan,
  type QueryCommandInput,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CountsDoctorStore, RecordedCounts, TrueDocument } from '../../ports';

export type DynamoCountsDoctorOptions = {
  vectorEmbeddingsTable: string;
  botCollectionsTable: string;
  botDocumentsTable: string;
  defaultEmbeddingDimension: number;
};

type Item = Record<string, unknown>;

const numberOr = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;

/**
 * The doctor's reads and repairs on DynamoDB. Repairs are conditioned so that they compose with the stream
 * handler's own transactions: a document's count is only replaced if it still holds what the doctor
 * compared, and the bot's totals move by deltas only while nothing else changed them (`updated_at`, which
 * every counts transaction sets, is the witness).
 */
export class DynamoCountsDoctorStore implements CountsDoctorStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoCountsDoctorOptions,
  ) {}

  async *bots(): AsyncIterable<string[]> {
    const pages = paginateScan(
      { client: this.client },
      { TableName: this.options.botCollectionsTable, ProjectionExpression: 'bot_id' },
    );
    for await (const page of pages) {
      const ids = (page.Items ?? []).map((item) => String(item.bot_id));
      if (ids.length > 0) yield ids;
    }
  }

  async trueDocuments(botId: string): Promise<Map<string, TrueDocument>> {
    const documents = new Map<string, TrueDocument>();
    // Keys, filename, size and date only: a recount never reads embeddings or texts.
    for await (const item of this.query({
      TableName: this.options.vectorEmbeddingsTable,
      KeyConditionExpression: 'bot_id = :bot',
      ConsistentRead: true,
      ProjectionExpression: 'chunk_id, filename, file_size, created_at',
      ExpressionAttributeValues: { ':bot': botId },
    })) {
      const filename = typeof item.filename === 'string' ? item.filename : '';
      const known = documents.get(filename);
      const createdAt = typeof item.created_at === 'string' ? item.created_at : '';
      if (known === undefined) {
        documents.set(filename, {
          filename,
          chunks: 1,
          fileSize: numberOr(item.file_size, 0),
          createdAt,
        });
      } else {
        known.chunks += 1;
        if (createdAt !== '' && (known.createdAt === '' || createdAt < known.createdAt)) {
          known.createdAt = createdAt;
        }
      }
    }
    return documents;
  }

  async recordedCounts(botId: string): Promise<RecordedCounts> {
    const { Item: item } = await this.client.send(
      new GetCommand({
        TableName: this.options.botCollectionsTable,
        Key: { bot_id: botId },
        ConsistentRead: true,
        ProjectionExpression:
          'bot_id, total_chunks, total_documents, snapshot_epoch, embedding_dimension, updated_at',
      }),
    );
    return {
      exists: item !== undefined,
      totalChunks: numberOr(item?.total_chunks, 0),
      totalDocuments: numberOr(item?.total_documents, 0),
      snapshotEpoch: numberOr(item?.snapshot_epoch, 0),
      embeddingDimension: numberOr(item?.embedding_dimension, this.options.defaultEmbeddingDimension),
      updatedAt: typeof item?.updated_at === 'string' ? item.updated_at : undefined,
    };
  }

  async recordedDocuments(botId: string): Promise<Map<string, number>> {
    const documents = new Map<string, number>();
    for await (const item of this.query({
      TableName: this.options.botDocumentsTable,
      KeyConditionExpression: 'bot_id = :bot',
      ConsistentRead: true,
      ProjectionExpression: 'filename, chunk_count',
      ExpressionAttributeValues: { ':bot': botId },
    })) {
      documents.set(String(item.filename), numberOr(item.chunk_count, 0));
    }
    return documents;
  }

  async fixDocument(botId: string, document: TrueDocument, expected: number): Promise<boolean> {
    const key = { bot_id: botId, filename: document.filename };
    const now = new Date().toISOString();
    const condition =
      expected > 0
        ? { ConditionExpression: 'chunk_count = :expected', values: { ':expected': expected } }
        : {
            ConditionExpression: 'attribute_not_exists(chunk_count) OR chunk_count = :expected',
            values: { ':expected': 0 },
          };
    const documentWrite =
      document.chunks === 0
        ? {
            Delete: {
              TableName: this.options.botDocumentsTable,
              Key: key,
              ConditionExpression: condition.ConditionExpression,
              ExpressionAttributeValues: condition.values,
            },
          }
        : {
            Update: {
              TableName: this.options.botDocumentsTable,
              Key: key,
              UpdateExpression:
                'SET chunk_count = :count, file_size = :size, created_at = if_not_exists(created_at, :created), updated_at = :now',
              ConditionExpression: condition.ConditionExpression,
              ExpressionAttributeValues: {
                ...condition.values,
                ':count': document.chunks,
                ':size': document.fileSize,
                ':created': document.createdAt,
                ':now': now,
              },
            },
          };
    const documentsDelta = (document.chunks > 0 ? 1 : 0) - (expected > 0 ? 1 : 0);
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            documentWrite,
            { Update: this.totalsUpdate(botId, document.chunks - expected, documentsDelta, now) },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof TransactionCanceledException) return false;
      throw error;
    }
  }

  async fixTotals(
    botId: string,
    delta: { chunks: number; documents: number },
    expectedUpdatedAt: string | undefined,
  ): Promise<boolean> {
    const update = this.totalsUpdate(botId, delta.chunks, delta.documents, new Date().toISOString());
    try {
      await this.client.send(
        new UpdateCommand({
          ...update,
          ConditionExpression:
            expectedUpdatedAt === undefined ? 'attribute_not_exists(updated_at)' : 'updated_at = :expected',
          ExpressionAttributeValues: {
            ...update.ExpressionAttributeValues,
            ...(expectedUpdatedAt === undefined ? {} : { ':expected': expectedUpdatedAt }),
          },
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async bumpSnapshotEpoch(botId: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.options.botCollectionsTable,
        Key: { bot_id: botId },
        UpdateExpression: 'ADD snapshot_epoch :one',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  /**
   * An ADD, so a counts transaction of the stream reading the version before it loses its condition
   * (`data_version = :previous`), reads again and records its changes under the version after this one.
   */
  async bumpDataVersion(botId: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.options.botCollectionsTable,
        Key: { bot_id: botId },
        UpdateExpression: 'ADD data_version :one',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  /** The bot's totals moved by deltas, as the stream handler moves them (owner fields only defaulted). */
  private totalsUpdate(botId: string, chunks: number, documents: number, now: string) {
    return {
      TableName: this.options.botCollectionsTable,
      Key: { bot_id: botId },
      UpdateExpression:
        'SET updated_at = :now, created_at = if_not_exists(created_at, :now), ' +
        'embedding_dimension = if_not_exists(embedding_dimension, :dim), #status = if_not_exists(#status, :active) ' +
        'ADD total_chunks :chunks, total_documents :documents',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':now': now,
        ':dim': this.options.defaultEmbeddingDimension,
        ':active': 'active',
        ':chunks': chunks,
        ':documents': documents,
      } as Record<string, unknown>,
    };
  }

  private async *query(input: QueryCommandInput): AsyncIterable<Item> {
    for await (const page of paginateQuery({ client: this.client }, input)) yield* page.Items ?? [];
  }
}
