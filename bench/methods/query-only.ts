import { type DynamoDBClient, QueryCommand, type QueryCommandOutput } from '@aws-sdk/client-dynamodb';

const ATTRIBUTES = [
  'bot_id',
  'chunk_id',
  'embedding',
  'filename',
  'file_size',
  'chunk_index',
  'created_at',
  'metadata',
];

/**
 * The read that our DynamoDB fallback makes (the same paginated, strongly consistent, projected Query as
 * ChunkStore.readBot without texts) and nothing else: no unmarshalling, no decoding, no scoring. Its time
 * is DynamoDB Local serving the pages plus the SDK parsing them; what (b) takes beyond it is ours.
 * Returns the number of items read.
 */
export async function queryPagesOnly(client: DynamoDBClient, table: string, botId: string): Promise<number> {
  let items = 0;
  let startKey: QueryCommandOutput['LastEvaluatedKey'];
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#bot_id = :bot',
        ConsistentRead: true,
        ProjectionExpression: ATTRIBUTES.map((name) => `#${name}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(ATTRIBUTES.map((name) => [`#${name}`, name])),
        ExpressionAttributeValues: { ':bot': { S: botId } },
        ExclusiveStartKey: startKey,
      }),
    );
    items += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}
