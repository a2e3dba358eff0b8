import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { checkKey, MAX_BOT_ID_BYTES } from '../../contracts/dynamo-limits';
import type { BotCollection, BotStatus } from '../../domain/types';
import { ConflictError, ValidationError } from '../../errors';
import type { BotRegistry, BotSettings, OwnedBotsPage } from '../../ports';
import { OWNER_INDEX } from '../../tables/definition';
import { batchGetAll } from './batch-calls';

export type DynamoBotRegistryOptions = {
  /** The BotCollections table's deployed name. */
  table: string;
  /** embedding_dimension of a bot created without one. */
  defaultEmbeddingDimension: number;
  /** Injected in tests; the wall clock otherwise. */
  now?: () => Date;
};

type Item = Record<string, unknown>;

const statuses: readonly BotStatus[] = ['active', 'inactive', 'deleting', 'deleted'];

/**
 * The owner's fields of BotCollections on DynamoDB. Every write is one UpdateItem that touches only the
 * fields this side owns (user_id, name, status, embedding_dimension); created_at and updated_at are
 * only ever set with if_not_exists (but when a deleted bot is created again), and the counts and stream
 * bookkeeping (total_chunks, total_documents, stream_seq) are never written here, so a concurrent stream
 * batch and an owner's update cannot undo each other. snapshot_epoch is only ever moved on with ADD,
 * which commutes with the stream handler's own ADDs.
 */
export class DynamoBotRegistry implements BotRegistry {
  private readonly now: () => Date;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: DynamoBotRegistryOptions,
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** The bot's record (strongly consistent), or undefined when it has none. */
  async get(botId: string): Promise<BotCollection | undefined> {
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.options.table, Key: { bot_id: botId }, ConsistentRead: true }),
    );
    return item === undefined ? undefined : this.toBotCollection(item);
  }

  /**
   * Reads a page of keys from the owner index, then the records themselves (strongly consistent, so the
   * counts are the table's, not the index's). A bot whose record went between the two reads is left out.
   */
  async listOwned(userId: string, page: { limit: number; cursor?: string }): Promise<OwnedBotsPage> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const ids: string[] = [];
    let startKey: Record<string, unknown> | undefined =
      after === undefined ? undefined : { user_id: userId, bot_id: after };
    // A page of `limit` keys can come back short (1 MB per response), so keep reading until full.
    do {
      const response = await this.client.send(
        new QueryCommand({
          TableName: this.options.table,
          IndexName: OWNER_INDEX,
          KeyConditionExpression: 'user_id = :user',
          ExpressionAttributeValues: { ':user': userId },
          ExclusiveStartKey: startKey,
          Limit: page.limit - ids.length,
        }),
      );
      for (const item of response.Items ?? []) ids.push(String(item.bot_id));
      startKey = response.LastEvaluatedKey;
    } while (startKey !== undefined && ids.length < page.limit);
    const records = await this.getMany(ids);
    const bots = ids.flatMap((id) => {
      const record = records.get(id);
      return record === undefined || record.user_id !== userId ? [] : [record];
    });
    const last = ids[ids.length - 1];
    return startKey === undefined || last === undefined ? { bots } : { bots, nextCursor: encodeCursor(last) };
  }

  /** The named records (BatchGetItem, consistent, every key). */
  private async getMany(botIds: string[]): Promise<Map<string, BotCollection>> {
    const keys = botIds.map((bot_id) => ({ bot_id }));
    const items = await batchGetAll(this.client, this.options.table, keys, { consistent: true });
    return new Map(items.map((item) => [String(item.bot_id), this.toBotCollection(item)]));
  }

  async ensure(botId: string, init: BotSettings & { user_id?: string }): Promise<BotCollection> {
    const sets = new Assignments(this.now().toISOString());
    sets.ifNotExists('status', 'active');
    sets.ifNotExists(
      'embedding_dimension',
      init.embedding_dimension ?? this.options.defaultEmbeddingDimension,
    );
    if (init.user_id !== undefined) sets.ifNotExists('user_id', init.user_id);
    if (init.name !== undefined) sets.ifNotExists('name', init.name);
    return this.update(botId, sets);
  }

  /** @throws ConflictError when another user owns the bot, or it is deleted or being deleted. */
  async putOwned(botId: string, userId: string, settings: BotSettings): Promise<BotCollection> {
    const sets = new Assignments(this.now().toISOString());
    sets.set('user_id', userId);
    if (settings.name !== undefined) sets.set('name', settings.name);
    if (settings.bm25_k1 !== undefined) sets.set('bm25_k1', settings.bm25_k1);
    if (settings.bm25_b !== undefined) sets.set('bm25_b', settings.bm25_b);
    if (settings.embedding_dimension !== undefined)
      sets.set('embedding_dimension', settings.embedding_dimension);
    else sets.ifNotExists('embedding_dimension', this.options.defaultEmbeddingDimension);
    sets.ifNotExists('status', 'active');
    try {
      return await this.update(botId, sets, {
        ConditionExpression:
          '(attribute_not_exists(#user_id) OR #user_id = :user_id) AND ' +
          '(attribute_not_exists(#status) OR NOT #status IN (:deleting, :deleted))',
        extraValues: { ':deleting': 'deleting', ':deleted': 'deleted' },
      });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw await this.conflict(botId, error);
      throw error;
    }
  }

  /** @throws ConflictError when the bot is not deleted, or another user owned it. */
  async recreate(botId: string, userId: string, settings: BotSettings): Promise<BotCollection> {
    const now = this.now().toISOString();
    const names: Record<string, string> = { '#status': 'status', '#user_id': 'user_id' };
    const values: Item = {
      ':user_id': userId,
      ':active': 'active',
      ':deleted': 'deleted',
      ':now': now,
      ':one': 1,
      ':dim': settings.embedding_dimension ?? this.options.defaultEmbeddingDimension,
    };
    const sets = [
      '#user_id = :user_id',
      '#status = :active',
      'created_at = :now',
      'updated_at = :now',
      'embedding_dimension = :dim',
    ];
    // Settings of the bot's former life go unless given again.
    const removes: string[] = [];
    for (const field of ['name', 'bm25_k1', 'bm25_b'] as const) {
      names[`#${field}`] = field;
      const value = settings[field];
      if (value === undefined) removes.push(`#${field}`);
      else {
        values[`:${field}`] = value;
        sets.push(`#${field} = :${field}`);
      }
    }
    const expression = [
      `SET ${sets.join(', ')}`,
      ...(removes.length > 0 ? [`REMOVE ${removes.join(', ')}`] : []),
      'ADD snapshot_epoch :one',
    ].join(' ');
    try {
      const { Attributes: item } = await this.client.send(
        new UpdateCommand({
          TableName: this.options.table,
          Key: { bot_id: botId },
          UpdateExpression: expression,
          ConditionExpression:
            '#status = :deleted AND (attribute_not_exists(#user_id) OR #user_id = :user_id)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return this.toBotCollection(item ?? { bot_id: botId });
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw await this.conflict(botId, error);
      throw error;
    }
  }

  async beginDelete(botId: string): Promise<boolean> {
    return this.conditionalStatus(botId, 'deleting', 'attribute_exists(bot_id)');
  }

  /** Does nothing for a bot without a record (there is nothing to mark). */
  async markDeleted(botId: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.options.table,
          Key: { bot_id: botId },
          UpdateExpression: 'SET #status = :status ADD snapshot_epoch :one',
          ConditionExpression: 'attribute_exists(bot_id)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': 'deleted', ':one': 1 },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /** Why a conditional owner write failed, read back: another owner, or a deleted bot. */
  private async conflict(botId: string, cause: unknown): Promise<ConflictError> {
    const bot = await this.get(botId);
    if (bot?.status === 'deleting') {
      return new ConflictError(`bot ${botId} is being deleted; send this again once the delete answered`, {
        cause,
      });
    }
    if (bot?.status === 'deleted') return new ConflictError(`bot ${botId} was deleted`, { cause });
    if (bot?.user_id !== undefined) {
      return new ConflictError(`bot ${botId} belongs to another user`, { cause });
    }
    return new ConflictError(`bot ${botId} changed meanwhile; send this again`, { cause });
  }

  private async conditionalStatus(
    botId: string,
    status: BotStatus,
    condition: string,
    values: Item = {},
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.options.table,
          Key: { bot_id: botId },
          UpdateExpression: 'SET #status = :status',
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': status, ...values },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  private async update(
    botId: string,
    sets: Assignments,
    extra: { ConditionExpression?: string; extraValues?: Item } = {},
  ): Promise<BotCollection> {
    const { Attributes: item } = await this.client.send(
      new UpdateCommand({
        TableName: this.options.table,
        Key: { bot_id: botId },
        UpdateExpression: sets.expression(),
        ExpressionAttributeNames: sets.names,
        ExpressionAttributeValues: { ...sets.values, ...extra.extraValues },
        ReturnValues: 'ALL_NEW',
        ...(extra.ConditionExpression === undefined
          ? {}
          : { ConditionExpression: extra.ConditionExpression }),
      }),
    );
    return this.toBotCollection(item ?? { bot_id: botId });
  }

  private toBotCollection(item: Item): BotCollection {
    const now = this.now().toISOString();
    const status = statuses.find((s) => s === item.status) ?? 'active';
    const bot: BotCollection = {
      bot_id: String(item.bot_id),
      total_chunks: numberOr(item.total_chunks, 0),
      total_documents: numberOr(item.total_documents, 0),
      embedding_dimension: numberOr(item.embedding_dimension, this.options.defaultEmbeddingDimension),
      created_at: typeof item.created_at === 'string' ? item.created_at : now,
      updated_at: typeof item.updated_at === 'string' ? item.updated_at : now,
      status,
    };
    if (typeof item.user_id === 'string') bot.user_id = item.user_id;
    if (typeof item.name === 'string') bot.name = item.name;
    if (typeof item.snapshot_epoch === 'number') bot.snapshot_epoch = item.snapshot_epoch;
    if (typeof item.data_version === 'number') bot.data_version = item.data_version;
    if (typeof item.bm25_k1 === 'number') bot.bm25_k1 = item.bm25_k1;
    if (typeof item.bm25_b === 'number') bot.bm25_b = item.bm25_b;
    return bot;
  }
}

function encodeCursor(botId: string): string {
  return Buffer.from(JSON.stringify({ b: botId }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const b = typeof parsed === 'object' && parsed !== null ? (parsed as { b?: unknown }).b : undefined;
    // The bot id becomes ExclusiveStartKey's sort key: DynamoDB refuses an empty or oversized one.
    if (typeof b === 'string') {
      checkKey(b, 'cursor', MAX_BOT_ID_BYTES);
      return b;
    }
  } catch {
    // Not base64 JSON, or an id no page could end at: the error below says so.
  }
  throw new ValidationError('cursor is not one this API returned', 'cursor');
}

const numberOr = (value: unknown, fallback: number): number =>
  typeof value === 'number' && Number.isFinite(value) ? value : fallback;

/** The SET clauses of one UpdateItem; created_at and updated_at are always defaulted, never overwritten. */
class Assignments {
  readonly names: Record<string, string> = {};
  readonly values: Item = {};
  private readonly clauses: string[] = [];

  constructor(now: string) {
    this.ifNotExists('created_at', now);
    this.ifNotExists('updated_at', now);
  }

  set(field: string, value: unknown): void {
    this.names[`#${field}`] = field;
    this.values[`:${field}`] = value;
    this.clauses.push(`#${field} = :${field}`);
  }

  ifNotExists(field: string, value: unknown): void {
    this.names[`#${field}`] = field;
    this.values[`:${field}`] = value;
    this.clauses.push(`#${field} = if_not_exists(#${field}, :${field})`);
  }

  expression(): string {
    return `SET ${this.clauses.join(', ')}`;
  }
}
