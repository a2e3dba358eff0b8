import { randomBytes, randomUUID } from 'node:crypto';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import fc from 'fast-check';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { type DevStack, startDevStack } from '../../tools/local/dev-stack';
import { type BadMessage, badIngestionMessage } from '../fixtures/bad-ingestion';
import {
  type BadRequest,
  badAliasDelete,
  badAliasPut,
  badBotIds,
  badListQuery,
  badPutBody,
  badSearchBody,
  badUploadBody,
  enc,
  type FuzzTarget,
} from '../fixtures/bad-requests';
import { tableSnapshot } from '../fixtures/table-snapshot';
import { waitUntil } from '../fixtures/wait';

/**
 * Issue 14's fuzz suite: generated bad requests against the real handlers under serverless-offline (the
 * bundled functions `npm run dev` serves) and bad messages through its Lambda Invoke endpoint. For every
 * one: no 5xx, a JSON error body (a 400 names its field), and nothing written: every table is scanned
 * before and after each route's batch, and the bot and its documents must be exactly as they were.
 *
 * FUZZ_SEED replays a run (the seed is printed); FUZZ_RUNS sets the requests per route (default 300, and
 * two thirds of it ingestion messages); `npm run fuzz:soak` runs it longer.
 */
const seed = Number(process.env.FUZZ_SEED ?? 20261130);
const runs = Number(process.env.FUZZ_RUNS ?? 300);
const messageRuns = Math.max(200, Math.round((runs * 2) / 3));
const suffix = randomUUID().slice(0, 8);
const DIM = 8;
const CONCURRENCY = 6;

jest.setTimeout(Math.max(600_000, runs * 2000));

let stack: DevStack;
let lambda: LambdaClient;
let target: FuzzTarget;
const config = loadConfig({
  ...process.env,
  TABLE_VECTOR_EMBEDDINGS: `VectorEmbeddings-fuzz-${suffix}`,
  TABLE_BOT_COLLECTIONS: `BotCollections-fuzz-${suffix}`,
  TABLE_BOT_DOCUMENTS: `BotDocuments-fuzz-${suffix}`,
  TABLE_DOCUMENT_LEASES: `DocumentLeases-fuzz-${suffix}`,
});
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);

type Answer = { status: number; text: string; json: unknown };

/** Runs `work` over `items`, CONCURRENCY at a time (serverless-offline serves requests in parallel). */
async function forEach<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function send(request: Omit<BadRequest, 'defect'>, token = stack.token): Promise<Answer> {
  const url = `${stack.httpUrl}${request.path}${request.query === undefined ? '' : `?${request.query}`}`;
  const init: RequestInit = {
    method: request.method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(request.contentType === undefined ? {} : { 'content-type': request.contentType }),
    },
    ...(request.body === undefined ? {} : { body: request.body }),
  };
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch {
    // A pooled keep-alive connection closed by the server at that moment: any HTTP answer counts.
    response = await fetch(url, init);
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

const tables = () => tableSnapshot(documents, Object.values(config.tables));

/** Problems with one answer to a request that must be refused. */
function problems(answer: Answer): string[] {
  const found: string[] = [];
  if (answer.status >= 500) found.push(`status ${answer.status}`);
  if (answer.status < 400) found.push(`accepted with ${answer.status}`);
  if (answer.json === undefined) found.push(`body is not JSON: ${answer.text.slice(0, 80)}`);
  if (answer.status === 400) {
    const error = (answer.json as { error?: { code?: string; message?: string; field?: string } })?.error;
    if (error?.code !== 'bad_request' || typeof error.message !== 'string') found.push('no error body');
    if (typeof error?.field !== 'string' || error.field === '') found.push('no field named');
  }
  return found;
}

async function expectAllRefused(route: string, requests: BadRequest[]): Promise<void> {
  const before = await tables();
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  const started = Date.now();
  let done = 0;
  await forEach(requests, async (request) => {
    const answer = await send(request);
    if (++done % 500 === 0) progress(route, done, requests.length, started);
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    const found = problems(answer);
    if (found.length > 0) {
      failures.push(
        `${request.method} ${request.path.slice(0, 80)}?${(request.query ?? '').slice(0, 60)} [${request.defect}]: ${found.join(', ')}`,
      );
    }
  });
  process.stderr.write(
    `[fuzz] ${route}: ${requests.length} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}\n`,
  );
  expect(failures.slice(0, 10)).toEqual([]);
  expect(await tables()).toBe(before);
}

/** A progress line for long (soak) runs: count, rate and time left. */
function progress(route: string, done: number, total: number, started: number): void {
  const rate = done / ((Date.now() - started) / 1000);
  process.stderr.write(
    `[fuzz] ${route}: ${done}/${total} (${rate.toFixed(0)}/s, about ${Math.ceil((total - done) / rate)} s left)\n`,
  );
}

function sample<T>(arbitrary: fc.Arbitrary<T>, salt: number, count = runs): T[] {
  return fc.sample(arbitrary, { seed: seed + salt, numRuns: count });
}

async function eventually(probe: () => Promise<boolean>): Promise<void> {
  await waitUntil('the stream to count the fuzz bot’s documents', probe, {
    timeoutMs: 60_000,
    intervalMs: 200,
  });
}

beforeAll(async () => {
  process.stderr.write(
    `[fuzz] seed ${seed} (replay with FUZZ_SEED=${seed}), ${runs} requests per route, ${messageRuns} ingestion messages\n`,
  );
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
    log: (message) => process.stderr.write(`[fuzz dev stack] ${message}\n`),
    // The handlers log every refused message as an error: thousands of expected lines.
    offlineOutput: () => {},
  });
  lambda = new LambdaClient({
    endpoint: stack.lambdaEndpoint,
    region: stack.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const botId = `fuzz-${suffix}`;
  target = { botId, dimension: DIM, documents: ['..', 'notes/a b.md'] };
  expect(
    (await send({ method: 'PUT', path: `/bots/${enc(botId)}`, body: `{"embedding_dimension":${DIM}}` }))
      .status,
  ).toBe(201);
  for (const [i, filename] of target.documents.entries()) {
    const chunks = Array.from({ length: 2 + i }, (_, c) => ({
      chunk_index: c,
      text: `${filename} ${c}`,
      embedding: Array.from({ length: DIM }, (_, d) => Math.cos(c + d + i)),
      metadata: { c },
    }));
    const body = JSON.stringify({ filename, file_size: 10, chunks });
    expect((await send({ method: 'POST', path: `/bots/${enc(botId)}/documents`, body })).status).toBe(200);
  }
  await eventually(async () => {
    const bot = (await send({ method: 'GET', path: `/bots/${enc(botId)}` })).json as {
      total_chunks?: number;
    };
    return bot.total_chunks === 5;
  });
}, 300_000);

afterAll(async () => {
  lambda?.destroy();
  await stack?.stop();
  dynamodb.destroy();
}, 60_000);

describe(`fuzzing every route through serverless-offline (seed ${seed})`, () => {
  const bot = () => `/bots/${enc(target.botId)}`;

  it('refuses bad searches', async () => {
    const requests = sample(badSearchBody(DIM), 1).map(
      ([body, defect], i): BadRequest => ({
        method: 'POST',
        path: `${bot()}/search`,
        body,
        contentType: ['application/json', 'text/plain', 'application/x-www-form-urlencoded', undefined][
          i % 4
        ],
        defect,
      }),
    );
    await expectAllRefused('POST /bots/{botId}/search', requests);
  });

  it('refuses bad uploads and writes nothing of them', async () => {
    const requests = sample(badUploadBody(target), 2).map(
      ([body, defect], i): BadRequest => ({
        method: 'POST',
        path: `${bot()}/documents`,
        body,
        contentType: i % 5 === 0 ? 'text/plain; charset=utf-8' : 'application/json',
        defect,
      }),
    );
    await expectAllRefused('POST /bots/{botId}/documents', requests);
  });

  it('refuses bad bot settings', async () => {
    const requests = sample(fc.tuple(badPutBody, fc.oneof(fc.constant(null), badBotIds())), 3).map(
      ([[body, defect], id]): BadRequest => ({
        method: 'PUT',
        path: id === null ? bot() : `/bots/${id[0]}`,
        body,
        defect: id === null ? defect : `${defect}, bot id ${id[1]}`,
      }),
    );
    await expectAllRefused('PUT /bots/{botId}', requests);
  });

  it('refuses bad bot reads', async () => {
    const requests = sample(badBotIds(), 4).map(
      ([id, defect]): BadRequest => ({ method: 'GET', path: `/bots/${id}`, defect }),
    );
    await expectAllRefused('GET /bots/{botId}', requests);
  });

  it('refuses bad document listings', async () => {
    const requests = sample(badListQuery, 5).map(
      ([query, defect]): BadRequest => ({ method: 'GET', path: `${bot()}/documents`, query, defect }),
    );
    await expectAllRefused('GET /bots/{botId}/documents', requests);
  });

  it('never deletes a document for a bad document delete, dot segments included', async () => {
    const name = fc.constantFrom(...target.documents, '.', '..', '%2E%2E', '%2e%2e', 'x/..', '../..');
    const badQuery = fc.constantFrom(
      '',
      'filename=',
      'filename=a&filename=b',
      `filename=${enc('é'.repeat(513))}`,
      'name=..',
    );
    const requests = sample(
      fc.oneof(
        // The document in the path, as clients did before the filename moved to the query.
        name.map(
          (n): BadRequest => ({
            method: 'DELETE',
            path: `${bot()}/documents/${n.includes('%') ? n : enc(n).replace(/%2E/gi, '.')}`,
            defect: `path-style ${n}`,
          }),
        ),
        name.map(
          (n): BadRequest => ({ method: 'DELETE', path: `${bot()}/documents/${n}`, defect: `raw path ${n}` }),
        ),
        badQuery.map(
          (query): BadRequest => ({
            method: 'DELETE',
            path: `${bot()}/documents`,
            query,
            defect: `query ${query.slice(0, 30)}`,
          }),
        ),
      ),
      6,
    );
    await expectAllRefused('DELETE /bots/{botId}/documents', requests);
  });

  it('never deletes the bot without its id in confirm, whatever path was rewritten into its route', async () => {
    const confirm = fc.oneof(
      fc.constant(''),
      fc
        .string()
        .filter((s) => s !== target.botId)
        .map((s) => `confirm=${enc(s)}`),
      fc.constant(`confirm=${enc(target.botId)}&confirm=${enc(target.botId)}`),
      fc.constant(`confirm=${enc(target.botId.toUpperCase())}`),
    );
    const tail = fc.constantFrom(
      '',
      '/',
      '/documents/..',
      '/search/..',
      '/documents/%2E%2E/',
      '/documents/x/../..',
    );
    const requests = sample(fc.tuple(confirm, tail), 8).map(
      ([query, rest]): BadRequest => ({
        method: 'DELETE',
        path: `${bot()}${rest}`,
        query,
        defect: `${rest || 'bot'} with ${query.slice(0, 30) || 'no confirm'}`,
      }),
    );
    await expectAllRefused('DELETE /bots/{botId}', requests);
  });

  it('refuses bad alias puts and deletes, and creates no alias', async () => {
    const puts = sample(badAliasPut(target), 9).map(
      ([alias, body, defect]): BadRequest => ({ method: 'PUT', path: `/aliases/${alias}`, body, defect }),
    );
    await expectAllRefused('PUT /aliases/{alias}', puts);
    await expectAllRefused('DELETE /aliases/{alias}', sample(badAliasDelete(), 10));
  });

  it('refuses bad ingestion messages, one by one and in batches, and creates no bot record', async () => {
    const messages = sample(
      badIngestionMessage(target, () => `fresh-${randomUUID()}`),
      7,
      messageRuns,
    );
    const before = await tables();
    const failures: string[] = [];
    const batches: BadMessage[][] = [];
    for (let i = 0; i < messages.length; ) {
      const size = i % 3 === 0 ? 1 : 10;
      batches.push(messages.slice(i, i + size));
      i += size;
    }
    await forEach(batches, async (batch) => {
      {
        const payload =
          batch.length === 1
            ? (batch[0] as BadMessage).json
            : `{"messages":[${batch.map((m) => m.json).join(',')}]}`;
        const result = await lambda.send(
          new InvokeCommand({ FunctionName: stack.ingestFunctionName, Payload: Buffer.from(payload) }),
        );
        const text = Buffer.from(result.Payload ?? new Uint8Array()).toString('utf8');
        if (result.FunctionError !== undefined) {
          failures.push(`${batch.map((m) => m.defect).join('; ')}: function error ${text.slice(0, 200)}`);
          return;
        }
        const summary = JSON.parse(text) as {
          processed: number;
          failed: number;
          results: { ok: boolean; error?: { name: string; field?: string } }[];
        };
        for (const [k, entry] of summary.results.entries()) {
          const defect = batch[k]?.defect ?? `message ${k}`;
          if (entry.ok) failures.push(`${defect}: accepted`);
          else if (entry.error?.name !== 'ValidationError' || !entry.error.field)
            failures.push(`${defect}: ${JSON.stringify(entry.error)}`);
        }
        if (summary.processed !== batch.length)
          failures.push(`a batch of ${batch.length} reported ${summary.processed}`);
      }
    });
    process.stderr.write(`[fuzz] ingestion: ${messages.length} messages in ${batches.length} invocations\n`);
    expect(failures.slice(0, 10)).toEqual([]);
    expect(await tables()).toBe(before);
  });

  it('refuses bodies just over the 6 MiB limit with 413 and just under it with 400, writing nothing', async () => {
    const limitBytes = 6 * 1024 * 1024;
    const pad = (bytes: number) => {
      const shell = '{"filename":"big","file_size":1,"chunks":[],"pad":""}';
      return `${shell.slice(0, -2)}${'x'.repeat(bytes - shell.length)}"}`;
    };
    const before = await tables();
    const over = await send({ method: 'POST', path: `${bot()}/documents`, body: pad(limitBytes + 10) });
    const under = await send({ method: 'POST', path: `${bot()}/documents`, body: pad(limitBytes - 10) });
    expect([over.status, under.status]).toEqual([413, 400]);
    expect(problems(under)).toEqual([]);
    expect(await tables()).toBe(before);
  });
});
