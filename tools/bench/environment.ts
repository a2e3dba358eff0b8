import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { makeStreamSyncHandler } from '../../handlers/stream-sync';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { type Config, loadConfig } from '../../src/config';
import { ensureTables } from '../../src/tables/definition';
import { type BaseDeps, closeBaseDeps, createBaseDeps } from '../../src/wiring/base';
import { once } from '../../src/wiring/dynamo-base';
import { createStreamDeps } from '../../src/wiring/stream';
import { type LocalStack, startLocalStack } from '../local/stack';

/** The bench's own DynamoDB Local and redis-server, with clients, tables and the wired stream handler. */
export type BenchEnvironment = {
  stack: LocalStack;
  config: Config;
  /** The environment variables that point a child process (the memory suite's) at these services. */
  variables: Record<string, string>;
  dynamodb: DynamoDBClient;
  documents: DynamoDBDocumentClient;
  /** The stream handler's deps (its own clients and Redis breaker), built from `config`. */
  base: BaseDeps;
  /** handlers/stream-sync.ts's handler, built from its factory over `base`. */
  streamSync: ReturnType<typeof makeStreamSyncHandler>;
  close(): Promise<void>;
};

/**
 * Starts private services on free ports (never the ones in DYNAMODB_ENDPOINT / REDIS_URL: the bench
 * flushes Redis and fills tables), creates the tables, and wires the stream handler over them from its
 * factory. This process's environment is left as it was.
 */
export async function startBenchEnvironment(log: (message: string) => void): Promise<BenchEnvironment> {
  const stack = await startLocalStack({}, log);
  const variables = {
    DYNAMODB_ENDPOINT: stack.dynamodb.url,
    REDIS_URL: stack.redis.url,
    AWS_REGION: 'us-east-1',
    REDIS_KEY_PREFIX: 'bench',
  };
  const config = loadConfig({ ...process.env, ...variables });
  const dynamodb = createDynamoDbClient(config);
  await ensureTables(dynamodb, config.tables);
  // The stream handler runs in this process: keep its logs and metrics off the bench's output.
  const base = createBaseDeps(config, {
    logger: new Logger({ serviceName: 'ddb-vector-sync-bench', logLevel: 'ERROR' }),
    metrics: { addMetric: () => {}, publishStoredMetrics: () => {} },
  });
  return {
    stack,
    config,
    variables,
    dynamodb,
    documents: createDocumentClient(dynamodb),
    base,
    streamSync: makeStreamSyncHandler(once(() => createStreamDeps(base))),
    async close() {
      closeBaseDeps(base);
      dynamodb.destroy();
      await stack.stop();
    },
  };
}
