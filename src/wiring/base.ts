import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type Redis from 'ioredis';
import type { RedisCircuitBreaker } from '../adapters/redis/circuit-breaker';
import { GuardedSnapshotStore } from '../adapters/redis/guarded-snapshot-store';
import { RedisKeywordIndexStore } from '../adapters/redis/keyword-index-store';
import { RedisSnapshotStore } from '../adapters/redis/snapshot-store';
import { createDocumentClient, createDynamoDbClient, createRedisConnection } from '../clients';
import { type Config, loadConfig } from '../config';
import type { KeywordIndexStore, SnapshotStore } from '../ports';

/**
 * What every Lambda container builds once (module scope) and every entry point shares: the config, the
 * clients, the logger and metrics. Created on first use so that a test can set the environment first.
 */
export type BaseDeps = {
  config: Config;
  dynamodb: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  /** null when REDIS_URL is unset: no snapshot cache, search always reads DynamoDB. */
  redis: Redis | null;
  /** The one circuit breaker of `redis`, shared by search and the stream handler; null without Redis. */
  redisBreaker: RedisCircuitBreaker | null;
  logger: Logger;
  metrics: Metrics;
};

let base: BaseDeps | undefined;

export function baseDeps(): BaseDeps {
  if (base === undefined) {
    const config = loadConfig();
    const dynamodb = createDynamoDbClient(config);
    const logger = new Logger({ serviceName: 'ddb-vector-sync' });
    const redis = config.redisUrl === undefined ? null : createRedisConnection(config.redisUrl, logger);
    base = {
      config,
      dynamodb,
      documents: createDocumentClient(dynamodb),
      redis: redis?.client ?? null,
      redisBreaker: redis?.breaker ?? null,
      logger,
      metrics: new Metrics({ namespace: 'DdbVectorSync', serviceName: 'ddb-vector-sync' }),
    };
  }
  return base;
}

/** The Redis snapshot store behind the container's circuit breaker, or null without Redis. */
export function guardedSnapshotStore(base: BaseDeps): SnapshotStore | null {
  if (base.redis === null || base.redisBreaker === null) return null;
  return new GuardedSnapshotStore(
    new RedisSnapshotStore(base.redis, base.config.redisKeyPrefix),
    base.redisBreaker,
  );
}

/** The bots' Redis keyword indexes behind the same circuit breaker, or undefined without Redis. */
export function guardedKeywordIndexStore(base: BaseDeps): KeywordIndexStore | undefined {
  const breaker = base.redisBreaker;
  if (base.redis === null || breaker === null) return undefined;
  const inner = new RedisKeywordIndexStore(base.redis, base.config.redisKeyPrefix);
  return {
    beginUpdate: (botId) => breaker.run(() => inner.beginUpdate(botId)),
    finishUpdate: (botId, token, changes) => breaker.run(() => inner.finishUpdate(botId, token, changes)),
    drop: (botId) => breaker.run(() => inner.drop(botId)),
    read: (botId, version, terms) => breaker.run(() => inner.read(botId, version, terms)),
    build: (botId, version, documents) => breaker.run(() => inner.build(botId, version, documents)),
  };
}
