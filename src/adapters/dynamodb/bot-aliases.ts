import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
} from '@aws-sdk/lib-dynamodb';
import type { BotAlias } from '../../domain/types';
import { ForbiddenError, NotFoundError } from '../../errors';
import type { BotAliases } from '../../ports';
import { ALIAS_BOT_INDEX } from '../../tables/definition';

/**
 * BotAliases on DynamoDB: one item per alias (`alias` the key, `bot_id` the target, `user_id` the owner).
 * Creating and moving an alias is one conditional PutItem on that item, so a reader of the item sees the
 * old target or the new one, never anything between. `bot-index` (bot_id, alias) lists a bot's aliases.
 */
export class DynamoBotAliases implements BotAliases {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(alias: string): Promise<BotAlias | undefined> {
    const { Item: item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { alias }, ConsistentRead: true }),
    );
    if (item === undefined) return undefined;
    return {
      alias: String(item.alias),
      bot_id: String(item.bot_id),
      user_id: String(item.user_id),
      updated_at: String(item.updated_at),
    };
  }

  async listFor(botId: string): Promise<string[]> {
    const names: string[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.table,
        IndexName: ALIAS_BOT_INDEX,
        KeyConditionExpression: 'bot_id = :bot',
        ExpressionAttributeValues: { ':bot': botId },
      },
    );
    for await (const page of pages) for (const item of page.Items ?? []) names.push(String(item.alias));
    return names.sort();
  }

  async put(alias: string, botId: string, userId: string): Promise<{ created: boolean }> {
    try {
      const { Attributes: before } = await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: { alias, bot_id: botId, user_id: userId, updated_at: this.now().toISOString() },
          // A new alias, or the caller's own: another user's alias is never taken over.
          ConditionExpression: 'attribute_not_exists(alias) OR user_id = :user',
          ExpressionAttributeValues: { ':user': userId },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { created: before === undefined };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new ForbiddenError(`alias ${alias} is not yours`, { cause: error });
      }
      throw error;
    }
  }

  async remove(alias: string, userId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { alias },
          ConditionExpression: 'attribute_exists(alias) AND user_id = :user',
          ExpressionAttributeValues: { ':user': userId },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Refused: tell a missing alias from another user's.
      const current = await this.get(alias);
      if (current === undefined) throw new NotFoundError(`alias ${alias} does not exist`, { cause: error });
      throw new ForbiddenError(`alias ${alias} is not yours`, { cause: error });
    }
  }
}
