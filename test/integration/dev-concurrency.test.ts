import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config';
import { type DevStack, startDevStack } from '../../tools/local/dev-stack';
import { randomVector, rng } from '../fixtures/search-world';

/**
 * Many concurrent searches against the dev stack (`npm run dev`: serverless-offline behind its invocation
 * gate, DynamoDB Local, Redis, the stream runner): every one answers 200 with the right results, and the
 * dev server's memory stays bounded because it runs a bounded number of handler instances. Sized for CI
 * (800 chunks, 120 searches at once, once the stream has brought every write to the snapshot); docs/api.md gives the figures at 20k chunks and 200 searches.
 */
const suffix = randomUUID().slice(0, 8);
const DIM = 384;
const CHUNKS_PER_DOCUMENT = 200;
const DOCUMENTS = 4;
const CONCURRENT = 120;
/** The dev server's peak memory at this size stays far below this (one instance per request: several GB). */
const PEAK_RSS_BOUND_BYTES = 2 * 1024 ** 3;

const config = loadConfig({
  ...process.env,
  TABLE_VECTOR_EMBEDDINGS: `VectorEmbeddings-load-${suffix}`,
  TABLE_BOT_COLLECTIONS: `BotCollections-load-${suffix}`,
  TABLE_BOT_DOCUMENTS: `BotDocuments-load-${suffix}`,
  TABLE_DOCUMENT_LEASES: `DocumentLeases-load-${suffix}`,
});
let stack: DevStack;

beforeAll(async () => {
  stack = await startDevStack({
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_REGION: config.region,
      DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT,
      REDIS_URL: process.env.REDIS_URL,
      LOCAL_JWT_SECRET: randomBytes(32).toString('hex'),
      TABLE_VECTOR_EMBEDDINGS: config.tables.vectorEmbeddings,
      TABLE_BOT_COLLECTIONS: config.tables.botCollections,
      TABLE_BOT_DOCUMENTS: config.tables.botDocuments,
      TABLE_DOCUMENT_LEASES: config.tables.documentLeases,
    },
    log: (message) => process.stderr.write(`[load dev stack] ${message}\n`),
    offlineOutput: () => {},
  });
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

async function send(method: string, path: string, body?: unknown) {
  const response = await fetch(`${stack.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    aa += (a[i] as number) ** 2;
    bb += (b[i] as number) ** 2;
  }
  return dot / Math.sqrt(aa * bb);
}

/** Polls `check` every 250 ms until it holds; fails the test after `ms`. */
async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not settled within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The peak resident memory of a process (Linux VmHWM), in bytes. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return Number(line?.[1]) * 1024;
}

describe('the dev stack under concurrent searches', () => {
  it(`answers ${CONCURRENT} concurrent searches of a ${CHUNKS_PER_DOCUMENT * DOCUMENTS}-chunk bot, every one 200 and right, with bounded memory`, async () => {
    const botId = `load-${suffix}`;
    expect((await send('PUT', `/bots/${botId}`, { embedding_dimension: DIM })).status).toBe(201);
    const random = rng(2026);
    const stored: { text: string; embedding: number[] }[] = [];
    for (let d = 0; d < DOCUMENTS; d++) {
      const chunks = Array.from({ length: CHUNKS_PER_DOCUMENT }, (_, c) => ({
        chunk_index: c,
        text: `document ${d} chunk ${c}`,
        embedding: randomVector(DIM, random),
        metadata: { d },
      }));
      stored.push(...chunks);
      const written = await send('POST', `/bots/${botId}/documents`, {
        filename: `doc-${d}.md`,
        file_size: 1,
        chunks,
      });
      expect(written.status).toBe(200);
    }
    const queries = Array.from({ length: 6 }, () => randomVector(DIM, random));
    // The right answer: brute-force cosine over every chunk written (texts are unique).
    const expected = queries.map((query) =>
      stored
        .map((chunk) => ({ text: chunk.text, score: cosine(query, chunk.embedding) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 5)
        .map((hit) => hit.text),
    );
    const textsOf = (json: Record<string, unknown>) =>
      ((json.results ?? []) as { text: string }[]).map((hit) => hit.text);
    // Search is as fresh as the stream: wait until the stream has brought every write to the snapshot.
    await until(async () => {
      const answers = await Promise.all(
        queries.map((embedding) => send('POST', `/bots/${botId}/search`, { embedding, limit: 5 })),
      );
      return answers.every(
        (answer, q) => JSON.stringify(textsOf(answer.json)) === JSON.stringify(expected[q]),
      );
    }, 120_000);

    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        send('POST', `/bots/${botId}/search`, { embedding: queries[i % queries.length], limit: 5 }),
      ),
    );

    const failed = answers.filter((answer) => answer.status !== 200);
    expect(failed.slice(0, 3)).toEqual([]);
    answers.forEach((answer, i) => {
      expect(textsOf(answer.json)).toEqual(expected[i % queries.length]);
    });
    const peak = peakRss(stack.offlinePid as number);
    process.stderr.write(`[load] serverless-offline peak RSS ${(peak / 1024 ** 2).toFixed(0)} MiB\n`);
    expect(peak).toBeLessThan(PEAK_RSS_BOUND_BYTES);
  }, 300_000);
});
