import { randomUUID } from 'node:crypto';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { signDevToken } from '../../src/auth/dev-token';
import { createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { ensureTables } from '../../src/tables/definition';
import { StreamRunner } from '../../tools/local/stream-runner';
import { type HttpRequest, httpEvent } from '../fixtures/http-events';
import { loadOpenApi, responseProblems } from '../fixtures/openapi';
import { randomVector, rng } from '../fixtures/search-world';
import { startTcpSwitch, type TcpSwitch } from '../fixtures/tcp-switch';
import { wireHandlers } from '../fixtures/wired-handlers';

/**
 * The HTTP handlers of one warm container whose DynamoDB goes away and comes back (a relay in front of
 * DynamoDB Local is switched off and on), with Redis up throughout.
 */
const secret = 'dependency-down-test-key-long-enough-32+';
const suffix = randomUUID().slice(0, 8);
const DIM = 8;
const openapi = loadOpenApi();
let relay: TcpSwitch;
let wired: ReturnType<typeof wireHandlers>;
let token: string;
let runner: StreamRunner;
let tables: { vectorEmbeddings: string; botCollections: string; botDocuments: string };

beforeAll(async () => {
  relay = await startTcpSwitch(process.env.DYNAMODB_ENDPOINT as string);
  tables = {
    vectorEmbeddings: `VectorEmbeddings-down-${suffix}`,
    botCollections: `BotCollections-down-${suffix}`,
    botDocuments: `BotDocuments-down-${suffix}`,
  };
  const config = loadConfig({
    ...process.env,
    DYNAMODB_ENDPOINT: relay.url,
    AUTH_MODE: 'local-key',
    LOCAL_JWT_SECRET: secret,
    TABLE_VECTOR_EMBEDDINGS: tables.vectorEmbeddings,
    TABLE_BOT_COLLECTIONS: tables.botCollections,
    TABLE_BOT_DOCUMENTS: tables.botDocuments,
  });
  const dynamodb = createDynamoDbClient(config);
  await ensureTables(dynamodb, config.tables);
  dynamodb.destroy();
  wired = wireHandlers(config);
  // The stream reaches DynamoDB Local directly; its handler goes through the relay like the routes.
  const direct = loadConfig(process.env);
  runner = new StreamRunner({
    streamsClient: new DynamoDBStreamsClient({
      region: direct.region,
      endpoint: direct.dynamodbEndpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    dynamodbClient: createDynamoDbClient(direct),
    tableName: tables.vectorEmbeddings,
    handler: wired.streamSync,
    functionName: `dependency-down-${suffix}`,
    settings: { batchSize: 100, maximumBatchingWindow: 0, functionResponseType: 'ReportBatchItemFailures' },
    log: { debug() {}, info() {}, warn() {}, error() {} },
    pollIntervalMs: 20,
    shardRefreshIntervalMs: 1000,
  });
  await runner.start();
  token = await signDevToken(secret, `owner-${suffix}`);
});

afterAll(async () => {
  await runner?.stop();
  wired?.close();
  await relay?.up();
  const dynamodb = createDynamoDbClient(loadConfig(process.env));
  for (const table of Object.values(tables ?? {})) {
    await dynamodb.send(new DeleteTableCommand({ TableName: table })).catch(() => undefined);
  }
  dynamodb.destroy();
  await relay?.close();
});

type Route = keyof typeof wired.http & string;

async function call(route: Route, request: Omit<HttpRequest, 'method' | 'route' | 'token'>) {
  const [method, path] = route.split(' ') as [HttpRequest['method'], string];
  const response = (await wired.http[route]?.(
    httpEvent({ ...request, method, route: path, token }),
  )) as APIGatewayProxyStructuredResultV2;
  const status = response.statusCode ?? 200;
  const body = response.body === undefined || response.body === '' ? undefined : JSON.parse(response.body);
  expect(responseProblems(openapi, method, path, status, body)).toEqual([]);
  return { status, body, retryAfter: response.headers?.['retry-after'] };
}

const query = randomVector(DIM, rng(7));
const search = (botId: string) =>
  call('POST /bots/{botId}/search', { pathParameters: { botId }, body: { embedding: query, limit: 3 } });

describe('HTTP routes while DynamoDB is down', () => {
  it('answer 503 unavailable with Retry-After on every route, even for a bot whose snapshot the container holds, and answer again once it is back', async () => {
    const botId = `bot-${randomUUID()}`;
    const pathParameters = { botId };
    expect(
      (await call('PUT /bots/{botId}', { pathParameters, body: { embedding_dimension: DIM } })).status,
    ).toBe(201);
    const chunks = Array.from({ length: 20 }, (_, i) => ({
      chunk_index: i,
      text: `chunk ${i}`,
      embedding: randomVector(DIM, rng(100 + i)),
      metadata: { source: 'test' },
    }));
    const upload = { filename: 'a.md', file_size: 100, chunks };
    expect((await call('POST /bots/{botId}/documents', { pathParameters, body: upload })).status).toBe(200);
    await runner.drain(30_000);
    await search(botId); // reads DynamoDB and builds the snapshot
    const warm = await search(botId);
    expect(warm.status).toBe(200);
    expect(warm.body.source).toBe('snapshot');
    const alias = `alias-${randomUUID()}`;
    expect(
      (await call('PUT /aliases/{alias}', { pathParameters: { alias }, body: { bot_id: botId } })).status,
    ).toBe(201);
    expect((await search(alias)).status).toBe(200); // the container now holds the alias too

    await relay.down();
    const whileDown = await Promise.all([
      search(botId),
      call('POST /bots/{botId}/search/batch', {
        pathParameters,
        body: { searches: [{ embedding: query, limit: 3 }] },
      }),
      call('GET /bots/{botId}', { pathParameters }),
      call('GET /bots/{botId}/documents', { pathParameters }),
      call('POST /bots/{botId}/documents', { pathParameters, body: upload }),
      call('DELETE /bots/{botId}/documents', {
        pathParameters,
        queryStringParameters: { filename: 'a.md' },
      }),
      call('PUT /bots/{botId}', { pathParameters, body: { name: 'renamed' } }),
      call('DELETE /bots/{botId}', { pathParameters, queryStringParameters: { confirm: botId } }),
      search(alias),
      call('PUT /aliases/{alias}', { pathParameters: { alias }, body: { bot_id: botId } }),
      call('DELETE /aliases/{alias}', { pathParameters: { alias } }),
    ]).finally(() => relay.up());
    for (const answer of whileDown) {
      expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({
        status: 503,
        code: 'unavailable',
      });
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(answer.body.error.message).toMatch(/DynamoDB is unavailable/);
    }

    const after = await search(botId);
    expect(after.status).toBe(200);
    expect(after.body.results.map((hit: { chunk_id: string }) => hit.chunk_id)).toEqual(
      warm.body.results.map((hit: { chunk_id: string }) => hit.chunk_id),
    );
  });

  it('checks the owner on every search (no cached answer): a deleted bot answers 404 at once from a container that holds its snapshot', async () => {
    const botId = `bot-${randomUUID()}`;
    const pathParameters = { botId };
    await call('PUT /bots/{botId}', { pathParameters, body: { embedding_dimension: DIM } });
    const chunks = [{ chunk_index: 0, text: 'kept', embedding: query, metadata: { source: 'test' } }];
    await call('POST /bots/{botId}/documents', {
      pathParameters,
      body: { filename: 'a.md', file_size: 10, chunks },
    });
    await runner.drain(30_000);
    await search(botId);
    expect((await search(botId)).body.source).toBe('snapshot');

    expect(
      (await call('DELETE /bots/{botId}', { pathParameters, queryStringParameters: { confirm: botId } }))
        .status,
    ).toBe(200);
    const revoked = await search(botId);
    expect(revoked.status).toBe(404);
  });
});
