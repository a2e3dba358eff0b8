/**
 * `npm run dev`: the whole system on this machine, from one command. DynamoDB Local and redis-server on
 * free ports (or DYNAMODB_ENDPOINT / REDIS_URL), the tables, serverless-offline (HTTP API and Lambda
 * Invoke endpoint) and the local stream runner. Prints the URLs and a development token, writes them to
 * .local/dev.json for `npm run demo`, and stops everything on Ctrl-C or SIGTERM.
 */
import { join } from 'node:path';
import { startDevStack } from '../src/local/dev-stack';

const stateFile = join(__dirname, '..', '.local', 'dev.json');
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

main().catch((error: unknown) => {
  process.stderr.write(`npm run dev failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
