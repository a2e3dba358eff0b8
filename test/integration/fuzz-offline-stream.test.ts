import { randomUUID } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { DynamoDBBatchResponse } from 'aws-lambda';
import fc from 'fast-check';
import { localFunctionName } from '../../tools/local/dev-stream';
import { badSearchBody, enc } from '../fixtures/bad-requests';
import { badStreamRecord, oddItem } from '../fixtures/bad-stream-records';
import {
  type Answer,
  type FuzzWorld,
  forEach,
  fuzzConfig,
  refusalProblems,
  runs,
  sample,
  seed,
  startFuzzWorld,
} from '../fixtures/fuzz-dev';
import { chunkItem, StreamEventFactory, streamEvent } from '../fixtures/stream-events';
import { waitUntil } from '../fixtures/wait';

/**
 * The fuzz suite of the stream and of load, on the dev stack (`npm run dev`: bundled handlers under
 * serverless-offline, the stream runner reading DynamoDB Local's real stream, Redis):
 * - generated odd items put straight into VectorEmbeddings, as any writer can: each counted once, in
 *   its document when it names one, never served by search, and the shard moves on;
 * - generated malformed stream records handed to the stream function: skipped, no batch failure, no
 *   count moved;
 * - concurrent searches, bad requests and uploads at once: every search 200 and exact, every bad
 *   request refused with a 4xx naming its field, every upload counted.
 * FUZZ_SEED and FUZZ_RUNS as in fuzz-offline.test.ts.
 */
const DIM = 8;
/** Odd items per run: a fifth of FUZZ_RUNS, at most what one search can list (100 with the clean upload). */
const ODD_ITEMS = Math.min(95, Math.max(40, Math.round(runs / 5)));
const CONCURRENT_SEARCHES = 150;

jest.setTimeout(Math.max(600_000, runs * 2000));

let world: FuzzWorld;
let lambda: LambdaClient;
const config = fuzzConfig('fuzzstream');

beforeAll(async () => {
  process.stderr.write(
    `[fuzz stream] seed ${seed} (replay with FUZZ_SEED=${seed}), ${ODD_ITEMS} odd items\n`,
  );
  world = await startFuzzWorld('fuzz stream', config);
  lambda = new LambdaClient({
    endpoint: world.stack().lambdaEndpoint,
    region: world.stack().region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}, 300_000);

afterAll(async () => {
  lambda?.destroy();
  await world?.stop();
}, 60_000);

const path = (botId: string, rest = '') => `/bots/${enc(botId)}${rest}`;
const json = (value: unknown) => JSON.stringify(value);

async function createBot(name: string): Promise<string> {
  const botId = `${name}-${randomUUID().slice(0, 8)}`;
  const put = await world.send({
    method: 'PUT',
    path: path(botId),
    body: json({ embedding_dimension: DIM }),
  });
  expect(put.status).toBe(201);
  return botId;
}

async function totalChunks(botId: string): Promise<unknown> {
  return ((await world.send({ method: 'GET', path: path(botId) })).json as { total_chunks?: unknown })
    .total_chunks;
}

async function listed(botId: string): Promise<Record<string, number>> {
  const answer = await world.send({ method: 'GET', path: path(botId, '/documents') });
  const { documents } = answer.json as { documents: { filename: string; chunk_count: number }[] };
  return Object.fromEntries(documents.map((d) => [d.filename, d.chunk_count]));
}

function upload(botId: string, filename: string, chunks: number, seedOf: (c: number) => number) {
  const body = {
    filename,
    file_size: 10,
    chunks: Array.from({ length: chunks }, (_, c) => ({
      chunk_index: c,
      text: `${filename} ${c}`,
      embedding: Array.from({ length: DIM }, (_, d) => Math.sin(seedOf(c) * 3.7 + d)),
    })),
  };
  return world.send({ method: 'POST', path: path(botId, '/documents'), body: json(body) });
}

async function searchIds(
  botId: string,
  embedding: number[],
  limit: number,
): Promise<Answer & { ids: string[] }> {
  const answer = await world.send({
    method: 'POST',
    path: path(botId, '/search'),
    body: json({ embedding, limit }),
  });
  const results = (answer.json as { results?: { chunk_id: string }[] }).results ?? [];
  return { ...answer, ids: results.map((r) => r.chunk_id) };
}

describe(`fuzzing the stream and concurrent load through the dev stack (seed ${seed})`, () => {
  it('counts generated odd items written straight into the table once each, and serves only the usable ones', async () => {
    const botId = await createBot('odd');
    const items = sample(oddItem(DIM), 11, ODD_ITEMS).map((item, i) => ({ ...item, chunkId: `odd-${i}` }));
    const half = Math.floor(items.length / 2);
    for (const [i, item] of items.entries()) {
      if (i === half) expect((await upload(botId, 'clean.md', 5, (c) => c)).status).toBe(200);
      await world.dynamodb.send(
        new PutItemCommand({
          TableName: config.tables.vectorEmbeddings,
          Item: { bot_id: { S: botId }, chunk_id: { S: item.chunkId }, ...item.attributes },
        }),
      );
    }
    const expectedTotal = items.length + 5;
    await waitUntil(
      'the stream to count every odd item',
      async () => (await totalChunks(botId)) === expectedTotal,
      {
        timeoutMs: 120_000,
        intervalMs: 250,
      },
    );

    const byDocument: Record<string, number> = { 'clean.md': 5 };
    for (const item of items) {
      if (item.filename !== undefined) byDocument[item.filename] = (byDocument[item.filename] ?? 0) + 1;
    }
    expect(await listed(botId)).toEqual(byDocument);
    const served = await searchIds(botId, Array(DIM).fill(0.5), 100);
    expect(served.status).toBe(200);
    const usable = items.filter((item) => item.usable).map((item) => item.chunkId);
    const cleanUpload = served.ids.filter((id) => !id.startsWith('odd-'));
    expect(cleanUpload).toHaveLength(5);
    expect(served.ids.filter((id) => id.startsWith('odd-')).sort()).toEqual(usable.sort());
    expect(world.stack().streamRunner.stats()).toMatchObject({ failedBatches: 0, failedRecords: 0 });
    const defects = new Set(items.map((item) => item.defect));
    process.stderr.write(
      `[fuzz stream] ${items.length} odd items, ${usable.length} usable, ${defects.size} kinds\n`,
    );
  });

  it('skips generated malformed records handed to the stream function, without a batch failure or a count moved', async () => {
    const botId = await createBot('records');
    const { region } = world.stack();
    const events = new StreamEventFactory({
      eventSourceARN: `arn:aws:dynamodb:${region}:000000000000:table/${config.tables.vectorEmbeddings}/stream/2026-01-01T00:00:00.000`,
    });
    const batches = sample(
      fc.array(badStreamRecord, { minLength: 1, maxLength: 8 }),
      12,
      Math.max(20, runs / 10),
    );
    let chunk = 0;
    const failures: string[] = [];
    for (const defects of batches) {
      const valid = events.insert(chunkItem(botId, 'r.md', chunk++, { dimension: DIM }));
      const bad = defects.map(({ apply }) =>
        apply(events.insert(chunkItem(botId, 'r.md', chunk++, { dimension: DIM }))),
      );
      const result = await lambda.send(
        new InvokeCommand({
          FunctionName: localFunctionName('streamSync'),
          Payload: Buffer.from(json(streamEvent([...bad, valid]))),
        }),
      );
      const text = Buffer.from(result.Payload ?? new Uint8Array()).toString('utf8');
      const response =
        result.FunctionError === undefined ? (JSON.parse(text) as DynamoDBBatchResponse) : undefined;
      if (response?.batchItemFailures.length !== 0) {
        failures.push(`${defects.map((d) => d.defect).join(', ')}: ${text.slice(0, 200)}`);
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
    expect(await totalChunks(botId)).toBe(batches.length);
    expect(await listed(botId)).toEqual({ 'r.md': batches.length });
  });

  it('answers concurrent searches exactly while bad requests and uploads arrive at once', async () => {
    const searched = await createBot('load');
    const written = await createBot('writes');
    for (let d = 0; d < 4; d++) {
      expect((await upload(searched, `doc-${d}.md`, 50, (c) => d * 50 + c)).status).toBe(200);
    }
    await waitUntil('the searched bot counted', async () => (await totalChunks(searched)) === 200, {
      timeoutMs: 60_000,
    });
    const queries = Array.from({ length: 6 }, (_, q) =>
      Array.from({ length: DIM }, (_, d) => Math.cos(q * 1.3 + d)),
    );
    const expected = await Promise.all(
      queries.map(async (query) => (await searchIds(searched, query, 10)).ids),
    );
    const bad = sample(badSearchBody(DIM), 13, 60);

    type Job = () => Promise<string | undefined>;
    const jobs: Job[] = [
      ...Array.from(
        { length: CONCURRENT_SEARCHES },
        (_, i): Job =>
          async () => {
            const answer = await searchIds(searched, queries[i % queries.length] as number[], 10);
            if (answer.status !== 200) return `search ${i}: ${answer.status} ${answer.text.slice(0, 120)}`;
            return json(answer.ids) === json(expected[i % queries.length])
              ? undefined
              : `search ${i}: other results`;
          },
      ),
      ...bad.map(
        ([body, defect]): Job =>
          async () => {
            const problems = refusalProblems(
              await world.send({
                method: 'POST',
                path: path(searched, '/search'),
                body,
                contentType: 'application/json',
              }),
            );
            return problems.length === 0 ? undefined : `bad search [${defect}]: ${problems.join(', ')}`;
          },
      ),
      ...Array.from(
        { length: 10 },
        (_, u): Job =>
          async () => {
            const answer = await upload(written, `w-${u}.md`, 5, (c) => 1000 + u * 5 + c);
            return answer.status === 200
              ? undefined
              : `upload ${u}: ${answer.status} ${answer.text.slice(0, 120)}`;
          },
      ),
    ];
    const shuffled =
      fc.sample(fc.shuffledSubarray(jobs, { minLength: jobs.length }), { seed, numRuns: 1 })[0] ?? jobs;
    const failures: string[] = [];
    await forEach(
      shuffled,
      async (job) => {
        const failure = await job();
        if (failure !== undefined) failures.push(failure);
      },
      shuffled.length,
    );

    expect(failures.slice(0, 5)).toEqual([]);
    await waitUntil('the uploads counted', async () => (await totalChunks(written)) === 50, {
      timeoutMs: 60_000,
    });
    expect(await totalChunks(searched)).toBe(200);
    expect(Object.values(await listed(written))).toEqual(Array(10).fill(5));
    expect(await listed(searched)).toEqual({
      'doc-0.md': 50,
      'doc-1.md': 50,
      'doc-2.md': 50,
      'doc-3.md': 50,
    });
  });
});
