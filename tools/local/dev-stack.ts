import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { signDevToken } from '../../src/auth';
import { type Config, loadConfig } from '../../src/config';
import { ensureTables } from '../../src/tables/definition';
import { closeBaseDeps, createBaseDeps } from '../../src/wiring/base';
import { type DevData, prepareDevData } from './dev-data';
import { type DevHttp, startDevHttp } from './dev-http';
import { localFunctionName, silentMetrics, startDevStreamRunner } from './dev-stream';
import { type LocalStack, startLocalStack } from './stack';
import type { StreamRunner } from './stream-runner';
import { superviseLocalStack } from './supervisor';

/** What `npm run dev` started, and what a client needs to talk to it (also written to the state file). */
export type DevStackInfo = {
  /** The HTTP API (serverless-offline), e.g. http://127.0.0.1:3000 */
  httpUrl: string;
  /** The Lambda Invoke endpoint of serverless-offline: the AWS SDK's Lambda client `endpoint`. */
  lambdaEndpoint: string;
  /** openapi.yaml rendered in the browser (`/docs`), pointing at `httpUrl`; empty without the HTTP API. */
  docsUrl: string;
  /** The operators' console (`/console`, beside the docs), the dev token pre-filled; empty without the HTTP API. */
  consoleUrl: string;
  region: string;
  /** The deployed-style name of the ingestion function, for Lambda Invoke. */
  ingestFunctionName: string;
  dynamodbEndpoint: string;
  /** '' in the memory snapshot mode (no Redis). */
  redisUrl: string;
  /** Where searches find their snapshots (a state file without it means redis). */
  snapshots?: 'redis' | 'memory';
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
  /** `memory`: no Redis; the handlers run with SNAPSHOT_MODE=memory (docs/snapshot.md). Default `redis`. */
  snapshots?: 'redis' | 'memory';
};

const projectRoot = join(__dirname, '..', '..');

/** The handlers' configuration for this stack: its endpoints, its secret, the tables (TABLE_* or defaults). */
function handlerEnvironment(
  env: NodeJS.ProcessEnv,
  stack: LocalStack,
  secret: string,
  snapshots: 'redis' | 'memory',
): Record<string, string | undefined> {
  return {
    AWS_REGION: env.AWS_REGION ?? 'us-east-1',
    DYNAMODB_ENDPOINT: stack.dynamodb.url,
    // undefined (not left out) so that a REDIS_URL of the caller's environment does not reach the handlers.
    REDIS_URL: snapshots === 'memory' ? undefined : stack.redis.url,
    SNAPSHOT_MODE: snapshots === 'memory' ? 'memory' : undefined,
    AUTH_MODE: 'local-key',
    LOCAL_JWT_SECRET: secret,
    // Locally a compact line per batch (the stream runner's) replaces CloudWatch's EMF JSON.
    POWERTOOLS_METRICS_DISABLED: 'true',
    TABLE_VECTOR_EMBEDDINGS: env.TABLE_VECTOR_EMBEDDINGS ?? 'VectorEmbeddings',
    TABLE_BOT_COLLECTIONS: env.TABLE_BOT_COLLECTIONS ?? 'BotCollections',
    TABLE_BOT_DOCUMENTS: env.TABLE_BOT_DOCUMENTS ?? 'BotDocuments',
    TABLE_DOCUMENT_LEASES: env.TABLE_DOCUMENT_LEASES ?? 'DocumentLeases',
    TABLE_BOT_ALIASES: env.TABLE_BOT_ALIASES ?? 'BotAliases',
    TABLE_STREAM_CLAIMS: env.TABLE_STREAM_CLAIMS ?? 'StreamClaims',
    ...(env.EMBEDDING_ENCODING === undefined ? {} : { EMBEDDING_ENCODING: env.EMBEDDING_ENCODING }),
  };
}

/**
 * Starts the whole local system, as `npm run dev` does: DynamoDB Local and Redis (or the ones named by
 * DYNAMODB_ENDPOINT / REDIS_URL), watched and restarted if they die; the tables; serverless-offline (HTTP
 * API on `httpPort` or a free port, Lambda Invoke endpoint on a free port) with the API docs; and the local
 * stream runner, which invokes the stream handler in this process. With `dataDir`, tables, stream
 * checkpoints and the development secret survive a restart.
 *
 * The in-process stream handler is built from its factory with this stack's own dependencies; serverless-
 * offline gets the same configuration as its environment. `process.env` is neither read for wiring
 * (only `options.env`, which defaults to it) nor written.
 * @throws PrerequisiteError when Java or redis-server is missing; an Error with serverless-offline's
 *   output when it does not come up. Whatever had started is stopped before it throws.
 */
export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const serviceDir = options.serviceDir ?? projectRoot;
  const user = options.user ?? 'dev-user';
  const snapshots = options.snapshots ?? 'redis';
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
        ? { ownProcessGroup: true, redis: snapshots === 'redis' }
        : { dynamodbDataDir: data.dynamodbDir, ownProcessGroup: true, redis: snapshots === 'redis' },
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
    const handlerEnv = handlerEnvironment(env, stack, secret, snapshots);
    const config = loadConfig({ ...env, ...handlerEnv });
    // The in-process stream handler's clients; closed last, after the runner stopped.
    const base = createBaseDeps(config, { metrics: silentMetrics });
    cleanups.push(async () => closeBaseDeps(base));
    const tables = await ensureTables(base.dynamodb, config.tables);
    log(
      `tables: ${[...tables.created.map((t) => `${t} (created)`), ...tables.existing.map((t) => `${t} (existing)`)].join(', ')}`,
    );

    const token = await signDevToken(secret, user);
    let http: DevHttp | undefined;
    if (options.http !== false) {
      http = await startDevHttp({
        serviceDir,
        handlerEnv: { ...env, ...handlerEnv },
        httpPort: options.httpPort,
        docsPort: options.docsPort,
        devToken: token,
        timeoutMs: options.offlineStartTimeoutMs ?? 180_000,
        output: options.offlineOutput,
        log,
        started: (stop) => cleanups.push(stop),
      });
      cleanups.push((http as DevHttp).stopDocs);
    }

    const stateDir = dirname(options.stateFile ?? join(serviceDir, '.local', 'dev.json'));
    await mkdir(stateDir, { recursive: true });
    const { runner: streamRunner, streamsClient } = await startDevStreamRunner({
      base,
      dynamodbEndpoint: stack.dynamodb.url,
      serviceDir,
      stateDir,
      checkpointsFile: data?.checkpointsFile,
      // STREAM_SHARDS=N shows the stream as DynamoDB shows a large bot: items spread over N shards read at once.
      shards: Number(env.STREAM_SHARDS ?? '1'),
      log,
    });
    cleanups.push(async () => {
      log('stopping the stream runner');
      await streamRunner.stop();
      streamsClient.destroy();
    });

    const info: DevStackInfo = {
      httpUrl: http?.urls.http ?? '',
      lambdaEndpoint: http?.urls.lambda ?? '',
      docsUrl: http?.urls.docs ?? '',
      consoleUrl: http?.urls.console ?? '',
      region: config.region,
      ingestFunctionName: localFunctionName('sqsIngest'),
      dynamodbEndpoint: stack.dynamodb.url,
      redisUrl: stack.redis.url,
      snapshots,
      tables: config.tables,
      token,
      user,
      secret,
      pid: process.pid,
      data: data === undefined ? null : { dir: data.dir, state: data.state },
    };
    if (options.stateFile !== undefined) {
      const stateFile = options.stateFile;
      // Written whole, then renamed: a reader that sees the file never sees it half-written.
      const partial = `${stateFile}.${process.pid}.tmp`;
      await writeFile(partial, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
      await rename(partial, stateFile);
      cleanups.push(async () => rm(stateFile, { force: true }));
    }
    let stopped: Promise<void> | undefined;
    return {
      ...info,
      streamRunner,
      offlinePid: http?.offline.pid,
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
