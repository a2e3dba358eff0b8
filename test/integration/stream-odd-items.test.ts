import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type AttributeValue, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { StreamRunner } from '../../tools/local/stream-runner';
import {
  catalog,
  DIM,
  documents,
  dynamodb,
  handler,
  registerBot,
  snapshots,
  startRunner,
  tables,
  useE2eWorld,
  worldVariables,
} from '../fixtures/e2e-world';
import { lambdaContext } from '../fixtures/lambda-context';
import { chunkItem, StreamEventFactory, streamEvent } from '../fixtures/stream-events';
import { waitUntil } from '../fixtures/wait';

/**
 * Items that the design document's own client can write but no snapshot can serve, on DynamoDB Local with
 * its real stream read by the local stream runner (records exactly as DynamoDB sends them) and Redis:
 * each is counted once, kept out of the snapshot, named by the doctor, and the shard moves on.
 */
afterAll(async () => {
  await runner?.stop();
});
useE2eWorld();

let runner: StreamRunner;
beforeAll(async () => {
  runner = await startRunner(handler);
});

/** A VectorEmbeddings item as the design's boto3 client puts it: numbers as Decimal strings, embedding a List. */
function designItem(
  botId: string,
  chunkId: string,
  fields: { filename?: string; embedding?: string[] },
): Record<string, AttributeValue> {
  const embedding =
    fields.embedding ?? Array.from({ length: DIM }, (_, d) => `0.${(d + 1) * 137 + chunkId.length}`);
  return {
    bot_id: { S: botId },
    chunk_id: { S: chunkId },
    embedding: { L: embedding.map((n) => ({ N: n })) },
    text: { S: `text of ${chunkId}` },
    ...(fields.filename === undefined ? {} : { filename: { S: fields.filename } }),
    file_size: { N: '1234' },
    chunk_index: { N: '0' },
    created_at: { S: '2026-01-01T00:00:00Z' },
  };
}

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

async function doctorJson(botId: string): Promise<{ code: number; report: Record<string, unknown> }> {
  const env = { ...process.env, ...worldVariables() };
  try {
    const { stdout } = await run('npx', ['tsx', 'tools/scripts/doctor.ts', '--bot', botId, '--json'], {
      cwd: root,
      env,
    });
    return { code: 0, report: JSON.parse(stdout) };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`doctor exited ${failed.code}: ${failed.stderr ?? ''}${failed.stdout ?? ''}`);
  }
}

async function totals(botId: string) {
  const { Item } = await documents.send(
    new GetCommand({ TableName: tables.botCollections, Key: { bot_id: botId }, ConsistentRead: true }),
  );
  const listed: Record<string, number> = {};
  for await (const page of catalog.all(botId)) for (const doc of page) listed[doc.filename] = doc.chunk_count;
  return { chunks: Item?.total_chunks, documents: Item?.total_documents, listed };
}

describe('items the snapshot cannot serve, written by the design document’s client', () => {
  it('counts each once, keeps them out of the snapshot, and the doctor names them and exits 0', async () => {
    const botId = await registerBot();
    const normal = Array.from({ length: 8 }, (_, i) => designItem(botId, `ok-${i}`, { filename: 'a.pdf' }));
    const huge = designItem(botId, 'huge', {
      filename: 'a.pdf',
      embedding: ['1E+30', ...Array.from({ length: DIM - 1 }, () => '0.5')],
    });
    const short = designItem(botId, 'short', { filename: 'a.pdf', embedding: ['0.1', '0.2', '0.3'] });
    const nameless = designItem(botId, 'nameless', {});
    for (const item of [...normal, huge, short, nameless]) {
      await dynamodb.send(new PutItemCommand({ TableName: tables.vectorEmbeddings, Item: item }));
    }

    // The stream counts, then builds the bot's first snapshot in the same invocation.
    await waitUntil(
      'eleven chunks counted and a snapshot built',
      async () => (await totals(botId)).chunks === 11 && (await snapshots.read(botId)) !== null,
      { timeoutMs: 60_000 },
    );

    expect(await totals(botId)).toEqual({ chunks: 11, documents: 1, listed: { 'a.pdf': 10 } });
    const snapshot = await snapshots.read(botId);
    expect(snapshot?.rows.map((row) => row.chunk_id).sort()).toEqual(
      normal.map((item) => item.chunk_id?.S).sort(),
    );
    expect(runner.stats()).toMatchObject({ failedBatches: 0, failedRecords: 0 });

    const { code, report } = await doctorJson(botId);
    expect(code).toBe(0);
    const [bot] = report.bots as { drift: boolean; truth: unknown; unusable: { chunkId: string }[] }[];
    expect(report.errors).toEqual([]);
    expect(bot?.drift).toBe(false);
    expect(bot?.truth).toEqual({ chunks: 11, documents: 1 });
    expect(bot?.unusable.map((u) => u.chunkId)).toEqual(['huge', 'nameless', 'short']);
  });
});

describe('records that are not VectorEmbeddings changes, delivered to the deployed handler', () => {
  it('skips them without a batch failure and without touching the counts', async () => {
    const botId = await registerBot();
    const events = new StreamEventFactory({
      eventSourceARN: `arn:aws:dynamodb:us-east-1:000000000000:table/${tables.vectorEmbeddings}/stream/2026-01-01T00:00:00.000`,
    });
    const ours = events.insert(chunkItem(botId, 'a.pdf', 0, { dimension: DIM }));
    const otherTable = {
      ...events.insert(chunkItem(botId, 'a.pdf', 1, { dimension: DIM })),
      eventSourceARN:
        'arn:aws:dynamodb:us-east-1:000000000000:table/Elsewhere/stream/2026-01-01T00:00:00.000',
    };
    const otherSource = {
      ...events.insert(chunkItem(botId, 'a.pdf', 2, { dimension: DIM })),
      eventSource: 'aws:sqs',
    };
    const nan = events.insert(chunkItem(botId, 'a.pdf', 3, { dimension: DIM, encoding: 'list' }));
    const list = nan.dynamodb?.NewImage?.embedding?.L;
    if (list !== undefined) list[0] = { N: 'NaN' };

    const response = await handler(streamEvent([ours, otherTable, otherSource, nan]), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(await totals(botId)).toEqual({ chunks: 1, documents: 1, listed: { 'a.pdf': 1 } });
  });
});
