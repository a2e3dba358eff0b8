/**
 * `npm run localstack:deploy`: `serverless deploy --stage local` against LocalStack (serverless-localstack
 * sends it to http://localhost:4566, or LOCALSTACK_HOST / LOCALSTACK_EDGE_PORT), with the environment that
 * stage needs: LOCAL_JWT_SECRET, the key the handlers verify tokens with (then `npm run -s token` mints
 * tokens for it); no DYNAMODB_ENDPOINT, because LocalStack points its Lambda containers' SDK at itself
 * (AWS_ENDPOINT_URL) and `localhost` inside such a container is the container itself.
 */
import '../local/quiet-sdk-notice';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * The environment of the deploy for the caller's `env`.
 * @throws Error saying how to set LOCAL_JWT_SECRET when it is missing or shorter than 32 characters.
 */
export function localstackDeployEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const secret = env.LOCAL_JWT_SECRET;
  if (secret === undefined || secret.length < 32) {
    throw new Error(
      'set LOCAL_JWT_SECRET (32+ characters) first: the local stage has no API Gateway authorizer, its ' +
        'handlers verify tokens signed with it. For example: export LOCAL_JWT_SECRET=$(openssl rand -hex 32)',
    );
  }
  const deployEnv: NodeJS.ProcessEnv = {
    ...env,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
  };
  delete deployEnv.DYNAMODB_ENDPOINT;
  return deployEnv;
}

const USAGE =
  'usage: npm run localstack:deploy -- [serverless deploy flags, e.g. --param="redis=none"] (LocalStack must be running)';

function main(): void {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let env: NodeJS.ProcessEnv;
  try {
    env = localstackDeployEnvironment(process.env);
  } catch (error) {
    process.stderr.write(`localstack:deploy: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (process.env.DYNAMODB_ENDPOINT !== undefined) {
    process.stderr.write(
      '[localstack:deploy] DYNAMODB_ENDPOINT is not passed on: LocalStack sets the endpoint\n',
    );
  }
  const root = join(__dirname, '..', '..');
  const serverless = require.resolve('serverless/bin/serverless.js', { paths: [root] });
  const args = [serverless, 'deploy', '--stage', 'local', ...process.argv.slice(2)];
  process.stderr.write(`[localstack:deploy] serverless ${args.slice(1).join(' ')}\n`);
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (code === 0) {
      process.stderr.write(
        '[localstack:deploy] deployed. Tokens for it: export TOKEN=$(npm run -s token -- --user alice)\n',
      );
    }
    process.exitCode = code ?? (signal === null ? 1 : 128);
  });
}

if (require.main === module) main();
