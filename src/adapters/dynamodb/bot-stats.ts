import { createHash } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DocumentState } from '../../domain/count-deltas';
import type { BotCountsState, BotStats, CountsApplyResult, CountsWrite, StreamClaim } from '../../ports';
import { batchGetAll } from './batch-calls';
import { changeLogIdOf } from './change-log';
import type { RetryPolicy } from './retry-unprocessed';

export type DynamoBotStatsOptions = {
  botCollectionsTable: string;
  botDocumentsTable: string;
  /**
   * StreamClaims: one item per bot and claim bucket (`${botId}#${bucket}`, see domain/stream-claims.ts)
   * holding the hashes of the counted records' eventIDs, expiring by TTL.
   */
  streamClaimsTable: string;
  /** embedding_dimension given to a bot the stream sees before anyone registered it. */
  defaultEmbeddingDimension: number;
  /** Retries of BatchGetItem's UnprocessedKeys (default: the write path's). */
  retryPolicy?: RetryPolicy;
  /** How long a claim is kept: longer than any redelivery (the stream keeps records 24 h). Default 25 h. */
  claimTtlSeconds?: number;
  /**
   * Whether each counts write records its chunk ids under the data_version it sets (the change log the
   * memory snapshot mode catches up from, change-log.ts). Off: data_version still moves by one per write.
   */
  recordChanges?: boolean;
};

/** The key of a claim item: buckets are per bot; the bot id spreads claims over partitions. */
export const claimIdOf = (botId: string, bucket: string): string => `${botId}#${bucket}`;

/**
 * What a claim item stores of a record: 8 bytes of the SHA-256 of its eventID (unique per stream), so
 * that 100 records fit an item under 1 KB. Two records of one bucket collide with odds of about n^2 / 2^65
 * for n records in it: 3e-14 for a bot changing 1,000 chunks within one second.
 */
export function claimHashOf(eventId: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(eventId).digest().subarray(0, 8));
}

const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

const numberOr = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;

/**
 * The stream handler's view of BotCollections, BotDocuments and StreamClaims on DynamoDB. Every record is
 * claimed (its eventID, conditioned on not being claimed yet) in the same transaction that changes the
 * counts, so a batch that is retried, bisected or delivered twice, or one bot's records arriving on several
 * shards at once, can never count a record twice or lose one. The bot's totals move by ADD; documents are
 * written as absolute counts conditioned on the count read. The owner's fields (user_id, name, status,
 * embedding_dimension) are only ever defaulted with if_not_exists, and a document's attributes other than
 * its count, size and dates are left as they are.
 */
export class DynamoBotStats implements BotStats {
  private readonly claimTtlSeconds: number;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoBotStatsOptions,
  ) {
    this.claimTtlSeconds = options.claimTtlSeconds ?? 25 * 3600;
  }

  async read(botId: string): Promise<BotCountsState> {
    const { Item: item } = await this.client.send(
      new GetCommand({
        TableName: this.options.botCollectionsTable,
        Key: { bot_id: botId },
        ConsistentRead: true,
        ProjectionExpression:
          'bot_id, snapshot_epoch, embedding_dimension, total_chunks, total_documents, data_version',
      }),
    );
    const dimension = item?.embedding_dimension;
    return {
      exists: item !== undefined,
      snapshotEpoch: numberOr(item?.snapshot_epoch, 0),
      embeddingDimension: typeof dimension === 'number' && dimension > 0 ? dimension : undefined,
      totalChunks: numberOr(item?.total_chunks, 0),
      totalDocuments: numberOr(item?.total_documents, 0),
      dataVersion: numberOr(item?.data_version, 0),
    };
  }

  async claimed(botId: string, claims: StreamClaim[]): Promise<Set<string>> {
    const buckets = [...new Set(claims.map((claim) => claim.bucket))];
    const found = await this.batchGet(
      this.options.streamClaimsTable,
      buckets.map((bucket) => ({ claim_id: claimIdOf(botId, bucket) })),
      'claim_id, ids',
    );
    const members = new Map<string, Set<string>>();
    for (const item of found) {
      const ids = item.ids instanceof Set ? [...(item.ids as Set<Uint8Array>)].map(hex) : [];
      members.set(String(item.claim_id), new Set(ids));
    }
    const claimed = new Set<string>();
    for (const claim of claims) {
      if (members.get(claimIdOf(botId, claim.bucket))?.has(hex(claimHashOf(claim.eventId)))) {
        claimed.add(claim.eventId);
      }
    }
    return claimed;
  }

  async readDocuments(botId: string, filenames: string[]): Promise<Map<string, DocumentState>> {
    const documents = new Map<string, DocumentState>();
    const keys = [...new Set(filenames)].map((filename) => ({ bot_id: botId, filename }));
    for (const item of await this.batchGet(this.options.botDocumentsTable, keys)) {
      if (typeof item.filename !== 'string') continue;
      documents.set(item.filename, {
        chunkCount: numberOr(item.chunk_count, 0),
        fileSize: numberOr(item.file_size, 0),
        createdAt: typeof item.created_at === 'string' ? item.created_at : '',
        expiresAt: typeof item.expires_at === 'number' ? item.expires_at : undefined,
      });
    }
    return documents;
  }

  async apply(botId: string, writes: CountsWrite[]): Promise<CountsApplyResult> {
    for (let index = 0; index < writes.length; index++) {
      const write = writes[index] as CountsWrite;
      try {
        await this.client.send(new TransactWriteCommand(this.transaction(botId, write)));
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        if (!isLostRace(error)) throw error;
        return { committed: index, conflict: true };
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

  /** Consistent BatchGetItem of any number of keys, retrying UnprocessedKeys with backoff. */
  private batchGet(table: string, keys: Record<string, unknown>[], projection?: string) {
    const read = { consistent: true, ...(projection === undefined ? {} : { projection }) };
    return batchGetAll(this.client, table, keys, read, { policy: this.options.retryPolicy });
  }

  /** The bot, each document, each claim item. */
  private transaction(botId: string, write: CountsWrite): TransactWriteCommandInput {
    const { botCollectionsTable, botDocumentsTable, streamClaimsTable, defaultEmbeddingDimension } =
      this.options;
    const record = this.options.recordChanges === true;
    const bumps = [
      ...(write.bumpSnapshotEpoch ? ['snapshot_epoch :one'] : []),
      ...(record ? [] : ['data_version :one']),
    ];
    const bot = {
      Update: {
        TableName: botCollectionsTable,
        Key: { bot_id: botId },
        // Deltas, not absolute values: another shard of the same bot may count at the same time, and the
        // claims below already make sure no record is added twice. Recording changes, data_version is set
        // to the next version only if it is still the one read: two writes can never record one version.
        UpdateExpression:
          'SET updated_at = :now, created_at = if_not_exists(created_at, :now), ' +
          'embedding_dimension = if_not_exists(embedding_dimension, :dim), ' +
          `#status = if_not_exists(#status, :active)${record ? ', data_version = :version' : ''} ` +
          `ADD total_chunks :chunks, total_documents :documents${bumps.map((bump) => `, ${bump}`).join('')}`,
        ...(record
          ? {
              ConditionExpression:
                write.dataVersion === 1
                  ? 'attribute_not_exists(data_version) OR data_version = :previous'
                  : 'data_version = :previous',
            }
          : {}),
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':chunks': write.totalChunksDelta,
          ':documents': write.totalDocumentsDelta,
          ':now': write.updatedAt,
          ':dim': defaultEmbeddingDimension,
          ':active': 'active',
          ...(bumps.length > 0 ? { ':one': 1 } : {}),
          ...(record ? { ':version': write.dataVersion, ':previous': write.dataVersion - 1 } : {}),
        },
      },
    };
    const documents = write.documents.map((doc) => {
      const key = { bot_id: botId, filename: doc.filename };
      // The count this write was computed from must still be there: another shard may have moved it.
      const condition =
        doc.expectedCount > 0
          ? { ConditionExpression: 'chunk_count = :expected', values: { ':expected': doc.expectedCount } }
          : {
              ConditionExpression: 'attribute_not_exists(chunk_count) OR chunk_count = :expected',
              values: { ':expected': 0 },
            };
      if (doc.chunkCount === 0) {
        return {
          Delete: {
            TableName: botDocumentsTable,
            Key: key,
            ConditionExpression: condition.ConditionExpression,
            ExpressionAttributeValues: condition.values,
          },
        };
      }
      // An Update, not a Put: attributes other writers keep on the document item are left alone.
      return {
        Update: {
          TableName: botDocumentsTable,
          Key: key,
          UpdateExpression:
            'SET chunk_count = :count, file_size = :size, created_at = :created, updated_at = :now' +
            (doc.expiresAt === undefined ? ' REMOVE expires_at' : ', expires_at = :expires'),
          ConditionExpression: condition.ConditionExpression,
          ExpressionAttributeValues: {
            ...condition.values,
            ':count': doc.chunkCount,
            ':size': doc.fileSize,
            ':created': doc.createdAt,
            ':now': write.updatedAt,
            ...(doc.expiresAt === undefined ? {} : { ':expires': doc.expiresAt }),
          },
        },
      };
    });
    const expiresAt = Math.floor(Date.parse(write.updatedAt) / 1000) + this.claimTtlSeconds;
    // Conditioned on none of the records being in the item yet: records of the same second that another
    // shard of the bot claims meanwhile do not cancel this write, a record claimed twice does.
    const claims = write.claimGroups.map((group) => {
      const hashes = group.eventIds.map(claimHashOf);
      const values: Record<string, unknown> = { ':ids': new Set(hashes), ':expires': expiresAt };
      for (const [index, hash] of hashes.entries()) values[`:c${index}`] = hash;
      return {
        Update: {
          TableName: streamClaimsTable,
          Key: { claim_id: claimIdOf(botId, group.bucket) },
          UpdateExpression: 'ADD ids :ids SET expires_at = :expires',
          ConditionExpression: `NOT (${hashes.map((_, index) => `contains(ids, :c${index})`).join(' OR ')})`,
          ExpressionAttributeValues: values,
        },
      };
    });
    const changes = record
      ? [
          {
            Put: {
              TableName: streamClaimsTable,
              Item: {
                claim_id: changeLogIdOf(botId, write.dataVersion),
                chunk_ids: new Set(write.chunkIds),
                expires_at: expiresAt,
              },
            },
          },
        ]
      : [];
    return { TransactItems: [bot, ...documents, ...claims, ...changes] };
  }
}

/**
 * Whether a cancelled counts transaction lost a race: a condition failed (a record claimed or a document's
 * count moved since read) or another transaction held one of its items. Anything else (throttling,
 * validation) is not a race: the caller throws.
 */
function isLostRace(error: TransactionCanceledException): boolean {
  const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
  return (
    codes.some((code) => code !== 'None') &&
    codes.every(
      (code) => code === 'None' || code === 'ConditionalCheckFailed' || code === 'TransactionConflict',
    )
  );
}
