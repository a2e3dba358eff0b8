import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, type MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type Redis from 'ioredis';
import type { RedisCircuitBreaker } from '../adapters/redis/circuit-breaker';
import { GuardedSnapshotStore } from '../adapters/redis/guarded-snapshot-store';
import { RedisKeywordIndexStore } from '../adapters/redis/keyword-index-store';
import { RedisSnapshotStore } from '../adapters/redis/snapshot-store';
import { readOnce, ssmSecureString } from '../adapters/ssm/secure-string';
import { createDocumentClient, createDynamoDbClient, createRedisConnection } from '../clients';
import { type Config, loadConfig } from '../config';
import type { KeywordIndexStore, SnapshotStore } from '../ports';

/** The part of Powertools `Metrics` the handlers use (it fits as is); the dev stack passes one that prints nothing. */
export type MetricsSink = {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
  publishStoredMetrics(): unknown;
};

/**
 * What every entry point shares: the config, the clients, the logger and metrics. A Lambda container
 * builds it once (`baseDeps()`); tools and tests build their own with `createBaseDeps(config)`.
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
  metrics: MetricsSink;
};

/**
 * Builds the clients for `config`; `logger` and `metrics` default to Powertools' (configured by
 * POWERTOOLS_*). With `tracer`, every DynamoDB call becomes an X-Ray subsegment (when tracing is on).
 */
export function createBaseDeps(
  config: Config,
  options: { logger?: Logger; metrics?: MetricsSink; tracer?: Tracer } = {},
): BaseDeps {
  const dynamodb = createDynamoDbClient(config);
  options.tracer?.captureAWSv3Client(dynamodb);
  const logger = options.logger ?? new Logger({ serviceName: 'ddb-vector-sync' });
  const password =
    config.redisPasswordParameter === undefined
      ? undefined
      : readOnce(ssmSecureString(config.redisPasswordParameter, config.region));
  const redis =
    config.redisUrl === undefined ? null : createRedisConnection(config.redisUrl, logger, password);
  return {
    config,
    dynamodb,
    documents: createDocumentClient(dynamodb),
    redis: redis?.client ?? null,
    redisBreaker: redis?.breaker ?? null,
    logger,
    metrics: options.metrics ?? new Metrics({ namespace: 'DdbVectorSync', serviceName: 'ddb-vector-sync' }),
  };
}

/** Closes the clients of deps built by a tool or test (a Lambda container never closes its own). */
export function closeBaseDeps(base: BaseDeps): void {
  base.redis?.disconnect();
  base.dynamodb.destroy();
}

/** Builds `make()` on the first call and hands out the same value after: wiring once per container. */
export function once<T>(make: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: make() };
    return built.value;
  };
}

/**
 * The Lambda container's dependencies, from the environment (`loadConfig()`), built on first use so
 * that a configuration error becomes the handler's error response, not a failed cold start. Its Tracer
 * traces only where POWERTOOLS_TRACE_ENABLED is true (the `tracing` deploy parameter) and in Lambda.
 */
export const baseDeps = once(() =>
  createBaseDeps(loadConfig(), { tracer: new Tracer({ serviceName: 'ddb-vector-sync' }) }),
);

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
    claimBuild: (botId) => breaker.run(() => inner.claimBuild(botId)),
    publishBuild: (botId, claim, version, documents) =>
      breaker.run(() => inner.publishBuild(botId, claim, version, documents)),
  };
}
