import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { signDevToken } from '../../src/auth';
import { createDynamoDbClient } from '../../src/clients';
import { type Config, loadConfig } from '../../src/config';
import { ensureTables } from '../../src/tables/definition';
import { baseDeps } from '../../src/wiring/base';
import { startApiDocs } from './api-docs';
import { withBatchLines } from './dev-console';
import { type DevData, prepareDevData } from './dev-data';
import { OFFLINE_STAGE, showOfflineProblems, startOffline, stopProcessGroup } from './offline';
import { findFreePort, type LocalStack, portIsFree, startLocalStack } from './stack';
import { consoleRunnerLog, loadStreamSettings, type StreamHandler, StreamRunner } from './stream-runner';
import { superviseLocalStack } from './supervisor';
import { keyText, stableHash, VirtualShardedStream } from './virtual-shards';

/** The service name and stage serverless-offline runs under (function names derive from them). */
const SERVICE = 'ddb-vector-sync';
const STAGE = OFFLINE_STAGE;

/** What `npm run dev` started, and what a client needs to talk to it (also written to the state file). */
export type DevStackInfo = {
  /** The HTTP API (serverless-offline), e.g. http://127.0.0.1:3000 */
  httpUrl: string;
  /** The Lambda Invoke endpoint of serverless-offline: the AWS SDK's Lambda client `endpoint`. */
  lambdaEndpoint: string;
  /** openapi.yaml rendered in the browser (`/docs`), pointing at `httpUrl`; empty without the HTTP API. */
  docsUrl: string;
  region: string;
  /** The deployed-style name of the ingestion function, for Lambda Invoke. */
  ingestFunctionName: string;
  dynamodbEndpoint: string;
  redisUrl: string;
  tables: Config['tables'];
  /** A development token (HS256, signed with the run's LOCAL_JWT_SECRET) whose subject is `user`. */
  token: string;
  user: string;
  /** The key the handlers verify tokens with; sign more tokens with `signDevToken(secret, sub)`. */
  secret: string;
  pid: number;
  /** Where the tables, stream checkpoints and secret are kept, and whether this start kept or wiped them; null: in memory. */
  data: { dir: string; state: DevData['state'] } | null;
};

export type DevStack = DevStackInfo & {
  streamRunner: StreamRunner;
  /** serverless-offline's process id (it leads its own process group). */
  offlinePid: number | undefined;
  /** Stops the stream runner, serverless-offline and whatever DynamoDB Local / redis-server it started. */
  stop(): Promise<void>;
};

export type DevStackOptions = {
  /** DYNAMODB_ENDPOINT / REDIS_URL (use existing ones), LOCAL_JWT_SECRET, TABLE_* names, AWS_REGION. */
  env?: NodeJS.ProcessEnv;
  /** Where serverless.yml is (default: the project root). */
  serviceDir?: string;
  /** Where to write the state file `npm run demo` reads; undefined: none. */
  stateFile?: string;
  /** Subject of the printed development token. */
  user?: string;
  /** Progress lines. */
  log?: (message: string) => void;
  /** Lines serverless-offline prints (default: dropped unless they look like errors). */
  offlineOutput?: (line: string) => void;
  /** How long serverless-offline may take to build the functions and listen. */
  offlineStartTimeoutMs?: number;
  /**
   * Keep the data here (absolute path): DynamoDB Local's tables (-dbPath), the stream checkpoints and the
   * development secret, so a restart finds them again. Unset: DynamoDB Local in memory, nothing kept.
   */
  dataDir?: string;
  /** With `dataDir`: delete what an earlier run kept and start empty. */
  fresh?: boolean;
  /** The HTTP API's port; taken: a free one (logged). Unset: a free one. */
  httpPort?: number;
  /** The API docs' port (same rules). */
  docsPort?: number;
  /**
   * Called when DynamoDB Local or redis-server died and could not be restarted, with a message naming it
   * (already logged). Default: stop the stack.
   */
  onFatal?: (message: string) => void;
  /** false: no serverless-offline (no HTTP API, no Lambda Invoke endpoint); the data and stream pipeline only. */
  http?: boolean;
};

const projectRoot = join(__dirname, '..', '..');

/** `preferred` when it is free, else a free port (and a line saying so); a free port when none is preferred. */
async function choosePort(
  preferred: number | undefined,
  what: string,
  log: (message: string) => void,
): Promise<number> {
  if (preferred === undefined) return findFreePort();
  if (await portIsFree(preferred)) return preferred;
  const port = await findFreePort();
  log(`port ${preferred} is in use; ${what} listens on ${port} instead`);
  return port;
}

/**
 * Starts the whole local system, as `npm run dev` does: DynamoDB Local and Redis (or the ones named by
 * DYNAMODB_ENDPOINT / REDIS_URL), watched and restarted if they die; the tables; serverless-offline (HTTP
 * API on `httpPort` or a free port, Lambda Invoke endpoint on a free port) with the API docs; and the local
 * stream runner, which invokes handlers/stream-sync.ts in this process. With `dataDir`, tables, stream
 * checkpoints and the development secret survive a restart.
 *
 * Sets the handler configuration (endpoints, table names, AUTH_MODE=local-key, LOCAL_JWT_SECRET) in
 * `process.env`, because the in-process stream handler reads it on first use.
 * @throws PrerequisiteError when Java or redis-server is missing; an Error with serverless-offline's
 *   output when it does not come up. Whatever had started is stopped before it throws.
 */
export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const serviceDir = options.serviceDir ?? projectRoot;
  const user = options.user ?? 'dev-user';
  const cleanups: (() => Promise<void>)[] = [];
  // Set once the services are supervised: stopping begins by telling the supervisor deaths are expected.
  let stopWatching = () => {};
  const stopAll = async () => {
    stopWatching();
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => log(`while stopping: ${String(error)}`));
    }
  };

  try {
    const data =
      options.dataDir === undefined
        ? undefined
        : prepareDevData(options.dataDir, { fresh: options.fresh === true });
    const stack: LocalStack = await startLocalStack(
      env,
      log,
      // Its own process group: a Ctrl-C reaches this process, which stops them in order.
      data === undefined
        ? { ownProcessGroup: true }
        : { dynamodbDataDir: data.dynamodbDir, ownProcessGroup: true },
    );
    cleanups.push(async () => {
      // Only what this stack started: DYNAMODB_ENDPOINT / REDIS_URL services keep running.
      const owned = [stack.dynamodb.owned && 'DynamoDB Local', stack.redis.owned && 'redis-server'].filter(
        Boolean,
      );
      if (owned.length > 0) log(`stopping ${owned.join(' and ')}`);
      await supervised.stop();
    });
    const supervised = superviseLocalStack(stack, {
      dynamodbDataDir: data?.dynamodbDir,
      log,
      giveUp: (message) => {
        log(message);
        (options.onFatal ?? (() => void stopAll()))(message);
      },
    });
    stopWatching = () => supervised.stopWatching();

    const secret = env.LOCAL_JWT_SECRET ?? data?.secret ?? randomBytes(32).toString('hex');
    const handlerEnv: Record<string, string> = {
      AWS_REGION: env.AWS_REGION ?? 'us-east-1',
      DYNAMODB_ENDPOINT: stack.dynamodb.url,
      REDIS_URL: stack.redis.url,
      AUTH_MODE: 'local-key',
      LOCAL_JWT_SECRET: secret,
      // Locally a compact line per batch (the stream runner's) replaces CloudWatch's EMF JSON.
      POWERTOOLS_METRICS_DISABLED: 'true',
      TABLE_VECTOR_EMBEDDINGS: env.TABLE_VECTOR_EMBEDDINGS ?? 'VectorEmbeddings',
      TABLE_BOT_COLLECTIONS: env.TABLE_BOT_COLLECTIONS ?? 'BotCollections',
      TABLE_BOT_DOCUMENTS: env.TABLE_BOT_DOCUMENTS ?? 'BotDocuments',
      TABLE_DOCUMENT_LEASES: env.TABLE_DOCUMENT_LEASES ?? 'DocumentLeases',
      TABLE_STREAM_CLAIMS: env.TABLE_STREAM_CLAIMS ?? 'StreamClaims',
      ...(env.EMBEDDING_ENCODING === undefined ? {} : { EMBEDDING_ENCODING: env.EMBEDDING_ENCODING }),
    };
    const config = loadConfig({ ...env, ...handlerEnv });
    const dynamodb = createDynamoDbClient(config);
    cleanups.push(async () => dynamodb.destroy());
    const tables = await ensureTables(dynamodb, config.tables);
    log(
      `tables: ${[...tables.created.map((t) => `${t} (created)`), ...tables.existing.map((t) => `${t} (existing)`)].join(', ')}`,
    );

    // The in-process stream handler builds its clients from process.env on first use.
    Object.assign(process.env, handlerEnv);

    let offline: ChildProcess | undefined;
    let httpUrl = '';
    let lambdaEndpoint = '';
    let docsUrl = '';
    if (options.http !== false) {
      const httpPort = await choosePort(options.httpPort, 'the HTTP API (openapi.yaml names 3000)', log);
      const lambdaPort = await findFreePort();
      log('starting serverless offline (bundling the functions with esbuild)');
      const child = await startOffline({
        serviceDir,
        env: {
          ...env,
          ...handlerEnv,
          SLS_TELEMETRY_DISABLED: '1',
          SLS_NOTIFICATIONS_MODE: 'off',
          SLS_DEPRECATION_DISABLE: '*',
        },
        httpPort,
        lambdaPort,
        timeoutMs: options.offlineStartTimeoutMs ?? 180_000,
        output: options.offlineOutput ?? showOfflineProblems(log),
      });
      offline = child;
      cleanups.push(async () => {
        log('stopping serverless offline');
        await stopProcessGroup(child);
      });
      httpUrl = `http://127.0.0.1:${httpPort}`;
      lambdaEndpoint = `http://127.0.0.1:${lambdaPort}`;
      const docs = await startApiDocs({
        port: await choosePort(options.docsPort, 'the API docs', log),
        openapiFile: join(serviceDir, 'openapi.yaml'),
        apiUrl: `http://localhost:${httpPort}`,
      });
      cleanups.push(() => docs.stop());
      docsUrl = docs.url;
    }

    const { handler } = (await import('../../handlers/stream-sync')) as { handler: StreamHandler };
    const streamsClient = new DynamoDBStreamsClient({
      region: config.region,
      endpoint: stack.dynamodb.url,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    cleanups.push(async () => streamsClient.destroy());
    const stateDir = dirname(options.stateFile ?? join(serviceDir, '.local', 'dev.json'));
    // STREAM_SHARDS=N shows the stream as DynamoDB shows a large bot: items spread over N shards read at once.
    const shards = Number(env.STREAM_SHARDS ?? '1');
    const streamRunner = new StreamRunner({
      streamsClient:
        Number.isInteger(shards) && shards > 1
          ? new VirtualShardedStream(streamsClient, {
              shards,
              shardOf: (keys) => stableHash(keyText(keys)),
            }).asClient()
          : streamsClient,
      dynamodbClient: dynamodb,
      tableName: config.tables.vectorEmbeddings,
      handler: withBatchLines(handler, (line) => log(`[stream] ${line}`)),
      settings: await loadStreamSettings(join(serviceDir, 'serverless.yml'), 'streamSync'),
      functionName: `${SERVICE}-${STAGE}-streamSync`,
      onFailureFile: join(stateDir, 'stream-failures.jsonl'),
      ...(data === undefined ? {} : { checkpoints: data.checkpointsFile }),
      log: {
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
      },
    });
    await mkdir(stateDir, { recursive: true });
    await streamRunner.start();
    cleanups.push(async () => {
      log('stopping the stream runner');
      await streamRunner.stop();
      // The in-process handler's Redis client would keep reconnecting to the server stopped next.
      baseDeps().redis?.disconnect();
    });

    const info: DevStackInfo = {
      httpUrl,
      lambdaEndpoint,
      docsUrl,
      region: config.region,
      ingestFunctionName: `${SERVICE}-${STAGE}-sqsIngest`,
      dynamodbEndpoint: stack.dynamodb.url,
      redisUrl: stack.redis.url,
      tables: config.tables,
      token: await signDevToken(secret, user),
      user,
      secret,
      pid: process.pid,
      data: data === undefined ? null : { dir: data.dir, state: data.state },
    };
    if (options.stateFile !== undefined) {
      const stateFile = options.stateFile;
      await writeFile(stateFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
      cleanups.push(async () => rm(stateFile, { force: true }));
    }
    let stopped: Promise<void> | undefined;
    return {
      ...info,
      streamRunner,
      offlinePid: offline?.pid,
      stop: () => {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
