import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { signDevToken } from '../../src/auth/dev-token';
import { createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import type { HttpHandler } from '../../src/http/route';
import { ensureTables } from '../../src/tables/definition';
import { StreamRunner, type StreamRunnerLog } from '../../tools/local/stream-runner';
import { type HttpRequest, httpEvent } from '../fixtures/http-events';
import { loadOpenApi, responseProblems } from '../fixtures/openapi';
import { randomVector, rng } from '../fixtures/search-world';
import { wireHandlers } from '../fixtures/wired-handlers';

/**
 * The HTTP handlers as API Gateway invokes them, on their own tables (so the stream runner replays only
 * this file's writes) with the real stream handler keeping counts, documents and snapshots. Every
 * response is checked against openapi.yaml.
 */
const secret = 'http-api-test-key-that-is-long-enough-32+';
const suffix = randomUUID().slice(0, 8);
const tables = {
  vectorEmbeddings: `VectorEmbeddings-http-${suffix}`,
  botCollections: `BotCollections-http-${suffix}`,
  botDocuments: `BotDocuments-http-${suffix}`,
};
const DIM = 8;
const quiet: StreamRunnerLog = { debug() {}, info() {}, warn() {}, error() {} };
const openapi = loadOpenApi();
/** The handlers built from their factories over this file's config (no environment variables set). */
const config = loadConfig({
  ...process.env,
  AUTH_MODE: 'local-key',
  LOCAL_JWT_SECRET: secret,
  TABLE_VECTOR_EMBEDDINGS: tables.vectorEmbeddings,
  TABLE_BOT_COLLECTIONS: tables.botCollections,
  TABLE_BOT_DOCUMENTS: tables.botDocuments,
  EMBEDDING_ENCODING: 'binary',
});
const wired = wireHandlers(config);
const { 'POST /bots/{botId}/search/batch': _batch, ...routes } = wired.http;
const handlers: Record<string, HttpHandler> = routes;

let dynamodb: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let runner: StreamRunner;
let alice: string;
let bob: string;

beforeAll(async () => {
  dynamodb = createDynamoDbClient(config);
  await ensureTables(dynamodb, config.tables);
  streams = new DynamoDBStreamsClient({
    region: config.region,
    endpoint: config.dynamodbEndpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  runner = new StreamRunner({
    streamsClient: streams,
    dynamodbClient: dynamodb,
    tableName: tables.vectorEmbeddings,
    handler: wired.streamSync,
    functionName: `http-api-${suffix}`,
    settings: { batchSize: 100, maximumBatchingWindow: 0, functionResponseType: 'ReportBatchItemFailures' },
    log: quiet,
    pollIntervalMs: 20,
    shardRefreshIntervalMs: 1000,
  });
  await runner.start();
  alice = await signDevToken(secret, `alice-${suffix}`);
  bob = await signDevToken(secret, `bob-${suffix}`);
});

afterAll(async () => {
  await runner?.stop();
  wired.close();
  for (const table of Object.values(tables)) {
    await dynamodb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  }
  dynamodb?.destroy();
  streams?.destroy();
});

type Call = Omit<HttpRequest, 'method' | 'route'> & { route: keyof typeof handlers & string };
type Answer = {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; field?: string } };
};

/** Invokes the route's handler with an API Gateway event and checks the response against openapi.yaml. */
async function call(request: Call): Promise<Answer> {
  const [method, route] = request.route.split(' ') as [HttpRequest['method'], string];
  const handler = handlers[request.route] as HttpHandler;
  const response = (await handler(
    httpEvent({ ...request, method, route }),
  )) as APIGatewayProxyStructuredResultV2;
  const status = response.statusCode ?? 200;
  const body = response.body === undefined || response.body === '' ? undefined : JSON.parse(response.body);
  expect({
    route: request.route,
    status,
    problems: responseProblems(openapi, method, route, status, body),
  }).toEqual({
    route: request.route,
    status,
    problems: [],
  });
  expect(response.headers?.['content-type']).toMatch(/^application\/json/);
  return { status, body };
}

// Every chunk carries metadata: the local stream runner cannot yet convert an empty metadata map (the
// streams SDK hands `{ M: {} }` over as `{}`), reported to the stream pipeline's owner.
function chunk(index: number, seed: number, metadata: Record<string, unknown> = { source: 'test' }) {
  return {
    chunk_index: index,
    text: `chunk ${index} (seed ${seed})`,
    embedding: randomVector(DIM, rng(seed)),
    metadata,
  };
}

/** A bot owned by `token`'s user with documents, counted and cached by the stream. */
async function botWithDocuments(token: string, files: Record<string, number>): Promise<string> {
  const botId = `bot-${randomUUID()}`;
  expect(
    (
      await call({
        route: 'PUT /bots/{botId}',
        pathParameters: { botId },
        token,
        body: { embedding_dimension: DIM },
      })
    ).status,
  ).toBe(201);
  let seed = 1;
  for (const [filename, count] of Object.entries(files)) {
    const chunks = Array.from({ length: count }, (_, i) =>
      chunk(i, seed++ * 1000 + i, { lang: i % 2 === 0 ? 'en' : 'de' }),
    );
    const written = await call({
      route: 'POST /bots/{botId}/documents',
      pathParameters: { botId },
      token,
      body: { filename, file_size: 100 * count, chunks },
    });
    expect(written).toEqual({
      status: 200,
      body: { bot_id: botId, filename, chunks_written: count, chunks_deleted: 0 },
    });
  }
  await runner.drain(30_000);
  return botId;
}

let sharedBot: Promise<string> | undefined;
/** One bot for the many bad-input cases (they must change nothing, so they can share it). */
function validationBot(): Promise<string> {
  sharedBot ??= botWithDocuments(alice, { 'x.txt': 1 });
  return sharedBot;
}

describe('the HTTP API', () => {
  it('takes a bot through its life: create, update, upload, count, list, search, delete', async () => {
    const botId = `bot-${randomUUID()}`;
    const created = await call({
      route: 'PUT /bots/{botId}',
      pathParameters: { botId },
      token: alice,
      body: { name: 'Support' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      bot_id: botId,
      user_id: `alice-${suffix}`,
      name: 'Support',
      embedding_dimension: 384,
      status: 'active',
    });
    const updated = await call({
      route: 'PUT /bots/{botId}',
      pathParameters: { botId },
      token: alice,
      body: { name: 'Help desk', embedding_dimension: DIM },
    });
    expect(updated).toMatchObject({ status: 200, body: { name: 'Help desk', embedding_dimension: DIM } });

    const target = chunk(2, 77, { lang: 'en' });
    const report = [chunk(0, 70), chunk(1, 71), target];
    await call({
      route: 'POST /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
      body: { filename: 'reports/q1 2026.txt', file_size: 300, chunks: report },
    });
    await call({
      route: 'POST /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
      body: { filename: 'faq.md', file_size: 50, chunks: [chunk(0, 80)] },
    });
    await runner.drain(30_000);

    expect(
      (await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice })).body,
    ).toMatchObject({ total_chunks: 4, total_documents: 2 });
    const listed = await call({
      route: 'GET /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
    });
    expect(listed.body.documents).toEqual([
      expect.objectContaining({ filename: 'faq.md', chunk_count: 1, file_size: 50 }),
      expect.objectContaining({ filename: 'reports/q1 2026.txt', chunk_count: 3, file_size: 300 }),
    ]);
    const paged = await call({
      route: 'GET /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
      queryStringParameters: { limit: '1' },
    });
    expect(paged.body.documents).toHaveLength(1);
    expect(typeof paged.body.next_cursor).toBe('string');

    const sources: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const found = await call({
        route: 'POST /bots/{botId}/search',
        pathParameters: { botId },
        token: alice,
        body: { embedding: target.embedding, limit: 2 },
      });
      expect(found.status).toBe(200);
      expect((found.body.results as { text: string; metadata: unknown }[])[0]).toMatchObject({
        text: target.text,
        metadata: { filename: 'reports/q1 2026.txt', chunk_index: 2, lang: 'en' },
      });
      sources.push(found.body.source);
    }
    // The stream handler built the bot's snapshot when the upload's records arrived (issue 10 goal 6),
    // so even the first search after loading is served from it.
    expect(sources).toEqual(['snapshot', 'snapshot']);

    const removed = await call({
      route: 'DELETE /bots/{botId}/documents',
      pathParameters: { botId },
      queryStringParameters: { filename: 'reports/q1 2026.txt' },
      token: alice,
    });
    expect(removed.body).toEqual({ bot_id: botId, filename: 'reports/q1 2026.txt', chunks_deleted: 3 });
    await runner.drain(30_000);
    const afterDelete = await call({
      route: 'POST /bots/{botId}/search',
      pathParameters: { botId },
      token: alice,
      body: { embedding: target.embedding, limit: 5 },
    });
    expect(afterDelete.body.source).toBe('snapshot');
    expect(
      (afterDelete.body.results as { metadata: { filename: string } }[]).map((hit) => hit.metadata.filename),
    ).toEqual(['faq.md']);
    expect(
      (await call({ route: 'GET /bots/{botId}/documents', pathParameters: { botId }, token: alice })).body
        .documents,
    ).toEqual([expect.objectContaining({ filename: 'faq.md' })]);

    expect(
      (
        await call({
          route: 'DELETE /bots/{botId}',
          pathParameters: { botId },
          queryStringParameters: { confirm: botId },
          token: alice,
        })
      ).body,
    ).toEqual({
      bot_id: botId,
      status: 'deleted',
      chunks_deleted: 1,
    });
    await runner.drain(30_000);
    expect(
      (await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice })).body,
    ).toMatchObject({
      status: 'deleted',
      total_chunks: 0,
      total_documents: 0,
    });
    const gone = await call({
      route: 'POST /bots/{botId}/search',
      pathParameters: { botId },
      token: alice,
      body: { embedding: target.embedding },
    });
    expect(gone.status).toBe(404);
    expect(
      (
        await call({
          route: 'DELETE /bots/{botId}',
          pathParameters: { botId },
          queryStringParameters: { confirm: botId },
          token: alice,
        })
      ).status,
    ).toBe(200);
  });

  it('keeps every route of one owner’s bot closed to another owner, and leaves the bot untouched', async () => {
    const aliceBot = await botWithDocuments(alice, { 'a.txt': 3, 'b.txt': 2 });
    const probe = { embedding: randomVector(DIM, rng(5)), limit: 5 };
    const before = await call({
      route: 'POST /bots/{botId}/search',
      pathParameters: { botId: aliceBot },
      token: alice,
      body: probe,
    });
    const attempts: Call[] = [
      { route: 'GET /bots/{botId}', pathParameters: { botId: aliceBot } },
      { route: 'POST /bots/{botId}/search', pathParameters: { botId: aliceBot }, body: probe },
      { route: 'GET /bots/{botId}/documents', pathParameters: { botId: aliceBot } },
      {
        route: 'POST /bots/{botId}/documents',
        pathParameters: { botId: aliceBot },
        body: { filename: 'a.txt', file_size: 1, chunks: [chunk(0, 9)] },
      },
      {
        route: 'DELETE /bots/{botId}/documents',
        pathParameters: { botId: aliceBot },
        queryStringParameters: { filename: 'a.txt' },
      },
      {
        route: 'DELETE /bots/{botId}',
        pathParameters: { botId: aliceBot },
        queryStringParameters: { confirm: aliceBot },
      },
    ];
    for (const attempt of attempts) {
      const answer = await call({ ...attempt, token: bob });
      expect({ route: attempt.route, status: answer.status, code: answer.body.error?.code }).toEqual({
        route: attempt.route,
        status: 403,
        code: 'forbidden',
      });
    }
    const takeover = await call({
      route: 'PUT /bots/{botId}',
      pathParameters: { botId: aliceBot },
      token: bob,
      body: { name: 'mine now' },
    });
    expect(takeover).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    await runner.drain(30_000);

    const bot = await call({ route: 'GET /bots/{botId}', pathParameters: { botId: aliceBot }, token: alice });
    expect(bot.body).toMatchObject({
      user_id: `alice-${suffix}`,
      status: 'active',
      total_chunks: 5,
      total_documents: 2,
    });
    expect(bot.body.name).toBeNull();
    const after = await call({
      route: 'POST /bots/{botId}/search',
      pathParameters: { botId: aliceBot },
      token: alice,
      body: probe,
    });
    // `before` may come from DynamoDB and `after` from the snapshot: same chunks, scores equal to float32 precision.
    type Hit = { chunk_id: string; text: string; score: number };
    const [was, is] = [before.body.results as Hit[], after.body.results as Hit[]];
    expect(is).toHaveLength(5);
    expect(is.map((hit) => [hit.chunk_id, hit.text])).toEqual(was.map((hit) => [hit.chunk_id, hit.text]));
    is.forEach((hit, i) => {
      expect(Math.abs(hit.score - (was[i]?.score as number))).toBeLessThan(1e-6);
    });
  });

  it('never answers one owner’s search with another bot’s chunks', async () => {
    const aliceBot = await botWithDocuments(alice, { 'alice.txt': 6 });
    const bobBot = await botWithDocuments(bob, { 'bob.txt': 6 });
    for (let i = 0; i < 6; i++) {
      // Bob's bot holds exactly the vectors of Alice's: each would score 1.0 if it leaked.
      const embedding = chunk(i, 1000 + i).embedding;
      for (const [token, botId, filename] of [
        [bob, bobBot, 'bob.txt'],
        [alice, aliceBot, 'alice.txt'],
      ] as const) {
        const found = await call({
          route: 'POST /bots/{botId}/search',
          pathParameters: { botId },
          token,
          body: { embedding, limit: 100 },
        });
        const results = found.body.results as { metadata: { filename: string } }[];
        expect(results).toHaveLength(6);
        expect(results.every((hit) => hit.metadata.filename === filename)).toBe(true);
      }
    }
  });

  it('answers 401 on every route without a valid token', async () => {
    const botId = await botWithDocuments(alice, { 'a.txt': 1 });
    const expired = await signDevToken(secret, `alice-${suffix}`, {
      expiresIn: Math.floor(Date.now() / 1000) - 10,
    });
    const forged = await signDevToken('a-different-key-that-is-32-characters-long', `alice-${suffix}`);
    const badTokens: (string | undefined)[] = [undefined, 'not-a-jwt', expired, forged];
    for (const route of Object.keys(handlers)) {
      for (const token of badTokens) {
        const answer = await call({
          route,
          pathParameters: { botId, filename: 'a.txt' },
          body: { embedding: randomVector(DIM, rng(1)) },
          ...(token === undefined ? {} : { token }),
        });
        expect({ route, status: answer.status, code: answer.body.error?.code }).toEqual({
          route,
          status: 401,
          code: 'unauthorized',
        });
      }
    }
    expect(
      (await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice })).body.total_chunks,
    ).toBe(1);
  });

  it('answers 404 for a bot that does not exist', async () => {
    const botId = `bot-${randomUUID()}`;
    for (const route of Object.keys(handlers).filter((r) => r !== 'PUT /bots/{botId}')) {
      const answer = await call({
        route,
        pathParameters: { botId, filename: 'a.txt' },
        token: alice,
        body: {
          embedding: randomVector(DIM, rng(1)),
          filename: 'a.txt',
          file_size: 1,
          chunks: [chunk(0, 1)],
        },
      });
      expect({ route, status: answer.status }).toEqual({ route, status: 404 });
    }
  });

  it.each<[string, Call, string]>([
    ['search without an embedding', { route: 'POST /bots/{botId}/search', body: { limit: 3 } }, 'embedding'],
    [
      'search with an embedding of the wrong dimension',
      { route: 'POST /bots/{botId}/search', body: { embedding: [1, 2, 3] } },
      'embedding',
    ],
    [
      'search with a zero embedding',
      { route: 'POST /bots/{botId}/search', body: { embedding: new Array(DIM).fill(0) } },
      'embedding',
    ],
    [
      'search with a text in the embedding',
      { route: 'POST /bots/{botId}/search', body: { embedding: ['a'] } },
      'embedding[0]',
    ],
    [
      'search with limit 0',
      { route: 'POST /bots/{botId}/search', body: { embedding: new Array(DIM).fill(1), limit: 0 } },
      'limit',
    ],
    [
      'search with limit 101',
      { route: 'POST /bots/{botId}/search', body: { embedding: new Array(DIM).fill(1), limit: 101 } },
      'limit',
    ],
    [
      'search with a text threshold',
      {
        route: 'POST /bots/{botId}/search',
        body: { embedding: new Array(DIM).fill(1), score_threshold: 'high' },
      },
      'score_threshold',
    ],
    [
      'search with a numeric filename filter',
      {
        route: 'POST /bots/{botId}/search',
        body: { embedding: new Array(DIM).fill(1), filter: { filename: 5 } },
      },
      'filter.filename',
    ],
    [
      'search with an unknown field',
      { route: 'POST /bots/{botId}/search', body: { embedding: new Array(DIM).fill(1), top_k: 3 } },
      'top_k',
    ],
    [
      'search with a body that is not JSON',
      { route: 'POST /bots/{botId}/search', rawBody: '{"embedding": [' },
      'body',
    ],
    ['search without a body', { route: 'POST /bots/{botId}/search' }, 'body'],
    [
      'upload without chunks',
      { route: 'POST /bots/{botId}/documents', body: { filename: 'x.txt', file_size: 1, chunks: [] } },
      'chunks',
    ],
    [
      'upload with an empty text',
      {
        route: 'POST /bots/{botId}/documents',
        body: { filename: 'x.txt', file_size: 1, chunks: [{ ...chunk(0, 1), text: ' ' }] },
      },
      'chunks[0].text',
    ],
    [
      'upload with a short embedding',
      {
        route: 'POST /bots/{botId}/documents',
        body: { filename: 'x.txt', file_size: 1, chunks: [chunk(0, 1), { ...chunk(1, 2), embedding: [1] }] },
      },
      'chunks[1].embedding',
    ],
    [
      'upload with a negative file size',
      {
        route: 'POST /bots/{botId}/documents',
        body: { filename: 'x.txt', file_size: -1, chunks: [chunk(0, 1)] },
      },
      'file_size',
    ],
    [
      'upload naming an owner',
      {
        route: 'POST /bots/{botId}/documents',
        body: { filename: 'x.txt', file_size: 1, owner_user_id: 'eve', chunks: [chunk(0, 1)] },
      },
      'owner_user_id',
    ],
    [
      'put with dimension 0',
      { route: 'PUT /bots/{botId}', body: { embedding_dimension: 0 } },
      'embedding_dimension',
    ],
    ['put with an empty name', { route: 'PUT /bots/{botId}', body: { name: '' } }, 'name'],
    [
      'list with a limit that is not a number',
      { route: 'GET /bots/{botId}/documents', queryStringParameters: { limit: 'ten' } },
      'limit',
    ],
    ['search with a JSON null body', { route: 'POST /bots/{botId}/search', rawBody: 'null' }, 'body'],
    ['search with an empty body', { route: 'POST /bots/{botId}/search', rawBody: '' }, 'body'],
    ['upload with a JSON null body', { route: 'POST /bots/{botId}/documents', rawBody: 'null' }, 'body'],
    ...[1e20, 3e38, 1e200].map((value): [string, Call, string] => [
      `search with an embedding value of ${value}`,
      { route: 'POST /bots/{botId}/search', body: { embedding: [value, ...new Array(DIM - 1).fill(1)] } },
      'embedding',
    ]),
    [
      'list with a cursor naming an empty filename',
      {
        route: 'GET /bots/{botId}/documents',
        queryStringParameters: { cursor: Buffer.from('{"f":""}').toString('base64url') },
      },
      'cursor',
    ],
    [
      'list with a forged cursor',
      { route: 'GET /bots/{botId}/documents', queryStringParameters: { cursor: 'bm9wZQ' } },
      'cursor',
    ],
  ])('answers 400 naming the field for %s', async (_, request, field) => {
    const botId = await validationBot();
    const answer = await call({ ...request, pathParameters: { botId }, token: alice });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'bad_request', field });
    expect(answer.body.error?.message).toContain(field);
  });

  it('deletes a document named by the filename query parameter, dots, slashes and % included', async () => {
    const botId = await botWithDocuments(alice, { '..': 1, '100% done/notes.txt': 1, 'plain.txt': 1 });
    for (const filename of ['..', '100% done/notes.txt']) {
      const removed = await call({
        route: 'DELETE /bots/{botId}/documents',
        pathParameters: { botId },
        queryStringParameters: { filename },
        token: alice,
      });
      expect(removed.body).toEqual({ bot_id: botId, filename, chunks_deleted: 1 });
    }
    await runner.drain(30_000);
    const listed = await call({
      route: 'GET /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
    });
    expect((listed.body.documents as { filename: string }[]).map((doc) => doc.filename)).toEqual([
      'plain.txt',
    ]);
  });

  it('deletes a bot only when the request repeats its id in confirm', async () => {
    const botId = await botWithDocuments(alice, { 'keep.txt': 2 });
    for (const query of [undefined, { confirm: 'other' }]) {
      const refused = await call({
        route: 'DELETE /bots/{botId}',
        pathParameters: { botId },
        ...(query === undefined ? {} : { queryStringParameters: query }),
        token: alice,
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error?.field).toBe('confirm');
    }
    const bot = await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice });
    expect(bot.body).toMatchObject({ status: 'active', total_chunks: 2 });
  });

  it('answers 413 for a body over 6 MiB and writes nothing', async () => {
    const botId = await botWithDocuments(alice, { 'x.txt': 1 });
    const text = 'x'.repeat(7 * 1024 * 1024);
    const upload = await call({
      route: 'POST /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
      body: { filename: 'big.txt', file_size: text.length, chunks: [{ ...chunk(0, 1), text }] },
    });
    expect(upload).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    const searchBig = await call({
      route: 'POST /bots/{botId}/search',
      pathParameters: { botId },
      token: alice,
      rawBody: `{"embedding":[${'1,'.repeat(4 * 1024 * 1024)}1]}`,
    });
    expect(searchBig.status).toBe(413);
    await runner.drain(30_000);
    expect(
      (await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice })).body
        .total_documents,
    ).toBe(1);
  });

  it('refuses to change the dimension of a bot that has chunks', async () => {
    const botId = await botWithDocuments(alice, { 'x.txt': 2 });
    const answer = await call({
      route: 'PUT /bots/{botId}',
      pathParameters: { botId },
      token: alice,
      body: { embedding_dimension: 16 },
    });
    expect(answer).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(
      (await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice })).body
        .embedding_dimension,
    ).toBe(DIM);
  });
});
