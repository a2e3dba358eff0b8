import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { signDevToken } from '../auth';
import { createDynamoDbClient } from '../clients';
import { type Config, loadConfig } from '../config';
import { ensureTables } from '../tables/definition';
import { baseDeps } from '../wiring/base';
import { findFreePort, type LocalStack, portAnswers, startLocalStack } from './stack';
import { consoleRunnerLog, loadStreamSettings, type StreamHandler, StreamRunner } from './stream-runner';
import { keyText, stableHash, VirtualShardedStream } from './virtual-shards';

/** The service name and stage serverless-offline runs under (function names derive from them). */
const SERVICE = 'ddb-vector-sync';
const STAGE = 'local';

/** What `npm run dev` started, and what a client needs to talk to it (also written to the state file). */
export type DevStackInfo = {
  /** The HTTP API (serverless-offline), e.g. http://127.0.0.1:3000 */
  httpUrl: string;
  /** The Lambda Invoke endpoint of serverless-offline: the AWS SDK's Lambda client `endpoint`. */
  lambdaEndpoint: string;
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
};

const projectRoot = join(__dirname, '..', '..');

/**
 * serverless-offline's lines worth showing by default: errors and warnings, except the AWS SDK's notice
 * about Node 20 (expected here) and its continuation lines.
 */
function showOfflineProblems(log: (message: string) => void): (line: string) => void {
  let inSdkNotice = false;
  return (line) => {
    if (/NodeVersionSupportWarning/.test(line)) {
      inSdkNotice = true;
      return;
    }
    if (inSdkNotice) {
      if (/trace-warnings/.test(line)) inSdkNotice = false;
      return;
    }
    if (/error|warn/i.test(line)) log(`[offline] ${line}`);
  };
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ends serverless-offline and everything it spawned (esbuild's service, workers): it leads its own
 * process group. SIGTERM first (it shuts its servers down), SIGKILL for whatever is left after 8 s, then
 * waits until the group is gone (killed members are reaped by init shortly after).
 */
async function stopProcessGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name);
    } catch {
      // The group is gone already.
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    await new Promise<void>((resolve) => {
      const killer = setTimeout(() => signal('SIGKILL'), 8000);
      child.once('exit', () => {
        clearTimeout(killer);
        resolve();
      });
      signal('SIGTERM');
    });
  }
  // Anything left in the group (a worker that ignored SIGTERM) goes too.
  signal('SIGKILL');
  const deadline = Date.now() + 5000;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

async function startOffline(input: {
  serviceDir: string;
  env: NodeJS.ProcessEnv;
  httpPort: number;
  lambdaPort: number;
  timeoutMs: number;
  output: (line: string) => void;
}): Promise<ChildProcess> {
  const serverlessBin = require.resolve('serverless/bin/serverless.js', { paths: [input.serviceDir] });
  const child = spawn(
    process.execPath,
    [
      serverlessBin,
      'offline',
      'start',
      '--stage',
      STAGE,
      '--host',
      '127.0.0.1',
      '--httpPort',
      String(input.httpPort),
      '--lambdaPort',
      String(input.lambdaPort),
      '--noTimeout',
    ],
    { cwd: input.serviceDir, env: input.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let tail = '';
  const onData = (data: Buffer) => {
    const text = data.toString();
    tail = (tail + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim() !== '') input.output(line);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ?? String(code);
  });
  const deadline = Date.now() + input.timeoutMs;
  while (!((await portAnswers(input.httpPort)) && (await portAnswers(input.lambdaPort)))) {
    if (exited !== undefined) {
      throw new Error(`serverless offline exited (${exited}) before it listened. Its output:\n${tail}`);
    }
    if (Date.now() > deadline) {
      await stopProcessGroup(child);
      throw new Error(`serverless offline did not listen within ${input.timeoutMs} ms. Its output:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return child;
}

/**
 * Starts the whole local system, as `npm run dev` does: DynamoDB Local and Redis (or the ones named by
 * DYNAMODB_ENDPOINT / REDIS_URL), the tables, serverless-offline (HTTP API + Lambda Invoke endpoint, on
 * free ports) and the local stream runner, which invokes handlers/stream-sync.ts in this process.
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
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => log(`while stopping: ${String(error)}`));
    }
  };

  try {
    const stack: LocalStack = await startLocalStack(env, log);
    cleanups.push(async () => {
      log('stopping DynamoDB Local and redis-server');
      await stack.stop();
    });

    const secret = env.LOCAL_JWT_SECRET ?? randomBytes(32).toString('hex');
    const handlerEnv: Record<string, string> = {
      AWS_REGION: env.AWS_REGION ?? 'us-east-1',
      DYNAMODB_ENDPOINT: stack.dynamodb.url,
      REDIS_URL: stack.redis.url,
      AUTH_MODE: 'local-key',
      LOCAL_JWT_SECRET: secret,
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

    const [httpPort, lambdaPort] = [await findFreePort(), await findFreePort()];
    log('starting serverless offline (bundling the functions with esbuild)');
    const offline = await startOffline({
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
    cleanups.push(async () => {
      log('stopping serverless offline');
      await stopProcessGroup(offline);
    });

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
      handler,
      settings: await loadStreamSettings(join(serviceDir, 'serverless.yml'), 'streamSync'),
      functionName: `${SERVICE}-${STAGE}-streamSync`,
      onFailureFile: join(stateDir, 'stream-failures.jsonl'),
      log: {
        ...consoleRunnerLog,
        info: (message) => log(`[stream] ${message}`),
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
      httpUrl: `http://127.0.0.1:${httpPort}`,
      lambdaEndpoint: `http://127.0.0.1:${lambdaPort}`,
      region: config.region,
      ingestFunctionName: `${SERVICE}-${STAGE}-sqsIngest`,
      dynamodbEndpoint: stack.dynamodb.url,
      redisUrl: stack.redis.url,
      tables: config.tables,
      token: await signDevToken(secret, user),
      user,
      secret,
      pid: process.pid,
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
      offlinePid: offline.pid,
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
