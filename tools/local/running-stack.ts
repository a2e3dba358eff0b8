import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DevStackInfo } from './dev-stack';

/** Where `npm run dev` writes what it started (DEV_STATE_FILE moves it, as it does for `npm run dev`). */
export function devStateFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.DEV_STATE_FILE ?? join(__dirname, '..', '..', '.local', 'dev.json');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The `npm run dev` that is running now, from its state file; undefined when there is no state file, it
 * cannot be read, or the process that wrote it has ended (a killed stack leaves its file behind).
 */
export function findRunningStack(stateFile: string = devStateFile()): DevStackInfo | undefined {
  let state: DevStackInfo;
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as DevStackInfo;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(state.pid) || !alive(state.pid)) return undefined;
  return state;
}

/** The environment a tool configures itself from, and a line saying where its endpoints came from. */
export type StackEnvironment = { env: NodeJS.ProcessEnv; origin: string };

/**
 * The environment a tool that talks to the stack (doctor, migrate:qdrant) should load its config from.
 * DYNAMODB_ENDPOINT set: `env` as it is (an explicit choice wins). Otherwise a running `npm run dev`: its
 * DynamoDB, Redis, tables and region, each unless `env` names its own. Otherwise `env` as it is: AWS with
 * the default credential chain.
 */
export function stackEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  stateFile: string = devStateFile(env),
): StackEnvironment {
  if (env.DYNAMODB_ENDPOINT !== undefined) return { env, origin: 'DYNAMODB_ENDPOINT from the environment' };
  const stack = findRunningStack(stateFile);
  if (stack === undefined) return { env, origin: 'AWS (no DYNAMODB_ENDPOINT and no running npm run dev)' };
  const found: NodeJS.ProcessEnv = {
    AWS_REGION: stack.region,
    DYNAMODB_ENDPOINT: stack.dynamodbEndpoint,
    REDIS_URL: stack.redisUrl === '' ? undefined : stack.redisUrl,
    SNAPSHOT_MODE: stack.snapshots === 'memory' ? 'memory' : undefined,
    TABLE_VECTOR_EMBEDDINGS: stack.tables.vectorEmbeddings,
    TABLE_BOT_COLLECTIONS: stack.tables.botCollections,
    TABLE_BOT_DOCUMENTS: stack.tables.botDocuments,
    TABLE_DOCUMENT_LEASES: stack.tables.documentLeases,
    TABLE_BOT_ALIASES: stack.tables.botAliases,
    TABLE_STREAM_CLAIMS: stack.tables.streamClaims,
  };
  const merged: NodeJS.ProcessEnv = { ...env };
  for (const [name, value] of Object.entries(found)) merged[name] ??= value;
  return { env: merged, origin: `the running npm run dev (pid ${stack.pid}, ${stateFile})` };
}

/** One line naming the endpoints a tool uses, for its stderr. */
export function describeEndpoints(
  tool: string,
  { env, origin }: StackEnvironment,
  config: { dynamodbEndpoint?: string | undefined; redisUrl?: string | undefined; region: string },
): string {
  const dynamodb = config.dynamodbEndpoint ?? `AWS DynamoDB in ${config.region}`;
  const redis = config.redisUrl === undefined ? 'no Redis' : `Redis ${redactPassword(config.redisUrl)}`;
  const tables = env.TABLE_VECTOR_EMBEDDINGS === undefined ? '' : `, tables ${env.TABLE_VECTOR_EMBEDDINGS}…`;
  return `[${tool}] using ${dynamodb}, ${redis}${tables} (from ${origin})`;
}

/** `rediss://user:secret@host` → `rediss://user:***@host`, so a logged URL never shows a password. */
export function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
