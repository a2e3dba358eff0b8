import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createDynamoDbClient } from '../src/clients';
import { type Config, loadConfig } from '../src/config';
import { ensureTables } from '../src/tables/definition';
import { type LocalStack, startLocalStack } from '../tools/local/stack';

/** The bench's own DynamoDB Local and redis-server, with clients and tables. */
export type BenchEnvironment = {
  stack: LocalStack;
  config: Config;
  dynamodb: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  close(): Promise<void>;
};

/**
 * Starts private services on free ports (never the ones in DYNAMODB_ENDPOINT / REDIS_URL: the bench
 * flushes Redis and fills tables), creates the tables, and points this process's environment at them
 * so that code wired through baseDeps() (the stream handler) talks to the same services.
 */
export async function startBenchEnvironment(log: (message: string) => void): Promise<BenchEnvironment> {
  const stack = await startLocalStack({}, log);
  const env = {
    DYNAMODB_ENDPOINT: stack.dynamodb.url,
    REDIS_URL: stack.redis.url,
    AWS_REGION: 'us-east-1',
    REDIS_KEY_PREFIX: 'bench',
    // The stream handler runs in this process: keep its logs and metrics off the bench's output.
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  Object.assign(process.env, env);
  const config = loadConfig({ ...process.env, ...env });
  const dynamodb = createDynamoDbClient(config);
  await ensureTables(dynamodb, config.tables);
  return {
    stack,
    config,
    dynamodb,
    documents: createDocumentClient(dynamodb),
    async close() {
      dynamodb.destroy();
      await stack.stop();
    },
  };
}
