import { createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { ensureTables } from '../../src/tables/definition';
import { startLocalStack } from '../../tools/local/stack';

/**
 * Starts DynamoDB Local and a private redis-server once for all integration tests (or uses
 * DYNAMODB_ENDPOINT / REDIS_URL), creates the tables, and hands the endpoints to the test workers
 * through the environment.
 */
export default async function globalSetup(): Promise<void> {
  const stack = await startLocalStack(process.env, (m) => process.stderr.write(`[local stack] ${m}\n`));
  (globalThis as { __localStack?: typeof stack }).__localStack = stack;
  process.env.DYNAMODB_ENDPOINT = stack.dynamodb.url;
  process.env.REDIS_URL = stack.redis.url;
  process.env.AWS_REGION = process.env.AWS_REGION ?? 'us-east-1';
  const client = createDynamoDbClient(loadConfig(process.env));
  await ensureTables(client, loadConfig(process.env).tables);
  client.destroy();
}
