import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config';
import { type DevStack, startDevStack } from '../../tools/local/dev-stack';
import { randomVector, rng } from '../fixtures/search-world';

/**
 * Many concurrent searches against the dev stack (`npm run dev`: serverless-offline behind its invocation
 * gate, DynamoDB Local, Redis, the stream runner): every one answers 200 with the right results, and the
 * dev server's memory stays bounded because it runs a bounded number of handler instances. Sized for CI
 * (800 chunks, 120 searches at once; the stream runner keeps counting meanwhile); docs/api.md gives the figures at 20k chunks and 200 searches.
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
    for (let d = 0; d < DOCUMENTS; d++) {
      const chunks = Array.from({ length: CHUNKS_PER_DOCUMENT }, (_, c) => ({
        chunk_index: c,
        text: `document ${d} chunk ${c}`,
        embedding: randomVector(DIM, random),
        metadata: { d },
      }));
      const written = await send('POST', `/bots/${botId}/documents`, {
        filename: `doc-${d}.md`,
        file_size: 1,
        chunks,
      });
      expect(written.status).toBe(200);
    }
    const queries = Array.from({ length: 6 }, () => randomVector(DIM, random));
    const expected = await Promise.all(
      queries.map(
        async (embedding) => (await send('POST', `/bots/${botId}/search`, { embedding, limit: 5 })).json,
      ),
    );

    const answers = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        send('POST', `/bots/${botId}/search`, { embedding: queries[i % queries.length], limit: 5 }),
      ),
    );

    const failed = answers.filter((answer) => answer.status !== 200);
    expect(failed.slice(0, 3)).toEqual([]);
    answers.forEach((answer, i) => {
      const ids = (answer.json.results as { chunk_id: string }[]).map((hit) => hit.chunk_id);
      const want = (
        (expected[i % queries.length] as Record<string, unknown>).results as { chunk_id: string }[]
      ).map((hit) => hit.chunk_id);
      expect(ids).toEqual(want);
    });
    const peak = peakRss(stack.offlinePid as number);
    process.stderr.write(`[load] serverless-offline peak RSS ${(peak / 1024 ** 2).toFixed(0)} MiB\n`);
    expect(peak).toBeLessThan(PEAK_RSS_BOUND_BYTES);
  }, 300_000);
});
