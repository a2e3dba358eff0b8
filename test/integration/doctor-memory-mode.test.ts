import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { makeDoctorHandler } from '../../handlers/doctor';
import type { StoredChunk } from '../../src/domain/types';
import { runDoctor } from '../../src/use-cases/run-doctor';
import { doctorDeps } from '../../src/wiring/doctor';
import type { StreamHandler, StreamRunner } from '../../tools/local/stream-runner';
import { lambdaContext } from '../fixtures/lambda-context';
import {
  type Container,
  chunkStore,
  config,
  container,
  DIM,
  documents,
  registerBot,
  startRunner,
  useMemoryWorld,
  wired,
  worldVariables,
} from '../fixtures/memory-world';
import { rng } from '../fixtures/random';
import { randomVector } from '../fixtures/search-world';

/**
 * The doctor in the memory snapshot mode (SNAPSHOT_MODE=memory, no Redis) against DynamoDB Local: a record
 * that exhausted its retries leaves the counts short and the containers' held copies without its chunk,
 * at a data_version that does not say so. The doctor finds the drift, and its repair makes every
 * container read the bot again.
 */
// Registered before the world's hooks: jest runs afterAll hooks in the order they are declared, and the
// runner stops before the world deletes its tables.
afterAll(async () => {
  await runner?.stop();
  await rm(dir, { recursive: true, force: true });
});
useMemoryWorld();

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

let runner: StreamRunner;
let dir: string;
let failureFile: string;

/** The stream handler, except that records of chunks named `lost…` never get through: they exhaust their retries. */
const losing: StreamHandler = async (event, context) => {
  const lost = event.Records.filter((r) => r.dynamodb?.Keys?.chunk_id?.S?.startsWith('lost'));
  const passed = event.Records.filter((r) => !lost.includes(r));
  const response = (await wired.streamSync({ Records: passed }, context)) as DynamoDBBatchResponse;
  return {
    batchItemFailures: [
      ...response.batchItemFailures,
      ...lost.map((r) => ({ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' })),
    ],
  };
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doctor-memory-'));
  failureFile = join(dir, 'stream-failures.jsonl');
  runner = await startRunner(undefined, {
    handler: losing,
    maximumRetryAttempts: 1,
    onFailureFile: failureFile,
  });
});

function makeChunk(
  botId: string,
  filename: string,
  index: number,
  embedding: number[],
  id?: string,
): StoredChunk {
  return {
    bot_id: botId,
    chunk_id: id ?? `${filename}#${index}`,
    embedding: Float32Array.from(embedding),
    text: `text ${index} of ${filename}`,
    filename,
    file_size: 1000 + index,
    chunk_index: index,
    created_at: '2026-01-01T00:00:00.000Z',
    metadata: { rev: index },
  };
}

/** Runs the CLI as an operator would, in the memory mode over this world's tables (no REDIS_URL). */
async function cli(args: string[]) {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'tools/scripts/doctor.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...worldVariables() },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const dataVersion = async (botId: string): Promise<number> => {
  const { Item } = await documents.send(
    new GetCommand({ TableName: config.tables.botCollections, Key: { bot_id: botId }, ConsistentRead: true }),
  );
  return Number(Item?.data_version ?? 0);
};

const heldIds = (one: Container, botId: string) =>
  one
    .held(botId)
    ?.rows.map((row) => row.chunk_id)
    .sort();

describe('npm run doctor in the memory snapshot mode', () => {
  it('counts a lost record exactly once by replaying the on-failure file, and containers catch up from the log', async () => {
    const botId = await registerBot();
    const random = rng(37);
    await chunkStore.put(
      Array.from({ length: 4 }, (_, i) => makeChunk(botId, 'b.pdf', i, randomVector(DIM, random))),
    );
    await runner.drain(30_000);
    const query = randomVector(DIM, random);
    const held = container();
    await held.search(botId, query, { limit: 3 });
    await chunkStore.put([makeChunk(botId, 'lost.pdf', 0, query, 'lost#1')]);
    await runner.drain(30_000);

    // Replayed before any repair, as the doctor does: the repair of counts does not claim the record.
    const wiring = await doctorDeps(wired.base, { settleMs: 200 });
    const replayed = await runDoctor(wiring.doctor, {
      bots: [botId],
      repair: false,
      replay: wiring.replay({ file: failureFile }, { warn() {}, error() {} }),
    });

    expect(replayed.deadLetters).toMatchObject({ counted: 1, kept: 0 });
    expect(replayed.bots[0]).toMatchObject({ drift: false, truth: { chunks: 5, documents: 2 } });
    const queries = held.reads.rangeQueries;
    const answer = await held.search(botId, query, { limit: 3 });
    expect(answer.results[0]?.chunk_id).toBe('lost#1');
    // The replayed record is in the change log like any other: the copy caught up without a whole read.
    expect(held.reads.rangeQueries).toBe(queries);
  });

  it('runs as the scheduled Lambda function: repairs, moves data_version and says how many bots drifted', async () => {
    const botId = await registerBot();
    const random = rng(41);
    await chunkStore.put(
      Array.from({ length: 4 }, (_, i) => makeChunk(botId, 'm.pdf', i, randomVector(DIM, random))),
    );
    await runner.drain(30_000);
    await documents.send(
      new UpdateCommand({
        TableName: config.tables.botDocuments,
        Key: { bot_id: botId, filename: 'm.pdf' },
        UpdateExpression: 'SET chunk_count = :wrong',
        ExpressionAttributeValues: { ':wrong': 9 },
      }),
    );
    const before = await dataVersion(botId);
    const input = { bots: [botId], repair: true, replayDeadLetters: false };
    const doctorHandler = makeDoctorHandler({
      wiring: () => doctorDeps(wired.base, { settleMs: 200 }),
      deadLetterQueueUrl: () => undefined,
    });

    expect(await doctorHandler(input, lambdaContext())).toMatchObject({
      bots: 1,
      drifted: 1,
      repaired: 1,
      errors: 0,
    });
    expect(await dataVersion(botId)).toBe(before + 1);
    expect(await doctorHandler({ ...input, repair: false }, lambdaContext())).toMatchObject({ drifted: 0 });
  });

  it('finds the drift a lost record leaves, and its repair makes every held copy read the bot again', async () => {
    const botId = await registerBot();
    const random = rng(31);
    await chunkStore.put(
      Array.from({ length: 6 }, (_, i) => makeChunk(botId, 'a.pdf', i, randomVector(DIM, random))),
    );
    await runner.drain(30_000);
    const query = randomVector(DIM, random);
    const early = container();
    expect((await early.search(botId, query, { limit: 3 })).source).toBe('snapshot');

    // The lost chunk is the query itself, so it is the best answer wherever it is held.
    await chunkStore.put([makeChunk(botId, 'lost.pdf', 0, query, 'lost#0')]);
    await runner.drain(30_000);
    expect(await readFile(failureFile, 'utf8')).toContain('DDBStreamBatchInfo');
    // The drift the repair is for: the version did not move, so a copy loaded before the lost write and
    // one loaded after it both stand for that version, and only the later one holds the chunk.
    const late = container();
    await late.search(botId, query, { limit: 3 });
    expect(early.held(botId)?.version).toBe(late.held(botId)?.version);
    expect(heldIds(early, botId)).not.toContain('lost#0');
    expect(heldIds(late, botId)).toContain('lost#0');
    await documents.send(
      new UpdateCommand({
        TableName: config.tables.botCollections,
        Key: { bot_id: botId },
        UpdateExpression: 'ADD total_chunks :five',
        ExpressionAttributeValues: { ':five': 5 },
      }),
    );

    const checked = await cli(['--bot', botId, '--json', '--settle-ms', '200']);
    expect(checked.code).toBe(1);
    const report = JSON.parse(checked.stdout);
    expect(report.snapshotsSkipped).toMatch(/^SNAPSHOT_MODE=memory keeps no shared snapshot/);
    expect(report.bots[0]).toMatchObject({
      drift: true,
      truth: { chunks: 7, documents: 2 },
      recorded: { chunks: 11, documents: 1 },
      documents: [{ filename: 'lost.pdf', truth: 1, recorded: 0 }],
      snapshot: { missing: [], extra: [], different: [] },
    });
    const before = await dataVersion(botId);

    const repaired = await cli(['--bot', botId, '--repair', '--settle-ms', '200']);
    expect(repaired.code).toBe(1);
    expect(repaired.stderr).toContain('snapshots not checked: SNAPSHOT_MODE=memory');
    expect(repaired.stdout).toContain('data_version moved (search containers read the bot again)');
    expect(repaired.stdout).toContain('1 bot(s) checked: 0 agree, 1 drifted (1 repaired)');
    expect(await dataVersion(botId)).toBe(before + 1);

    // Neither container answers from the copy it held: both read the bot whole, at the moved version.
    for (const one of [early, late]) {
      const queries = one.reads.rangeQueries;
      const answer = await one.search(botId, query, { limit: 3 });
      expect(answer.source).toBe('snapshot');
      expect(answer.results[0]?.chunk_id).toBe('lost#0');
      expect(one.reads.rangeQueries - queries).toBe(8);
      expect(one.held(botId)?.version).toBe(String(before + 1));
    }
    expect(heldIds(early, botId)).toEqual(heldIds(late, botId));

    const wiring = await doctorDeps(wired.base, { settleMs: 200 });
    const after = await runDoctor(wiring.doctor, { bots: [botId], repair: false, replay: null });
    expect(after.bots[0]).toMatchObject({ drift: false, truth: { chunks: 7, documents: 2 } });
  });
});
