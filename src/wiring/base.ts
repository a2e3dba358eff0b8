import type Redis from 'ioredis';
import type { RedisCircuitBreaker } from '../adapters/redis/circuit-breaker';
import { readOnce, ssmSecureString } from '../adapters/ssm/secure-string';
import type { Config } from '../config';
import { createRedisConnection } from '../redis-client';
import type { KeywordIndexStore, SnapshotStore } from '../snapshot';
import {
  GuardedKeywordIndexStore,
  GuardedSnapshotStore,
  RedisKeywordIndexStore,
  RedisSnapshotStore,
} from '../snapshot';
import {
  type BaseOptions,
  createDynamoBaseDeps,
  type DynamoBaseDeps,
  dynamoBaseDeps,
  once,
} from './dynamo-base';

/**
 * The DynamoDB deps plus the Redis client. A Lambda container builds it once (`baseDeps()`); tools and
 * tests build their own with `createBaseDeps(config)`.
 */
export type BaseDeps = DynamoBaseDeps & {
  /** null when REDIS_URL is unset: no snapshot cache, search always reads DynamoDB. */
  redis: Redis | null;
  /** The one circuit breaker of `redis`, shared by search and the stream handler; null without Redis. */
  redisBreaker: RedisCircuitBreaker | null;
};

/** `dynamo` with the Redis client of its config (none without REDIS_URL), its password read once from SSM when set. */
function withRedis(dynamo: DynamoBaseDeps): BaseDeps {
  const { redisUrl, redisPasswordParameter, region } = dynamo.config;
  const password =
    redisPasswordParameter === undefined
      ? undefined
      : readOnce(ssmSecureString(redisPasswordParameter, region));
  const redis = redisUrl === undefined ? null : createRedisConnection(redisUrl, dynamo.logger, password);
  return { ...dynamo, redis: redis?.client ?? null, redisBreaker: redis?.breaker ?? null };
}

/** Builds the clients for `config` (see `createDynamoBaseDeps` for the options). */
export function createBaseDeps(config: Config, options: BaseOptions = {}): BaseDeps {
  return withRedis(createDynamoBaseDeps(config, options));
}

/** Closes the clients of deps built by a tool or test (a Lambda container never closes its own). */
export function closeBaseDeps(base: BaseDeps): void {
  base.redis?.disconnect();
  base.dynamodb.destroy();
}

/** The Lambda container's deps: its `dynamoBaseDeps()` with a Redis client, built on first use. */
export const baseDeps = once(() => withRedis(dynamoBaseDeps()));

/** The Redis snapshot store behind the container's circuit breaker, or null without Redis. */
export function guardedSnapshotStore(base: BaseDeps): SnapshotStore | null {
  if (base.redis === null || base.redisBreaker === null) return null;
  return new GuardedSnapshotStore(
    new RedisSnapshotStore(base.redis, base.config.redisKeyPrefix),
    base.redisBreaker,
  );
}

/** The bots' Redis keyword indexes behind the same circuit breaker, or undefined without Redis. */
export function guardedKeywordIndexStore(
  base: BaseDeps,
  options: { heldIdBytes?: number } = {},
): KeywordIndexStore | undefined {
  if (base.redis === null || base.redisBreaker === null) return undefined;
  return new GuardedKeywordIndexStore(
    new RedisKeywordIndexStore(base.redis, base.config.redisKeyPrefix, options),
    base.redisBreaker,
  );
}
