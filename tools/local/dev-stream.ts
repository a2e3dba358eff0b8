import { join } from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { makeStreamSyncHandler } from '../../handlers/stream-sync';
import type { BaseDeps } from '../../src/wiring/base';
import { createStreamDeps } from '../../src/wiring/stream';
import { withBatchLines } from './dev-console';
import { OFFLINE_STAGE } from './offline';
import { consoleRunnerLog, loadStreamSettings, StreamRunner, type StreamRunnerLog } from './stream-runner';
import { keyText, stableHash, VirtualShardedStream } from './virtual-shards';

/** The service name serverless-offline runs under (function names derive from it and the stage). */
export const SERVICE = 'ddb-vector-sync';

/** The deployed-style name of a function of the local stage. */
export const localFunctionName = (name: string) => `${SERVICE}-${OFFLINE_STAGE}-${name}`;

/**
 * Locally, a compact line per stream batch replaces CloudWatch's EMF metric JSON: the in-process handler
 * gets metrics that print nothing.
 */
export const silentMetrics: BaseDeps['metrics'] = {
  addMetric: () => {},
  publishStoredMetrics: () => {},
};

/** The runner's lines as the dev console prints them (`[stream] …`), with where the start resumed. */
function devRunnerLog(log: (message: string) => void): StreamRunnerLog {
  return {
    ...consoleRunnerLog,
    info: (message, ...attributes) => {
      const resumed = attributes.find((a) => typeof a.resumedShards === 'number')?.resumedShards;
      const from =
        resumed === undefined
          ? ''
          : resumed === 0
            ? ' from the oldest record'
            : ` resuming ${resumed} shard(s) from the checkpoints`;
      log(`[stream] ${message}${from}`);
    },
  };
}

/**
 * Starts the local stream runner on VectorEmbeddings' stream with the stream handler built from its
 * factory over `base` (nothing read from or written to `process.env`), with serverless.yml's settings.
 * `shards` > 1 shows the stream as DynamoDB shows a large bot: items spread over that many shards.
 * @returns the runner and the Streams client to destroy after stopping it.
 */
export async function startDevStreamRunner(input: {
  base: BaseDeps;
  dynamodbEndpoint: string;
  serviceDir: string;
  stateDir: string;
  checkpointsFile: string | undefined;
  shards: number;
  log: (message: string) => void;
}): Promise<{ runner: StreamRunner; streamsClient: DynamoDBStreamsClient }> {
  const { base, log } = input;
  const deps = createStreamDeps(base);
  const handler = makeStreamSyncHandler(() => deps);
  const streamsClient = new DynamoDBStreamsClient({
    region: base.config.region,
    endpoint: input.dynamodbEndpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const runner = new StreamRunner({
    streamsClient:
      Number.isInteger(input.shards) && input.shards > 1
        ? new VirtualShardedStream(streamsClient, {
            shards: input.shards,
            shardOf: (keys) => stableHash(keyText(keys)),
          }).asClient()
        : streamsClient,
    dynamodbClient: base.dynamodb,
    tableName: base.config.tables.vectorEmbeddings,
    handler: withBatchLines(handler, (line) => log(`[stream] ${line}`)),
    settings: await loadStreamSettings(join(input.serviceDir, 'serverless.yml'), 'streamSync'),
    functionName: localFunctionName('streamSync'),
    onFailureFile: join(input.stateDir, 'stream-failures.jsonl'),
    ...(input.checkpointsFile === undefined ? {} : { checkpoints: input.checkpointsFile }),
    log: devRunnerLog(log),
  });
  try {
    await runner.start();
  } catch (error) {
    streamsClient.destroy();
    throw error;
  }
  return { runner, streamsClient };
}
