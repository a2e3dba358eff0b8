import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from './config';

/**
 * The DynamoDB client for a configuration. A custom endpoint (DynamoDB Local, LocalStack) without
 * AWS credentials in the environment gets placeholder ones, because the local servers ignore them.
 */
export function createDynamoDbClient(config: Config): DynamoDBClient {
  const local = config.dynamodbEndpoint !== undefined && process.env.AWS_ACCESS_KEY_ID === undefined;
  return new DynamoDBClient({
    region: config.region,
    ...(config.dynamodbEndpoint === undefined ? {} : { endpoint: config.dynamodbEndpoint }),
    ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

/**
 * Plain JavaScript values in and out; Binary attributes come back as Uint8Array. Every number is read as
 * a JavaScript number: the SDK's default throws for a whole page on one value beyond 2^53 (1E+30 "can't be
 * converted to BigInt"), which another writer of the table may store; readers then judge the value.
 */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: (value: string) => Number(value) },
  });
}
