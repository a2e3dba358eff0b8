import { randomUUID } from 'node:crypto';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import fc from 'fast-check';
import { type BadMessage, badIngestionMessage } from '../fixtures/bad-ingestion';
import {
  type BadRequest,
  badAliasDelete,
  badAliasPut,
  badBotIds,
  badListQuery,
  badPatchRequest,
  badPutBody,
  badRecommendBody,
  badSearchBody,
  badUploadBody,
  enc,
  type FuzzTarget,
} from '../fixtures/bad-requests';
import {
  type FuzzWorld,
  forEach,
  fuzzConfig,
  refusalProblems as problems,
  progress,
  runs,
  sample,
  seed,
  startFuzzWorld,
} from '../fixtures/fuzz-dev';
import { waitUntil } from '../fixtures/wait';

/**
 * The fuzz suite of the API: generated bad requests against the real handlers under serverless-offline
 * (the bundled functions `npm run dev` serves) and bad messages through its Lambda Invoke endpoint. For
 * every one: no 5xx, a JSON error body (a 400 names its field), and nothing written: every table is
 * scanned before and after each route's batch, and the bot and its documents must be exactly as they were.
 * Ingestion messages are two thirds of FUZZ_RUNS (at least 200). fuzz-offline-stream.test.ts fuzzes the
 * stream and concurrent load.
 */
const messageRuns = Math.max(200, Math.round((runs * 2) / 3));
const suffix = randomUUID().slice(0, 8);
const DIM = 8;

jest.setTimeout(Math.max(600_000, runs * 2000));

let world: FuzzWorld;
let lambda: LambdaClient;
let target: FuzzTarget;
const config = fuzzConfig('fuzz');
const send = (request: Omit<BadRequest, 'defect'>) => world.send(request);
const tables = () => world.tables();

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
  world = await startFuzzWorld('fuzz', config);
  const stack = world.stack();
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
  await world?.stop();
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

  it('refuses bad recommendations', async () => {
    const listed = await send({
      method: 'GET',
      path: `${bot()}/documents/chunks`,
      query: `filename=${enc(target.documents[0] as string)}`,
    });
    const known = (listed.json as { chunks: { chunk_id: string }[] }).chunks[0]?.chunk_id as string;
    expect(known).toEqual(expect.any(String));
    const requests = sample(badRecommendBody(known), 9).map(
      ([body, defect]): BadRequest => ({ method: 'POST', path: `${bot()}/recommend`, body, defect }),
    );
    await expectAllRefused('POST /bots/{botId}/recommend', requests);
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

  it('refuses bad metadata patches and changes nothing', async () => {
    const requests = sample(badPatchRequest(target, `${bot()}/documents`), 12);
    await expectAllRefused('PATCH /bots/{botId}/documents', requests);
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
          new InvokeCommand({
            FunctionName: world.stack().ingestFunctionName,
            Payload: Buffer.from(payload),
          }),
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
