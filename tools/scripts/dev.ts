/**
 * `npm run dev`: the whole system on this machine, from one command. DynamoDB Local and redis-server on
 * free ports (or DYNAMODB_ENDPOINT / REDIS_URL), the tables, serverless-offline (HTTP API on port 3000 as
 * openapi.yaml says, and the Lambda Invoke endpoint) and the local stream runner. Prints the URLs and a
 * development token, writes them to .local/dev.json for `npm run demo`, and stops everything on Ctrl-C or
 * SIGTERM. Tables, stream checkpoints and the development secret are kept in .local/data/ between runs.
 *
 *   npm run dev -- --fresh       delete what earlier runs kept and start empty
 *   npm run dev -- --port=8080   the HTTP API's port (or DEV_HTTP_PORT; default 3000); the API docs take
 *                                the next one (or DEV_DOCS_PORT): http://localhost:3001/docs
 *   npm run dev -- --no-http     no serverless-offline: DynamoDB Local, Redis and the stream pipeline only
 *   npm run dev -- --no-redis    no Redis: the memory snapshot mode (SNAPSHOT_MODE=memory, docs/snapshot.md)
 *   npm run dev -- --verbose     every line serverless-offline prints, with the handlers' own logs (by
 *                                default: one line per request, and serverless-offline's errors and warnings)
 */
import '../local/quiet-sdk-notice';
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type DevStackInfo, startDevStack } from '../local/dev-stack';

/** DEV_STATE_FILE moves it (tests); `npm run demo` reads the default. */
const stateFile = process.env.DEV_STATE_FILE ?? join(__dirname, '..', '..', '.local', 'dev.json');
/** DEV_DATA_DIR moves the kept data (tests). */
const dataDir = resolve(process.env.DEV_DATA_DIR ?? join(__dirname, '..', '..', '.local', 'data'));
const USAGE = 'usage: npm run dev -- [--fresh] [--port=N] [--no-http] [--no-redis] [--verbose]';
const started = Date.now();
const log = (message: string) => {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  process.stdout.write(`[dev ${seconds}s] ${message}\n`);
};

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(
      `${USAGE}\n  --fresh     delete the tables and stream checkpoints kept in ${dataDir} and start empty\n` +
        "  --port=N    the HTTP API's port (default 3000, or DEV_HTTP_PORT); the API docs take N+1\n" +
        '  --no-http   no serverless-offline: DynamoDB Local, Redis and the stream pipeline only\n' +
        '  --no-redis  no Redis: each search process holds the bots it serves (SNAPSHOT_MODE=memory)\n' +
        "  --verbose   every line serverless-offline prints, with the handlers' own logs\n",
    );
    return;
  }
  let stopping = false;
  let stack: Awaited<ReturnType<typeof startDevStack>> | undefined;
  const shutdown = (signal: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    const done = stack === undefined ? Promise.resolve() : stack.stop();
    done.then(
      () => {
        log('stopped');
        process.exit(exitCode);
      },
      (error: unknown) => {
        process.stderr.write(`${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
  watchForOrphaning(() => shutdown('parent process exited'));

  const externalDynamoDb = process.env.DYNAMODB_ENDPOINT !== undefined;
  stack = await startDevStack({
    stateFile,
    log,
    dataDir,
    fresh: flags.fresh,
    http: flags.http,
    snapshots: flags.redis ? 'redis' : 'memory',
    httpPort: flags.port,
    docsPort: Number(process.env.DEV_DOCS_PORT ?? flags.port + 1),
    ...(flags.verbose ? { offlineOutput: (line: string) => log(`[offline] ${line}`) } : {}),
    // Already logged, naming what died; stop the rest and fail, so a script around us notices.
    onFatal: () => shutdown('a part of the stack died', 1),
  });
  if (stopping) {
    // A signal arrived while starting: shutdown() found no stack yet.
    await stack.stop();
    return;
  }
  const bot = 'my-bot';
  const noHttp = stack.httpUrl === '';
  process.stdout.write(
    [
      '',
      'ddb-vector-sync is running locally',
      ...(noHttp
        ? ['  HTTP API          not started (--no-http)']
        : [
            `  HTTP API          ${stack.httpUrl}   (e.g. GET ${stack.httpUrl}/bots/${bot}; openapi.yaml's server is http://localhost:3000)`,
            `  API docs          ${stack.docsUrl}   (openapi.yaml, its server set to this API)`,
            `  Console           ${stack.consoleUrl}   (bots, documents, search playground; the token below is pre-filled)`,
            `  Lambda invoke     ${stack.lambdaEndpoint}   (AWS SDK LambdaClient endpoint; function ${stack.ingestFunctionName})`,
          ]),
      `  DynamoDB          ${stack.dynamodbEndpoint}   tables ${Object.values(stack.tables).join(', ')}`,
      `  Redis             ${stack.redisUrl === '' ? 'none: snapshots held in memory (--no-redis)' : stack.redisUrl}`,
      `  Stream runner     ${stack.streamRunner.streamArn}`,
      `  Data              ${dataLine(stack.data, externalDynamoDb)}`,
      `  State file        ${stateFile}`,
      '',
      `Development token (user "${stack.user}", valid 12 h; the secret is kept, so it stays valid across restarts):`,
      `  export TOKEN=${stack.token}`,
      ...(noHttp
        ? []
        : [
            `  curl -X PUT -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
            `       -d '{"name":"My bot"}' ${stack.httpUrl}/bots/${bot}`,
          ]),
      '',
      'Load demo documents and search them: npm run demo      Stop: Ctrl-C',
      '',
    ].join('\n'),
  );
}

type Flags = { help: boolean; fresh: boolean; http: boolean; redis: boolean; port: number; verbose: boolean };

/** @throws Error naming an unknown flag or a bad port, with the usage. */
function parseFlags(argv: string[]): Flags {
  let values: {
    help?: boolean;
    fresh?: boolean;
    'no-http'?: boolean;
    'no-redis'?: boolean;
    port?: string;
    verbose?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        help: { type: 'boolean' },
        fresh: { type: 'boolean' },
        'no-http': { type: 'boolean' },
        'no-redis': { type: 'boolean' },
        verbose: { type: 'boolean' },
        port: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  const port = Number(values.port ?? process.env.DEV_HTTP_PORT ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Error(`the HTTP port must be a number from 1 to 65535 (--port or DEV_HTTP_PORT)\n${USAGE}`);
  }
  return {
    help: values.help === true,
    fresh: values.fresh === true,
    http: values['no-http'] !== true,
    redis: values['no-redis'] !== true,
    port,
    verbose: values.verbose === true,
  };
}

function dataLine(data: DevStackInfo['data'], externalDynamoDb: boolean): string {
  if (data === null) return 'in memory: nothing is kept after Ctrl-C';
  const inside = relative(process.cwd(), data.dir);
  const where = inside === '' || inside.startsWith('..') ? data.dir : inside;
  const tables = externalDynamoDb
    ? 'stream checkpoints and the secret'
    : 'tables, stream checkpoints and the secret';
  switch (data.state) {
    case 'fresh':
      return `started empty (--fresh); ${tables} are kept in ${where} from now on`;
    case 'kept':
      return `kept from the last run in ${where} (${tables}); npm run dev -- --fresh starts empty`;
    default:
      return `first run: ${tables} are kept in ${where} (npm run dev -- --fresh starts empty)`;
  }
}

/** The parent process id of `pid`, from /proc (Linux); undefined where there is no /proc. */
function parentOf(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return undefined;
  }
}

/**
 * `npm run dev` runs this as npm -> sh -> tsx -> node. A SIGTERM to npm kills the shell, which does not
 * pass it on, and would leave this process (with DynamoDB Local, redis-server and serverless-offline)
 * running. So when the process above our parent changes (the shell died, tsx was re-parented), stop.
 */
function watchForOrphaning(onOrphaned: () => void): void {
  const parent = process.ppid;
  const grandparent = parentOf(parent);
  if (grandparent === undefined) return;
  const timer = setInterval(() => {
    if (process.ppid !== parent || parentOf(parent) !== grandparent) {
      clearInterval(timer);
      onOrphaned();
    }
  }, 1000);
  timer.unref();
}

main().catch((error: unknown) => {
  process.stderr.write(`npm run dev failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
