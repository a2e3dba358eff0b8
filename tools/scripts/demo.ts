import { setTimeout as sleep } from 'node:timers/promises';
/**
 * `npm run demo`, against a running `npm run dev`: creates a demo bot, sends the documents of
 * tools/scripts/demo-docs/ through the ingestion function (Lambda Invoke on serverless-offline, as an upstream
 * pipeline would), waits until the stream pipeline has counted them and search is served from the Redis
 * snapshot, then runs a few searches and prints the top results and where they came from.
 *
 * The embeddings come from the deterministic development embedder (tools/local/dev-embedder.ts): word
 * overlap, not meaning, but enough for the results to make sense.
 */
import '../local/quiet-sdk-notice';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { UpsertDocumentMessage } from '../../src/contracts/ingestion-messages';
import { DEV_EMBEDDING_DIMENSION, devEmbed } from '../../src/domain/dev-embedder';
import type { DevStackInfo } from '../local/dev-stack';
import { DEMO_DOCS_DIR, loadDemoDocument } from './demo-corpus';
import { answeredHelp } from './help-flag';

const USAGE = 'usage: npm run demo (no flags; start npm run dev first; --help prints this)';
const stateFile = join(__dirname, '..', '..', '.local', 'dev.json');
const BOT_ID = 'demo-bot';
/** A question whose answer hangs on an exact code: vector search alone misses it, hybrid search finds it. */
const CODE_QUESTION = {
  text: 'upload of a document fails with E-2071 after the controller update',
  answer: 'error-codes.md',
};
const QUESTIONS = [
  'How does Lambda retry a failed batch from a DynamoDB stream?',
  'What happens when Redis restarts and the snapshot is lost?',
  'How long should the loaf proof in the fridge?',
];

type SearchResponse = {
  source: 'snapshot' | 'dynamodb';
  results: {
    chunk_id: string;
    text: string;
    score: number;
    metadata: { filename: string; chunk_index: number };
  }[];
};
type BotResponse = { total_chunks: number; total_documents: number };

const say = (line = '') => process.stdout.write(`${line}\n`);

async function readState(): Promise<DevStackInfo> {
  let state: DevStackInfo;
  try {
    state = JSON.parse(await readFile(stateFile, 'utf8')) as DevStackInfo;
  } catch {
    throw new Error(`No running stack found (${stateFile} is missing). Start it first: npm run dev`);
  }
  if (!state.httpUrl) {
    throw new Error(
      'npm run dev runs without its HTTP API (--no-http); start it without that flag for the demo',
    );
  }
  return state;
}

/** A document's chunks: one per paragraph, the heading kept as metadata. */
async function loadDocument(
  file: string,
): Promise<{ filename: string; text: string; message: UpsertDocumentMessage }> {
  const { title, text, paragraphs } = await loadDemoDocument(file);
  return {
    filename: file,
    text,
    message: {
      type: 'upsert_document',
      bot_id: BOT_ID,
      filename: file,
      file_size: Buffer.byteLength(text, 'utf8'),
      chunks: paragraphs.map((paragraph, chunkIndex) => ({
        chunk_index: chunkIndex,
        text: paragraph,
        embedding: devEmbed(`${title}. ${paragraph}`),
        metadata: { title },
      })),
    },
  };
}

/**
 * fetch, tried again when the connection itself fails: a pooled keep-alive connection the local server
 * has just closed fails the request before it is sent. Every call the demo makes is idempotent.
 */
async function fetchRetryingConnection(url: string, init: RequestInit): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(url, init);
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

async function api<T>(state: DevStackInfo, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetchRetryingConnection(`${state.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${state.token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

async function main(): Promise<void> {
  if (answeredHelp(USAGE)) return;
  const state = await readState();
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;

  await api(state, 'PUT', `/bots/${BOT_ID}`, {
    name: 'Demo bot',
    embedding_dimension: DEV_EMBEDDING_DIMENSION,
  });
  say(`bot ${BOT_ID} ready (owner ${state.user})`);

  const files = (await readdir(DEMO_DOCS_DIR)).filter((f) => f.endsWith('.md')).sort();
  const documents = await Promise.all(files.map(loadDocument));
  const expectedChunks = documents.reduce((sum, d) => sum + d.message.chunks.length, 0);

  const lambda = new LambdaClient({
    endpoint: state.lambdaEndpoint,
    region: state.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const invoked = await lambda.send(
    new InvokeCommand({
      FunctionName: state.ingestFunctionName,
      Payload: Buffer.from(JSON.stringify({ messages: documents.map((d) => d.message) })),
    }),
  );
  lambda.destroy();
  const summary = JSON.parse(Buffer.from(invoked.Payload ?? new Uint8Array()).toString('utf8')) as {
    processed?: number;
    failed?: number;
    results?: unknown[];
  };
  if (invoked.FunctionError !== undefined || summary.failed !== 0) {
    throw new Error(`the ingestion function failed: ${JSON.stringify(summary)}`);
  }
  say(`ingested ${documents.length} documents, ${expectedChunks} chunks via Lambda invoke (${elapsed()})`);

  const bot = await waitFor('the stream to count the chunks', 60_000, async () => {
    const current = await api<BotResponse>(state, 'GET', `/bots/${BOT_ID}`);
    return current.total_documents === documents.length && current.total_chunks === expectedChunks
      ? current
      : undefined;
  });
  say(`stream counted ${bot.total_documents} documents, ${bot.total_chunks} chunks (${elapsed()})`);

  const firstQuestion = QUESTIONS[0] as string;
  await waitFor('search to be served from the Redis snapshot', 30_000, async () => {
    const response = await api<SearchResponse>(state, 'POST', `/bots/${BOT_ID}/search`, {
      embedding: devEmbed(firstQuestion),
      limit: 1,
    });
    return response.source === 'snapshot' ? response : undefined;
  });
  say(`snapshot built and current (${elapsed()})`);

  for (const question of QUESTIONS) {
    const response = await api<SearchResponse>(state, 'POST', `/bots/${BOT_ID}/search`, {
      embedding: devEmbed(question),
      limit: 3,
    });
    say();
    say(`Q: ${question}   [served from ${response.source}]`);
    for (const [rank, hit] of response.results.entries()) {
      const excerpt = hit.text.length > 110 ? `${hit.text.slice(0, 107)}...` : hit.text;
      say(
        `  ${rank + 1}. ${hit.score.toFixed(3)}  ${hit.metadata.filename} #${hit.metadata.chunk_index}  ${excerpt}`,
      );
    }
  }
  say();
  say(`Q: ${CODE_QUESTION.text}   (the answer is in ${CODE_QUESTION.answer}, found by the code)`);
  const embedding = devEmbed(CODE_QUESTION.text);
  const vectorOnly = await api<SearchResponse>(state, 'POST', `/bots/${BOT_ID}/search`, {
    embedding,
    limit: 3,
  });
  const hybrid = await api<SearchResponse>(state, 'POST', `/bots/${BOT_ID}/search`, {
    embedding,
    query_text: CODE_QUESTION.text,
    limit: 3,
  });
  for (const [label, response] of [
    ['vector only', vectorOnly],
    ['hybrid (rrf)', hybrid],
  ] as const) {
    const found = response.results.some((hit) => hit.text.includes('E-2071'));
    say(`  ${label}: ${found ? 'finds it' : 'misses it'}`);
    for (const [rank, hit] of response.results.entries()) {
      const excerpt = hit.text.length > 90 ? `${hit.text.slice(0, 87)}...` : hit.text;
      say(`    ${rank + 1}. ${hit.metadata.filename} #${hit.metadata.chunk_index}  ${excerpt}`);
    }
  }
  say();
  say(`List the documents: curl -H "Authorization: Bearer $TOKEN" ${state.httpUrl}/bots/${BOT_ID}/documents`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `npm run demo failed: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`,
  );
  process.exit(1);
});
