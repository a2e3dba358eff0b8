import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { DocumentLeases, LeaseHolder } from '../../ports';

/**
 * DocumentLeases on DynamoDB: one item per document being written (same keys as BotDocuments, in a table
 * of its own so that the stream handler, which rewrites and deletes BotDocuments items, can never drop a
 * lease). Taken with a conditional PutItem, given back with a conditional DeleteItem; `expires_at` (epoch
 * seconds) lets DynamoDB's TTL remove a lease a crash left behind.
 */
export class DynamoDocumentLeases implements DocumentLeases {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly now: () => number = Date.now,
  ) {}

  async acquire(botId: string, filename: string, holder: LeaseHolder, ttlMs: number): Promise<boolean> {
    const now = this.now();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            bot_id: botId,
            filename,
            request: holder.request,
            token: holder.token,
            lease_until: now + ttlMs,
            expires_at: Math.ceil((now + ttlMs) / 1000) + 3600,
          },
          // Free, expired, or a resend of the same request taking it over.
          ConditionExpression: 'attribute_not_exists(bot_id) OR lease_until < :now OR #request = :request',
          ExpressionAttributeNames: { '#request': 'request' },
          ExpressionAttributeValues: { ':now': now, ':request': holder.request },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async release(botId: string, filename: string, token: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { bot_id: botId, filename },
          ConditionExpression: '#token = :token',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':token': token },
        }),
      );
    } catch (error) {
      // Expired and taken, or taken over by a resend: theirs now, leave it.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async inUse(botId: string): Promise<string[]> {
    const filenames: string[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.table,
        KeyConditionExpression: 'bot_id = :bot',
        FilterExpression: 'lease_until >= :now',
        ConsistentRead: true,
        ProjectionExpression: 'filename',
        ExpressionAttributeValues: { ':bot': botId, ':now': this.now() },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? [])
        if (typeof item.filename === 'string') filenames.push(item.filename);
    }
    return filenames;
  }
}
