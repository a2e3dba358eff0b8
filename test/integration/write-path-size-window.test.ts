import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import { DynamoBotAliases } from '../../src/adapters/dynamodb/bot-aliases';
import { DynamoBotRegistry } from '../../src/adapters/dynamodb/bot-registry';
import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import { DynamoDocumentLeases } from '../../src/adapters/dynamodb/document-leases';
import { signDevToken } from '../../src/auth/dev-token';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import type { UpsertDocumentMessage } from '../../src/contracts/ingestion-messages';
import { type UpsertDocumentDeps, upsertDocument } from '../../src/use-cases/upsert-document';
import { httpEvent } from '../fixtures/http-events';
import { lambdaContext } from '../fixtures/lambda-context';
import { windowChunk } from '../fixtures/size-window';
import { sqsEvent } from '../fixtures/sqs-events';
import { wireHandlers } from '../fixtures/wired-handlers';

/**
 * Chunks just over DynamoDB's 400 KB, in the window where counting a number's digits says they fit: over
 * HTTP and through the ingestion queue they are refused with a 400 (a failed record) naming the chunk, and
 * nothing of the request stays. When DynamoDB refuses a chunk the checks passed (here: a check told the
 * wrong encoding), the write is undone: no chunk of a new document stays, and a replaced document is its
 * old version, whole.
 */
const DIMENSION = 8;
const CREATED_AT = '2026-01-01T00:00:00.000Z';
const SECRET = 'size-window-test-key-that-is-long-enough';
const config = loadConfig({
  ...process.env,
  DEFAULT_EMBEDDING_DIMENSION: String(DIMENSION),
  EMBEDDING_ENCODING: 'list',
  AUTH_MODE: 'local-key',
  LOCAL_JWT_SECRET: SECRET,
});
const wired = wireHandlers(config);
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);
const table = config.tables.vectorEmbeddings;

afterAll(async () => {
  wired.close();
  dynamodb.destroy();
});

function upload(botId: string, tag: string, count: number, windowAt?: number): UpsertDocumentMessage {
  return {
    type: 'upsert_document',
    bot_id: botId,
    filename: 'big.md',
    file_size: 7,
    created_at: CREATED_AT,
    chunks: Array.from({ length: count }, (_, i) =>
      i === windowAt
        ? windowChunk({
            botId,
            filename: 'big.md',
            chunkIndex: i,
            dimension: DIMENSION,
            encoding: 'list',
            createdAt: CREATED_AT,
            fileSize: 7,
            over: 700,
          })
        : {
            chunk_index: i,
            text: `${tag} chunk ${i}`,
            embedding: Array.from({ length: DIMENSION }, (_, d) => 1 + i / 100 + d / 1000),
            metadata: { version: tag },
          },
    ),
  };
}

/** Each stored chunk of the bot as `index:version`, in chunk order. */
async function storedVersions(botId: string): Promise<string[]> {
  const { Items = [] } = await documents.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'bot_id = :b',
      ExpressionAttributeValues: { ':b': botId },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => `${item.chunk_index}:${(item.metadata as { version?: string }).version}`);
}

const oldVersion = Array.from({ length: 30 }, (_, i) => `${i}:old`);

describe('through the ingestion queue, a chunk in the size window', () => {
  it('fails its record naming the chunk, and none of a 60-chunk upload stays', async () => {
    const botId = `window-${randomUUID()}`;
    const otherBot = `window-${randomUUID()}`;
    const event = sqsEvent([upload(botId, 'new', 60, 59), upload(otherBot, 'other', 2)]);

    const response = (await wired.ingest(event, lambdaContext())) as SQSBatchResponse;

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: event.Records[0]?.messageId }]);
    expect(await storedVersions(botId)).toEqual([]);
    expect(await storedVersions(otherBot)).toEqual(['0:other', '1:other']);
  });

  it('leaves a replaced document as its old version', async () => {
    const botId = `window-${randomUUID()}`;
    await wired.ingest(sqsEvent([upload(botId, 'old', 30)]), lambdaContext());

    const summary = await wired.ingest(upload(botId, 'new', 30, 25), lambdaContext());

    expect(summary).toMatchObject({
      failed: 1,
      results: [{ ok: false, error: { name: 'ValidationError', field: 'chunks[25]' } }],
    });
    expect(await storedVersions(botId)).toEqual(oldVersion);
  });
});

describe('over HTTP, a chunk in the size window', () => {
  const send = async (method: 'PUT' | 'POST', route: string, botId: string, body: object) => {
    const token = await signDevToken(SECRET, 'alice');
    const handler = wired.http[`${method} ${route}` as keyof typeof wired.http];
    const response = await handler(httpEvent({ method, route, pathParameters: { botId }, token, body }));
    return { status: response.statusCode, body: JSON.parse(response.body ?? '{}') };
  };
  const call = (botId: string, body: object) => send('POST', '/bots/{botId}/documents', botId, body);
  const newBot = async () => {
    const botId = `window-${randomUUID()}`;
    expect((await send('PUT', '/bots/{botId}', botId, { embedding_dimension: DIMENSION })).status).toBe(201);
    return botId;
  };
  const body = (message: UpsertDocumentMessage) => {
    const { type: _type, bot_id: _bot, ...rest } = message;
    return rest;
  };

  it('is a 400 naming the chunk, and none of a 60-chunk upload stays', async () => {
    const botId = await newBot();

    const answer = await call(botId, body(upload(botId, 'new', 60, 59)));

    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'bad_request', field: 'chunks[59]' });
    expect(await storedVersions(botId)).toEqual([]);
  });

  it('is a 400 that leaves a replaced document as its old version, and the fixed request then replaces it', async () => {
    const botId = await newBot();
    expect((await call(botId, body(upload(botId, 'old', 30)))).status).toBe(200);

    const answer = await call(botId, body(upload(botId, 'new', 30, 25)));

    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ field: 'chunks[25]' });
    expect(await storedVersions(botId)).toEqual(oldVersion);
    expect((await call(botId, body(upload(botId, 'new', 30)))).status).toBe(200);
    expect(await storedVersions(botId)).toEqual(Array.from({ length: 30 }, (_, i) => `${i}:new`));
  });
});

describe('a chunk DynamoDB refuses after the checks passed it', () => {
  // The check is told the embeddings are packed float32, the store writes them as lists (over 2 KB more
  // for 384 values): the chunk passes the check and DynamoDB refuses it.
  const store = new DynamoChunkStore(documents, { table, embeddingEncoding: 'list' });
  const deps: UpsertDocumentDeps = {
    bots: new DynamoBotRegistry(documents, {
      table: config.tables.botCollections,
      defaultEmbeddingDimension: 384,
    }),
    chunks: store,
    leases: new DynamoDocumentLeases(documents, config.tables.documentLeases),
    aliases: new DynamoBotAliases(documents, config.tables.botAliases),
    defaultEmbeddingDimension: 384,
    embeddingEncoding: 'binary',
  };
  const big = (botId: string, tag: string, count: number, refusedAt?: number): UpsertDocumentMessage => ({
    type: 'upsert_document',
    bot_id: botId,
    filename: 'doc.md',
    file_size: 7,
    created_at: CREATED_AT,
    chunks: Array.from({ length: count }, (_, i) => ({
      chunk_index: i,
      text: i === refusedAt ? 'x'.repeat(406_000) : `${tag} chunk ${i}`,
      embedding: Array.from({ length: 384 }, (_, d) => -0.123456 - i / 1000 - d / 100_000),
      metadata: { version: tag },
    })),
  });

  it('is a ValidationError naming it, and no chunk of a new document stays', async () => {
    const botId = `refused-${randomUUID()}`;

    const error = await upsertDocument(deps, big(botId, 'new', 60, 59)).catch((e) => e);

    expect(error).toMatchObject({ name: 'ValidationError', field: 'chunks[59]' });
    expect(error.message).toMatch(/was refused by DynamoDB: .*size/i);
    expect(await storedVersions(botId)).toEqual([]);
  });

  it('leaves a replaced document as its old version, whole and unchanged', async () => {
    const botId = `refused-${randomUUID()}`;
    await upsertDocument(deps, big(botId, 'old', 30));
    const before = await store.get(
      botId,
      (await store.documentChunkKeys(botId, 'doc.md')).map((key) => key.chunk_id),
      { consistent: true },
    );

    const error = await upsertDocument(deps, big(botId, 'new', 40, 25)).catch((e) => e);

    expect(error).toMatchObject({ name: 'ValidationError', field: 'chunks[25]' });
    expect(await storedVersions(botId)).toEqual(oldVersion);
    const after = await store.get(
      botId,
      before.map((chunk) => chunk.chunk_id),
      { consistent: true },
    );
    expect(after).toEqual(before);
  });
});
