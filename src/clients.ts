import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from './config';

/**
 * How long the DynamoDB client waits for a connection, and for a socket to show any sign of life while a
 * request is under way. Without them a request whose answer never comes (a connection dropped without a
 * reset) waits for as long as the process lives; with them it fails with a TimeoutError, which the SDK
 * retries as it retries a dropped connection. The idle limit is far above any answer DynamoDB gives
 * (milliseconds; a 1 MB page in well under a second) and above DynamoDB Local's slowest pages on a loaded
 * machine, and past API Gateway's 29 s: an HTTP request has been answered by then anyway.
 */
export const DYNAMODB_TIMEOUTS = { connectionTimeout: 3_000, requestTimeout: 30_000 };

/**
 * The DynamoDB client for a configuration. A custom endpoint (DynamoDB Local, LocalStack) without
 * AWS credentials in the environment gets placeholder ones, because the local servers ignore them.
 */
export function createDynamoDbClient(
  config: Config,
  timeouts: { connectionTimeout: number; requestTimeout: number } = DYNAMODB_TIMEOUTS,
): DynamoDBClient {
  const local = config.dynamodbEndpoint !== undefined && process.env.AWS_ACCESS_KEY_ID === undefined;
  return new DynamoDBClient({
    region: config.region,
    // Without throwOnRequestTimeout the handler only logs a warning when the idle limit passes.
    requestHandler: { ...timeouts, throwOnRequestTimeout: true },
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
