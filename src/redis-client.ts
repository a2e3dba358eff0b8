import Redis from 'ioredis';
import { type BreakerLog, RedisCircuitBreaker, redisTarget } from './adapters/redis/circuit-breaker';

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
