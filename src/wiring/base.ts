import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type Redis from 'ioredis';
import type { RedisCircuitBreaker } from '../adapters/redis/circuit-breaker';
import { GuardedSnapshotStore } from '../adapters/redis/guarded-snapshot-store';
import { RedisSnapshotStore } from '../adapters/redis/snapshot-store';
import { createDocumentClient, createDynamoDbClient, createRedisConnection } from '../clients';
import { type Config, loadConfig } from '../config';
import type { SnapshotStore } from '../ports';

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
