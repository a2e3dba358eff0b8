import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type Redis from 'ioredis';
import { createDocumentClient, createDynamoDbClient, createRedisClient } from '../clients';
import { type Config, loadConfig } from '../config';

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
  logger: Logger;
  metrics: Metrics;
};

let base: BaseDeps | undefined;

export function baseDeps(): BaseDeps {
  if (base === undefined) {
    const config = loadConfig();
    const dynamodb = createDynamoDbClient(config);
    base = {
      config,
      dynamodb,
      documents: createDocumentClient(dynamodb),
      redis: config.redisUrl === undefined ? null : createRedisClient(config.redisUrl),
      logger: new Logger({ serviceName: 'ddb-vector-sync' }),
      metrics: new Metrics({ namespace: 'DdbVectorSync', serviceName: 'ddb-vector-sync' }),
    };
  }
  return base;
}
