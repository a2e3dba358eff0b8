import { join } from 'node:path';
import { CreateTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { makeStreamSyncHandler } from '../../handlers/stream-sync';
import { createTableInput } from '../../src/tables/definition';
import { once } from '../../src/wiring/dynamo-base';
import { createStreamDeps } from '../../src/wiring/stream';
import { loadStreamSettings, StreamRunner } from '../local/stream-runner';
import type { StreamSettings } from '../local/stream-settings';
import type { BenchContext } from './context';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * A VectorEmbeddings table of the suite's own, and a local stream runner over it that delivers to the
 * real stream handler with serverless.yml's settings. Its own table keeps the runner from replaying the
 * chunks the latency suites loaded. The handler is configured with that table, as a deployed one is with
 * its own: it refuses records of any other table and re-reads chunks from this one. `mode` 'memory' wires
 * it as SNAPSHOT_MODE=memory deploys it: no Redis; it moves each bot's data_version with its change log.
 */
export async function benchStreamTable(
  env: BenchContext['env'],
  tableName: string,
  mode: 'redis' | 'memory' = 'redis',
): Promise<{ tableName: string; runner: StreamRunner; settings: StreamSettings; close(): Promise<void> }> {
  await env.dynamodb.send(new CreateTableCommand(createTableInput('VectorEmbeddings', tableName)));
  await waitUntilTableExists(
    { client: env.dynamodb, maxWaitTime: 60, minDelay: 1 },
    { TableName: tableName },
  );
  const settings = await loadStreamSettings(join(__dirname, '..', '..', 'serverless.yml'), 'streamSync');
  const streams = new DynamoDBStreamsClient({
    endpoint: env.stack.dynamodb.url,
    region: env.config.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const runner = new StreamRunner({
    streamsClient: streams,
    dynamodbClient: env.dynamodb,
    tableName,
    handler: makeStreamSyncHandler(
      once(() =>
        createStreamDeps({
          ...env.base,
          ...(mode === 'memory' ? { redis: null, redisBreaker: null } : {}),
          config: {
            ...env.base.config,
            ...(mode === 'memory' ? { redisUrl: undefined, snapshotMode: 'memory' as const } : {}),
            tables: { ...env.base.config.tables, vectorEmbeddings: tableName },
          },
        }),
      ),
    ),
    settings,
    functionName: 'streamSync',
    log: quiet,
  });
  return {
    tableName,
    runner,
    settings,
    async close() {
      await runner.stop();
      streams.destroy();
    },
  };
}

/** The bot's total_chunks in BotCollections, read consistently (what the stream handler has counted so far). */
export async function botTotalChunks(env: BenchContext['env'], botId: string): Promise<number> {
  const { Item } = await env.documents.send(
    new GetCommand({
      TableName: env.config.tables.botCollections,
      Key: { bot_id: botId },
      ConsistentRead: true,
    }),
  );
  return Number(Item?.total_chunks ?? 0);
}
