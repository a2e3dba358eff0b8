/**
 * `npm run -s token -- [--user NAME] [--expires 12h]`: prints a development token (nothing else on stdout,
 * so `export TOKEN=$(npm run -s token -- --user alice)` works). Each user is a tenant: a bot belongs to the
 * user who created it, so a second user is how to try the 403s.
 *
 * The signing key, first found: LOCAL_JWT_SECRET (what `serverless deploy --stage local` gives the
 * LocalStack handlers, and what `npm run dev` uses when set), the running `npm run dev`'s, or the key
 * `npm run dev` keeps in .local/data/dev-secret. JWT_ISSUER / JWT_AUDIENCE override the defaults, as they
 * do for the handlers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER, signDevToken } from '../../src/auth';
import { findRunningStack } from '../local/running-stack';

const USAGE = 'usage: npm run -s token -- [--user NAME] [--expires 12h]';

/** The signing key and where it came from. @throws Error saying how to get one when there is none. */
export function findSigningKey(env: NodeJS.ProcessEnv): { secret: string; origin: string } {
  if (env.LOCAL_JWT_SECRET !== undefined) return { secret: env.LOCAL_JWT_SECRET, origin: 'LOCAL_JWT_SECRET' };
  const stack = findRunningStack();
  if (stack !== undefined)
    return { secret: stack.secret, origin: `the running npm run dev (pid ${stack.pid})` };
  const kept = join(env.DEV_DATA_DIR ?? join(__dirname, '..', '..', '.local', 'data'), 'dev-secret');
  try {
    const secret = readFileSync(kept, 'utf8').trim();
    if (secret.length >= 32) return { secret, origin: kept };
  } catch {
    // No kept key either: the error below says what to do.
  }
  throw new Error(
    'no signing key: start npm run dev once (it keeps one in .local/data/), or set LOCAL_JWT_SECRET ' +
      '(32+ characters) to the key the handlers verify with',
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      user: { type: 'string', default: 'dev-user' },
      expires: { type: 'string', default: '12h' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.user.trim() === '') throw new Error('--user must not be empty');
  const { secret, origin } = findSigningKey(process.env);
  const token = await signDevToken(secret, values.user, {
    issuer: process.env.JWT_ISSUER ?? DEV_TOKEN_ISSUER,
    audience: process.env.JWT_AUDIENCE ?? DEV_TOKEN_AUDIENCE,
    expiresIn: values.expires,
  });
  process.stderr.write(`[token] user "${values.user}", valid ${values.expires}, signed with ${origin}\n`);
  process.stdout.write(`${token}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exitCode = 2;
  });
}
