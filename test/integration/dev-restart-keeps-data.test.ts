import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoBotRegistry } from '../../src/adapters/dynamodb/bot-registry';
import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import type { StoredChunk } from '../../src/domain/types';
import type { DevStackInfo } from '../../tools/local/dev-stack';
import { descendants } from '../fixtures/processes';
import { waitUntil } from '../fixtures/wait';

/**
 * `npm run dev` (tools/scripts/dev.ts, without serverless-offline: --no-http) started, fed, stopped with
 * SIGTERM and started again on one data folder: the tables, the stream checkpoints and the development
 * secret survive a restart, nothing is replayed, and --fresh starts empty. Its own DynamoDB Local each
 * time (that is what keeps the data); the test suite's Redis.
 */
const root = join(__dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const START_TIMEOUT_MS = 90_000;
const DIM = 8;

let dir: string;
let current: { child: ChildProcess; output: () => string; exited: () => boolean } | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dev-restart-'));
});

afterAll(() => {
  if (current !== undefined && !current.exited()) current.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000) {
  await waitUntil(what, condition, { timeoutMs, intervalMs: 100 }).catch((error: Error) => {
    throw new Error(`${error.message}. dev output:\n${current?.output().slice(-3000)}`);
  });
}

/** Starts `npm run dev -- --no-http [flags]` on the test's data folder; resolves with its state file. */
async function startDev(flags: string[]): Promise<DevStackInfo> {
  const stateFile = join(dir, 'dev.json');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DEV_STATE_FILE: stateFile,
    DEV_DATA_DIR: join(dir, 'data'),
  };
  // Its own DynamoDB Local (that is what keeps the data) and redis-server (the test kills it).
  delete env.DYNAMODB_ENDPOINT;
  delete env.REDIS_URL;
  const child = spawn(tsx, [join(root, 'tools', 'scripts', 'dev.ts'), '--no-http', ...flags], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exited = false;
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.once('exit', () => {
    exited = true;
  });
  current = { child, output: () => output, exited: () => exited };
  await until(
    'the dev stack to start',
    () => existsSync(stateFile) && /Stop: Ctrl-C/.test(output),
    START_TIMEOUT_MS,
  );
  return JSON.parse(readFileSync(stateFile, 'utf8')) as DevStackInfo;
}

async function stopDev(): Promise<string> {
  const run = current as NonNullable<typeof current>;
  run.child.kill('SIGTERM');
  await until('the dev stack to stop', run.exited);
  return run.output();
}

function clients(state: DevStackInfo) {
  const dynamodb = new DynamoDBClient({
    endpoint: state.dynamodbEndpoint,
    region: state.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const documents = DynamoDBDocumentClient.from(dynamodb);
  return {
    dynamodb,
    chunks: new DynamoChunkStore(documents, {
      table: state.tables.vectorEmbeddings,
      embeddingEncoding: 'binary',
    }),
    bots: new DynamoBotRegistry(documents, {
      table: state.tables.botCollections,
      defaultEmbeddingDimension: DIM,
    }),
    totalChunks: async (botId: string) => {
      const { Item } = await documents.send(
        new GetCommand({
          TableName: state.tables.botCollections,
          Key: { bot_id: botId },
          ConsistentRead: true,
        }),
      );
      return Item === undefined ? undefined : Number(Item.total_chunks ?? 0);
    },
  };
}

function chunk(botId: string, index: number): StoredChunk {
  return {
    bot_id: botId,
    chunk_id: `notes.md#${index}`,
    embedding: Float32Array.from({ length: DIM }, (_, d) => (d === index % DIM ? 1 : 0.1)),
    text: `chunk ${index}`,
    filename: 'notes.md',
    file_size: 100,
    chunk_index: index,
    created_at: new Date().toISOString(),
    metadata: {},
  };
}

/** Records per batch the dev stack reported, in order. */
const batchSizes = (output: string) =>
  [...output.matchAll(/\[stream\] batch of (\d+) record/g)].map((m) => Number(m[1]));

describe('npm run dev keeps its data', () => {
  it('restarts a redis-server that died, finds tables, counts, checkpoints and the secret again after a restart, and --fresh starts empty', async () => {
    const botId = `bot-${randomUUID()}`;

    const first = await startDev([]);
    expect(first.data).toMatchObject({ state: 'new' });
    expect(current?.output()).toMatch(
      /Data\s+first run: tables, stream checkpoints and the secret are kept in/,
    );
    let db = clients(first);
    await db.bots.ensure(botId, { embedding_dimension: DIM, user_id: 'dev-user' });
    await db.chunks.put(Array.from({ length: 10 }, (_, i) => chunk(botId, i)));
    await until('the first run to count 10 chunks', async () => (await db.totalChunks(botId)) === 10);

    // Its redis-server dies: one line says so, the stack starts it again and says that too.
    const redisPid = descendants(current?.child.pid as number).find((p) =>
      /redis-server/.test(p.command),
    )?.pid;
    expect(redisPid).toBeDefined();
    process.kill(redisPid as number, 'SIGKILL');
    await until('the restart', () => /redis-server is running again/.test(current?.output() ?? ''));
    expect(current?.output()).toMatch(
      /redis-server \(redis:\/\/127\.0\.0\.1:\d+\) died: killed by SIGKILL; restarting it/,
    );
    await db.chunks.put([chunk(botId, 99)]);
    await until('the count after the restart', async () => (await db.totalChunks(botId)) === 11);
    await db.chunks.delete(botId, ['notes.md#99']);
    await until('the count after the delete', async () => (await db.totalChunks(botId)) === 10);
    expect(current?.output()).not.toMatch(/Unhandled error event/);

    db.dynamodb.destroy();
    const firstOutput = await stopDev();
    expect(firstOutput).toMatch(/stopping DynamoDB Local and redis-server/);

    const second = await startDev([]);
    expect(second.data).toMatchObject({ state: 'kept' });
    expect(current?.output()).toMatch(/Data\s+kept from the last run/);
    expect(current?.output()).toMatch(/resuming \d+ shard\(s\) from the checkpoints/);
    expect(second.secret).toBe(first.secret);
    db = clients(second);
    expect(await db.totalChunks(botId)).toBe(10);
    await db.chunks.put([chunk(botId, 10)]);
    await until('the second run to count the new chunk', async () => (await db.totalChunks(botId)) === 11);
    await until('its batch line', () => batchSizes(current?.output() ?? '').length > 0);
    // Only the new record was delivered: the stream was not replayed from the start.
    expect(batchSizes(current?.output() ?? '')).toEqual([1]);
    db.dynamodb.destroy();
    await stopDev();

    const third = await startDev(['--fresh']);
    expect(third.data).toMatchObject({ state: 'fresh' });
    expect(current?.output()).toMatch(/Data\s+started empty \(--fresh\)/);
    expect(third.secret).toBe(first.secret);
    db = clients(third);
    expect(await db.totalChunks(botId)).toBeUndefined();
    db.dynamodb.destroy();
    await stopDev();
  });
});
