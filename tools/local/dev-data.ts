import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where `npm run dev` keeps what must survive a restart, and whether this start wiped it. */
export type DevData = {
  dir: string;
  /** DynamoDB Local's -dbPath. */
  dynamodbDir: string;
  /** The stream runner's checkpoints (FileCheckpointStore). */
  checkpointsFile: string;
  /** The development JWT secret, kept so that tokens exported earlier stay valid. */
  secret: string;
  /** What the start-up banner says about the data. */
  state: 'fresh' | 'kept' | 'new';
};

const SECRET_FILE = 'dev-secret';

/**
 * Prepares the data folder of the dev stack: `fresh` deletes what an earlier run kept (tables, stream
 * checkpoints; the secret stays, so tokens keep working). `state` is `kept` when an earlier run's tables
 * are there, `new` for a first run, `fresh` when they were just deleted.
 */
export function prepareDevData(dir: string, options: { fresh: boolean }): DevData {
  const dynamodbDir = join(dir, 'dynamodb');
  const checkpointsFile = join(dir, 'stream-checkpoints.json');
  const hadTables = existsSync(dynamodbDir) && readdirSync(dynamodbDir).length > 0;
  if (options.fresh) {
    rmSync(dynamodbDir, { recursive: true, force: true });
    rmSync(checkpointsFile, { force: true });
  }
  mkdirSync(dynamodbDir, { recursive: true });
  return {
    dir,
    dynamodbDir,
    checkpointsFile,
    secret: devSecret(dir),
    state: options.fresh ? 'fresh' : hadTables ? 'kept' : 'new',
  };
}

/** The secret in `dir`, made (64 hex characters, readable by the owner only) on first use. */
function devSecret(dir: string): string {
  const file = join(dir, SECRET_FILE);
  try {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32).toString('hex');
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
