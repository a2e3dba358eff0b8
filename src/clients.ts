import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import Redis from 'ioredis';
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

/** Plain JavaScript values in and out; Binary attributes come back as Uint8Array. */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
}

/**
 * The Redis client. A command waits for at most one reconnection attempt, then fails, so that search
 * falls back to DynamoDB and the stream handler marks snapshots stale instead of waiting on a dead server.
 */
export function createRedisClient(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // Sized for the largest reply: a cold read of a 100k-chunk snapshot moves ~150 MB and took over 5 s on a
    // loaded machine (the benchmark saw search fall back to DynamoDB). A hung Redis is caught sooner where it
    // matters: search's version check gives up after 1 s, the stream handler's snapshot update after 8 s.
    commandTimeout: 30_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
}
