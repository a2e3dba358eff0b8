/**
 * `npm run dev`: the whole system on this machine, from one command. DynamoDB Local and redis-server on
 * free ports (or DYNAMODB_ENDPOINT / REDIS_URL), the tables, serverless-offline (HTTP API and Lambda
 * Invoke endpoint) and the local stream runner. Prints the URLs and a development token, writes them to
 * .local/dev.json for `npm run demo`, and stops everything on Ctrl-C or SIGTERM.
 */
import '../src/local/quiet-sdk-notice';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevStack } from '../src/local/dev-stack';

/** DEV_STATE_FILE moves it (tests); `npm run demo` reads the default. */
const stateFile = process.env.DEV_STATE_FILE ?? join(__dirname, '..', '.local', 'dev.json');
const started = Date.now();
const log = (message: string) => {
  const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
  process.stdout.write(`[dev ${seconds}s] ${message}\n`);
};

async function main(): Promise<void> {
  let stopping = false;
  let stack: Awaited<ReturnType<typeof startDevStack>> | undefined;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    const done = stack === undefined ? Promise.resolve() : stack.stop();
    done.then(
      () => {
        log('stopped');
        process.exit(0);
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

  stack = await startDevStack({ stateFile, log });
  if (stopping) {
    // A signal arrived while starting: shutdown() found no stack yet.
    await stack.stop();
    return;
  }
  const bot = 'my-bot';
  process.stdout.write(
    [
      '',
      'ddb-vector-sync is running locally',
      `  HTTP API          ${stack.httpUrl}   (e.g. GET ${stack.httpUrl}/bots/${bot})`,
      `  Lambda invoke     ${stack.lambdaEndpoint}   (AWS SDK LambdaClient endpoint; function ${stack.ingestFunctionName})`,
      `  DynamoDB          ${stack.dynamodbEndpoint}   tables ${Object.values(stack.tables).join(', ')}`,
      `  Redis             ${stack.redisUrl}`,
      `  Stream runner     ${stack.streamRunner.streamArn}`,
      `  State file        ${stateFile}`,
      '',
      `Development token (user "${stack.user}", valid 12 h):`,
      `  export TOKEN=${stack.token}`,
      `  curl -X PUT -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
      `       -d '{"name":"My bot"}' ${stack.httpUrl}/bots/${bot}`,
      '',
      'Load demo documents and search them: npm run demo      Stop: Ctrl-C',
      '',
    ].join('\n'),
  );
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
