import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { DynamoBotRegistry } from '../../src/adapters/dynamodb/bot-registry';
import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import { signDevToken } from '../../src/auth/dev-token';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import type { HttpHandler } from '../../src/http/route';
import { httpEvent } from '../fixtures/http-events';
import { loadOpenApi, responseProblems } from '../fixtures/openapi';
import { randomChunks, randomVector, rng } from '../fixtures/search-world';
import { configIn, SNAPSHOT_MODES } from '../fixtures/snapshot-modes';
import { wireHandlers } from '../fixtures/wired-handlers';

/** POST /bots/{botId}/search/batch through its handler: each answer is the single search's answer. */
const secret = 'search-batch-test-key-long-enough-32+';
const DIM = 8;
const openapi = loadOpenApi();
const botId = `batch-${randomUUID()}`;
const owner = `user-${randomUUID()}`;
let token: string;
let dynamodb: ReturnType<typeof createDynamoDbClient>;
/** The handlers built from their factories over this file's config in each snapshot mode (no environment variables set). */
const auth = { AUTH_MODE: 'local-key', LOCAL_JWT_SECRET: secret };
const config = configIn('redis', auth);
const wiredIn = { redis: wireHandlers(config), memory: wireHandlers(configIn('memory', auth)) };
const search = wiredIn.redis.http['POST /bots/{botId}/search'];
const searchBatch = wiredIn.redis.http['POST /bots/{botId}/search/batch'];

async function call(handler: HttpHandler, route: string, body: unknown, as = token) {
  const response = (await handler(
    httpEvent({ method: 'POST', route, pathParameters: { botId }, body, token: as }),
  )) as APIGatewayProxyStructuredResultV2;
  const status = response.statusCode ?? 200;
  const parsed = JSON.parse(response.body as string);
  expect(responseProblems(openapi, 'POST', route, status, parsed)).toEqual([]);
  return { status, body: parsed };
}

beforeAll(async () => {
  dynamodb = createDynamoDbClient(config);
  const documents = createDocumentClient(dynamodb);
  const bots = new DynamoBotRegistry(documents, {
    table: config.tables.botCollections,
    defaultEmbeddingDimension: 384,
  });
  const chunks = new DynamoChunkStore(documents, {
    table: config.tables.vectorEmbeddings,
    embeddingEncoding: 'binary',
  });
  await bots.putOwned(botId, owner, { embedding_dimension: DIM });
  await chunks.put(randomChunks(botId, 300, DIM, rng(11), { files: 12 }));
  token = await signDevToken(secret, owner);
});
afterAll(() => {
  dynamodb.destroy();
  for (const wired of Object.values(wiredIn)) wired.close();
});

describe.each(SNAPSHOT_MODES)('POST /bots/{botId}/search/batch (%s snapshots)', (mode) => {
  const search = wiredIn[mode].http['POST /bots/{botId}/search'];
  const searchBatch = wiredIn[mode].http['POST /bots/{botId}/search/batch'];

  it('answers each query exactly as POST /bots/{botId}/search does, in order', async () => {
    const random = rng(12);
    const searches = [
      { embedding: randomVector(DIM, random), limit: 4 },
      {
        embedding: randomVector(DIM, random),
        filter: { must: [{ key: 'metadata.lang', match: { value: 'de' } }] },
      },
      { embedding: randomVector(DIM, random), group_by: 'filename', group_size: 2, limit: 3 },
      { embedding: randomVector(DIM, random), mmr: { diversity: 0.5, candidates: 40 }, limit: 6 },
      { embedding: randomVector(DIM, random), offset: 5, limit: 3, with_vectors: true },
      { query_text: 'text chunk 17', limit: 3 },
      {
        embedding: randomVector(DIM, random),
        query_text: 'chunk 42',
        fusion: { method: 'weighted', alpha: 0.5 },
      },
    ];
    // Warm the snapshot so both routes answer from it.
    await call(search, '/bots/{botId}/search', searches[0]);
    const batch = await call(searchBatch, '/bots/{botId}/search/batch', { searches });
    expect(batch.status).toBe(200);
    const singles = [];
    for (const body of searches) singles.push((await call(search, '/bots/{botId}/search', body)).body);
    expect(batch.body.searches).toEqual(singles);
    expect(batch.body.searches[2].groups).toHaveLength(3);
    expect(batch.body.searches[4].results[0].vector).toHaveLength(DIM);
    // Keyword search: "17" is one chunk's number, so that chunk ranks first; hybrid hits carry all three scores.
    expect(batch.body.searches[5].results[0].text).toMatch(/^text of chunk 17 of /);
    expect(batch.body.searches[6].results[0]).toMatchObject({
      vector_score: expect.any(Number),
      keyword_score: expect.any(Number),
      fused_score: expect.any(Number),
    });
  });
});

describe('POST /bots/{botId}/search/batch', () => {
  it('names the query and field of a bad request, and refuses another user', async () => {
    const ok = { embedding: randomVector(DIM, rng(3)) };
    const badFilter = await call(searchBatch, '/bots/{botId}/search/batch', {
      searches: [ok, { ...ok, filter: { must: [{ key: 'chunk_index', range: { gtx: 1 } }] } }],
    });
    expect(badFilter).toMatchObject({
      status: 400,
      body: { error: { field: 'searches[1].filter.must[0].range.gtx' } },
    });
    const badDimension = await call(searchBatch, '/bots/{botId}/search/batch', {
      searches: [ok, ok, { embedding: [1, 2] }],
    });
    expect(badDimension).toMatchObject({ status: 400, body: { error: { field: 'searches[2].embedding' } } });
    const tooMany = await call(searchBatch, '/bots/{botId}/search/batch', {
      searches: Array.from({ length: 33 }, () => ok),
    });
    expect(tooMany).toMatchObject({ status: 400, body: { error: { field: 'searches' } } });
    const stopWordsOnly = await call(searchBatch, '/bots/{botId}/search/batch', {
      searches: [ok, { query_text: 'the and of' }],
    });
    expect(stopWordsOnly).toMatchObject({
      status: 400,
      body: { error: { field: 'searches[1].query_text' } },
    });
    const single = await call(search, '/bots/{botId}/search', { query_text: '  ' });
    expect(single).toMatchObject({ status: 400, body: { error: { field: 'query_text' } } });
    const stranger = await call(
      searchBatch,
      '/bots/{botId}/search/batch',
      { searches: [ok] },
      await signDevToken(secret, 'someone-else'),
    );
    expect(stranger.status).toBe(403);
  });
});
