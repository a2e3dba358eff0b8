import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { makeDoctorHandler } from '../../handlers/doctor';
import type { StoredChunk } from '../../src/domain/types';
import { runDoctor } from '../../src/use-cases/run-doctor';
import { type DoctorWiring, doctorDeps } from '../../src/wiring/doctor';
import type { StreamHandler, StreamRunner } from '../../tools/local/stream-runner';
import {
  chunkStore,
  DIM,
  documents,
  registry,
  snapshots,
  startRunner,
  tables,
  useE2eWorld,
  wired,
  worldVariables,
} from '../fixtures/e2e-world';
import { lambdaContext } from '../fixtures/lambda-context';
import { rng } from '../fixtures/random';

/**
 * The doctor against DynamoDB Local and Redis, in the e2e world (its own tables and redis-server): drift
 * injected by hand (a count, a BotDocuments item, a snapshot row) and by the stream (a record that
 * exhausted its retries and went to the on-failure file), found, then repaired while writes keep flowing
 * through the local stream runner.
 */
// Registered before the world's hooks: jest runs afterAll hooks in the order they are declared, and the
// runner stops before the world deletes its tables.
afterAll(async () => {
  await runner?.stop();
  await rm(dir, { recursive: true, force: true });
});
useE2eWorld();

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

let runner: StreamRunner;
let wiring: DoctorWiring;
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
  dir = await mkdtemp(join(tmpdir(), 'doctor-'));
  failureFile = join(dir, 'stream-failures.jsonl');
  runner = await startRunner(losing, { maximumRetryAttempts: 1, onFailureFile: failureFile });
  wiring = await doctorDeps(wired.base, { settleMs: 1500 });
});

function makeChunk(
  botId: string,
  filename: string,
  index: number,
  random: () => number,
  id?: string,
): StoredChunk {
  const embedding = new Float32Array(DIM);
  for (let d = 0; d < DIM; d++) embedding[d] = random() * 2 - 1 + (d === 0 ? 0.01 : 0);
  return {
    bot_id: botId,
    chunk_id: id ?? `${filename}#${index}`,
    embedding,
    text: `text ${index} of ${filename}`,
    filename,
    file_size: 1000 + index,
    chunk_index: index,
    created_at: '2026-01-01T00:00:00.000Z',
    metadata: { rev: index },
  };
}

async function newBotWithSnapshot(): Promise<string> {
  const botId = `bot-${randomUUID()}`;
  await registry.ensure(botId, { embedding_dimension: DIM, user_id: 'owner-1', name: 'doctor' });
  const ticket = await snapshots.beginRebuild(botId, 0);
  if (ticket === null || !(await snapshots.commitRebuild(ticket, [], async () => []))) {
    throw new Error('could not publish an empty snapshot');
  }
  return botId;
}

/** Runs the CLI as an operator would, with this test's tables and Redis. */
async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'tools/scripts/doctor.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...worldVariables(), ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('npm run doctor', () => {
  it('finds injected drift, repairs it while writes continue, and then finds none', async () => {
    const botId = await newBotWithSnapshot();
    const random = rng(5);
    const initial = [
      ...Array.from({ length: 8 }, (_, i) => makeChunk(botId, 'a.pdf', i, random)),
      ...Array.from({ length: 6 }, (_, i) => makeChunk(botId, 'b.pdf', i, random)),
      makeChunk(botId, 'lost.pdf', 0, random, 'lost#0'),
    ];
    await chunkStore.put(initial);
    await runner.drain(30_000);
    // The lost record went to the on-failure file after its retries.
    expect(await readFile(failureFile, 'utf8')).toContain('DDBStreamBatchInfo');

    // Drift by hand: a count, a BotDocuments item, a snapshot row.
    await documents.send(
      new UpdateCommand({
        TableName: tables.botCollections,
        Key: { bot_id: botId },
        UpdateExpression: 'ADD total_chunks :five',
        ExpressionAttributeValues: { ':five': 5 },
      }),
    );
    await documents.send(
      new DeleteCommand({ TableName: tables.botDocuments, Key: { bot_id: botId, filename: 'b.pdf' } }),
    );
    await snapshots.applyChanges(botId, [{ kind: 'delete', chunk_id: 'a.pdf#3' }]);

    const checked = await cli(['--bot', botId, '--json', '--settle-ms', '200']);
    expect(checked.code).toBe(1);
    const found = JSON.parse(checked.stdout).bots[0];
    expect(found.drift).toBe(true);
    expect(found.documents).toEqual([
      { filename: 'b.pdf', truth: 6, recorded: 0 },
      { filename: 'lost.pdf', truth: 1, recorded: 0 },
    ]);
    // BotCollections says 14 + 5 chunks in 2 documents; its BotDocuments items sum to 8 chunks in 1.
    expect(found.totalsDrift).toEqual({ chunks: 8 - 19, documents: 1 - 2 });
    expect(found.snapshot.missing).toEqual(['a.pdf#3', 'lost#0']);

    // Repair with writes running: inserts, overwrites and deletes in a.pdf and c.pdf.
    let writing = true;
    const writes = (async () => {
      let n = 100;
      while (writing) {
        const batch = Array.from({ length: 3 }, () =>
          makeChunk(botId, random() < 0.5 ? 'a.pdf' : 'c.pdf', n++, random),
        );
        await chunkStore.put(batch);
        await chunkStore.put([{ ...(batch[0] as StoredChunk), text: 'overwritten' }]);
        await chunkStore.delete(botId, [(batch[1] as StoredChunk).chunk_id]);
        await delay(30);
      }
    })();
    const repaired = await runDoctor(wiring.doctor, {
      bots: [botId],
      repair: true,
      replay: wiring.replay({ file: failureFile }, { warn() {}, error() {} }),
    });
    writing = false;
    await writes;
    await runner.drain(30_000);

    expect(repaired.deadLetters).toMatchObject({ kept: 0 });
    expect(repaired.deadLetters?.removed).toBeGreaterThan(0);
    expect(repaired.deadLetters?.counted).toBe(1);
    expect((await readFile(failureFile, 'utf8')).trim()).toBe('');
    expect(repaired.drifted).toBe(1);
    expect(repaired.bots[0]?.repair?.deferred).toBe(0);

    const after = await runDoctor(wiring.doctor, { bots: [botId], repair: false, replay: null });
    expect(after.bots[0]).toMatchObject({ drift: false, documents: [], totalsDrift: null });
    expect(after.bots[0]?.snapshot).toMatchObject({
      state: 'current',
      missing: [],
      extra: [],
      different: [],
    });
    const truth = after.bots[0]?.truth;
    const { Item } = await documents.send(
      new GetCommand({ TableName: tables.botCollections, Key: { bot_id: botId }, ConsistentRead: true }),
    );
    expect({ chunks: Item?.total_chunks, documents: Item?.total_documents }).toEqual(truth);
    expect(truth?.documents).toBeGreaterThanOrEqual(3);

    const clean = await cli(['--bot', botId]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('1 bot(s) checked: 1 agree, 0 drifted');
  });

  it('--repair replays the dead letters first, so a lost record is counted once and never again', async () => {
    const totalChunks = async (botId: string) =>
      (
        await documents.send(
          new GetCommand({ TableName: tables.botCollections, Key: { bot_id: botId }, ConsistentRead: true }),
        )
      ).Item?.total_chunks;
    const lostBot = async (seed: number) => {
      const botId = await newBotWithSnapshot();
      const random = rng(seed);
      await chunkStore.put([
        ...Array.from({ length: 3 }, (_, i) => makeChunk(botId, 'k.pdf', i, random)),
        makeChunk(botId, 'lost.pdf', 0, random, `lost#${seed}`),
      ]);
      await runner.drain(30_000);
      expect(await totalChunks(botId)).toBe(3);
      return botId;
    };
    await writeFile(failureFile, '');

    const replayed = await lostBot(21);
    const repaired = await cli(['--bot', replayed, '--repair', '--dead-letters', failureFile, '--json']);
    const report = JSON.parse(repaired.stdout);
    expect(report.deadLetters).toMatchObject({ counted: 1, kept: 0 });
    expect(report.bots[0]).toMatchObject({ drift: false });
    expect((await readFile(failureFile, 'utf8')).trim()).toBe('');
    expect(await totalChunks(replayed)).toBe(4);
    // Nothing left to count twice.
    const again = await cli(['--bot', replayed, '--replay-dead-letters', '--dead-letters', failureFile]);
    expect(again.code).toBe(0);
    expect(await totalChunks(replayed)).toBe(4);

    const skipped = await lostBot(22);
    const recounted = await cli([
      '--bot',
      skipped,
      '--repair',
      '--skip-dead-letters',
      '--dead-letters',
      failureFile,
      '--settle-ms',
      '200',
    ]);
    expect(recounted.code).toBe(1);
    expect(recounted.stderr).toContain('dead letters not replayed (--skip-dead-letters)');
    expect(await totalChunks(skipped)).toBe(4);
    expect(await readFile(failureFile, 'utf8')).toContain('DDBStreamBatchInfo');
    await writeFile(failureFile, '');

    const contradiction = await cli(['--bot', skipped, '--skip-dead-letters']);
    expect(contradiction.code).toBe(2);
    expect(contradiction.stderr).toContain('--skip-dead-letters goes with --repair');
  });

  it('runs as the scheduled Lambda function: repairs and says how many bots drifted', async () => {
    const botId = await newBotWithSnapshot();
    await chunkStore.put(Array.from({ length: 4 }, (_, i) => makeChunk(botId, 'm.pdf', i, rng(9))));
    await runner.drain(30_000);
    await documents.send(
      new UpdateCommand({
        TableName: tables.botDocuments,
        Key: { bot_id: botId, filename: 'm.pdf' },
        UpdateExpression: 'SET chunk_count = :wrong',
        ExpressionAttributeValues: { ':wrong': 9 },
      }),
    );
    const input = { bots: [botId], repair: true, replayDeadLetters: false };
    const doctorHandler = makeDoctorHandler({
      wiring: () => doctorDeps(wired.base),
      deadLetterQueueUrl: () => undefined,
    });
    expect(await doctorHandler(input, lambdaContext())).toMatchObject({
      bots: 1,
      drifted: 1,
      repaired: 1,
      errors: 0,
    });
    expect(await doctorHandler({ ...input, repair: false }, lambdaContext())).toMatchObject({ drifted: 0 });
  });

  it('checks every bot with --all and shows progress with a rate and an ETA', async () => {
    const botId = await newBotWithSnapshot();
    await chunkStore.put([makeChunk(botId, 'x.pdf', 0, rng(1))]);
    await runner.drain(30_000);
    const result = await cli(['--all']);
    expect(result.stderr).toMatch(/\[doctor\] \[#+\] \d+\/\d+ bots {2}[\d.]+ bots\/s {2}ETA \d+s/);
    expect(result.stdout).toMatch(/bot\(s\) checked/);
  });

  it('says what is wrong: an unknown bot, a missing table, no Redis (counts still checked), bad arguments', async () => {
    const unknown = await cli(['--bot', 'no-such-bot']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('bot no-such-bot is not in BotCollections');

    const absent = `Missing-${randomUUID().slice(0, 8)}`;
    const missing = await cli(['--all'], { TABLE_BOT_DOCUMENTS: absent });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`table ${absent} does not exist`);

    const botId = await newBotWithSnapshot();
    await chunkStore.put([makeChunk(botId, 'y.pdf', 0, rng(2))]);
    await runner.drain(30_000);
    const noRedis = await cli(['--bot', botId], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(noRedis.code).toBe(0);
    expect(noRedis.stderr).toContain('snapshots not checked');

    const usage = await cli(['--bot', botId, '--all']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: npm run doctor');
  });
});
