import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import Redis from 'ioredis';
import { type BreakerLog, RedisCircuitBreaker, redisTarget } from './adapters/redis/circuit-breaker';
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

/**
 * The Redis client. A command waits for at most one reconnection attempt, then fails, so that search
 * falls back to DynamoDB and the stream handler marks snapshots stale instead of waiting on a dead server.
 * Connection errors surface as failed commands (and, through `createRedisConnection`, as the circuit
 * breaker's one warning), so the client's `error` events are listened to here and never reach the
 * console as ioredis's "Unhandled error event" lines.
 */
export function createRedisClient(url: string): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // Sized for the largest reply: a cold read of a 100k-chunk snapshot moves ~150 MB and took over 5 s on a
    // loaded machine (the benchmark saw search fall back to DynamoDB). A hung Redis is caught sooner where it
    // matters: search's version check gives up after 1 s, the stream handler's snapshot update after 8 s.
    commandTimeout: 30_000,
    // Reconnection is also how an outage ends: a server that is back is found within a second.
    retryStrategy: (attempt) => Math.min(attempt * 200, 1000),
  });
  client.on('error', () => {});
  return client;
}

/** A Redis client and the circuit breaker every user of that client in the process shares. */
export type RedisConnection = { client: Redis; breaker: RedisCircuitBreaker };

/** The container's Redis client with its circuit breaker (see RedisCircuitBreaker), created once. */
export function createRedisConnection(url: string, log: BreakerLog): RedisConnection {
  const client = createRedisClient(url);
  const breaker = new RedisCircuitBreaker({ log, target: redisTarget(url) }).watch(client);
  return { client, breaker };
}
