import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, type MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createDynamoDbClient } from '../clients';
import { type Config, loadConfig } from '../config';

/** The part of Powertools `Metrics` the handlers use (it fits as is); the dev stack passes one that prints nothing. */
export type MetricsSink = {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
  publishStoredMetrics(): unknown;
};

/**
 * What every entry point shares: the config, the DynamoDB clients, the logger and metrics. Functions that
 * never touch Redis are wired from this alone, so their bundles hold no Redis client (`BaseDeps` adds it).
 */
export type DynamoBaseDeps = {
  config: Config;
  dynamodb: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  logger: Logger;
  metrics: MetricsSink;
};

/** Options of the deps builders: `logger` and `metrics` default to Powertools' (configured by POWERTOOLS_*). */
export type BaseOptions = { logger?: Logger; metrics?: MetricsSink; tracer?: Tracer };

/**
 * Builds the DynamoDB clients for `config`. With `tracer`, every DynamoDB call becomes an X-Ray subsegment
 * (when tracing is on).
 */
export function createDynamoBaseDeps(config: Config, options: BaseOptions = {}): DynamoBaseDeps {
  const dynamodb = createDynamoDbClient(config);
  options.tracer?.captureAWSv3Client(dynamodb);
  return {
    config,
    dynamodb,
    documents: createDocumentClient(dynamodb),
    logger: options.logger ?? new Logger({ serviceName: 'ddb-vector-sync' }),
    metrics: options.metrics ?? new Metrics({ namespace: 'DdbVectorSync', serviceName: 'ddb-vector-sync' }),
  };
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
 * The Lambda container's DynamoDB deps, from the environment (`loadConfig()`), built on first use so
 * that a configuration error becomes the handler's error response, not a failed cold start. Its Tracer
 * traces only where POWERTOOLS_TRACE_ENABLED is true (the `tracing` deploy parameter) and in Lambda.
 */
export const dynamoBaseDeps = once(() =>
  createDynamoBaseDeps(loadConfig(), { tracer: new Tracer({ serviceName: 'ddb-vector-sync' }) }),
);
