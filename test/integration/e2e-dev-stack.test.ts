import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { signDevToken } from '../../src/auth';
import type { UpsertDocumentMessage } from '../../src/contracts/ingestion-messages';
import { devEmbed } from '../../src/domain/dev-embedder';
import { type DevStack, startDevStack } from '../../tools/local/dev-stack';
import { waitUntil } from '../fixtures/wait';

/**
 * The running system as a client sees it: the stack `npm run dev` starts (serverless-offline with the
 * bundled handlers, the local stream runner, on the global setup's DynamoDB Local and Redis under fresh
 * table names), fed through the ingestion function with the AWS SDK's Lambda client, read over HTTP.
 */
const suffix = randomUUID().slice(0, 8);
const STACK_START_TIMEOUT_MS = 300_000;
/** A functional deadline for the asynchronous pipeline (ingest -> stream -> counts), not a speed claim. */
const PIPELINE_DEADLINE_MS = 30_000;

let stack: DevStack;
let lambda: LambdaClient;
let documents: DynamoDBDocumentClient;

type Bot = { bot_id: string; total_chunks: number; total_documents: number };
type Hit = {
  chunk_id: string;
  text: string;
  score: number;
  metadata: { filename: string; chunk_index: number };
};
type Search = { source: 'snapshot' | 'dynamodb'; results: Hit[] };
type DirectSummary = {
  processed: number;
  failed: number;
  results: { ok: boolean; error?: { name: string; message: string; field?: string } }[];
};

/**
 * One HTTP call. A request that fails before any response (a pooled keep-alive connection the server
 * closed at that moment) is sent again: every call here is idempotent, and any HTTP answer counts.
 */
async function http<T>(method: string, path: string, body?: unknown, token = stack.token) {
  const init: RequestInit = {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
  let response: Response;
  try {
    response = await fetch(`${stack.httpUrl}${path}`, init);
  } catch {
    response = await fetch(`${stack.httpUrl}${path}`, init);
  }
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

async function invokeIngestion(payload: unknown): Promise<DirectSummary> {
  const result = await lambda.send(
    new InvokeCommand({
      FunctionName: stack.ingestFunctionName,
      Payload: Buffer.from(JSON.stringify(payload)),
    }),
  );
  expect(result.FunctionError).toBeUndefined();
  return JSON.parse(Buffer.from(result.Payload ?? new Uint8Array()).toString('utf8')) as DirectSummary;
}

/** The texts of a bot's stored chunks, read strongly consistently from VectorEmbeddings. */
async function storedTexts(botId: string): Promise<string[]> {
  const texts: string[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new QueryCommand({
        TableName: stack.tables.vectorEmbeddings,
        KeyConditionExpression: 'bot_id = :b',
        ExpressionAttributeValues: { ':b': botId },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) texts.push(String(item.text));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return texts;
}

/** The probe's first value that `accept` takes. @throws naming the last value seen, at the deadline. */
async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean): Promise<T> {
  let last: T | undefined;
  const accepted = async () => {
    last = await probe();
    return accept(last);
  };
  await waitUntil('the pipeline', accepted, { timeoutMs: PIPELINE_DEADLINE_MS, intervalMs: 200 }).catch(
    (error: Error) => {
      throw new Error(`${error.message}; last seen: ${JSON.stringify(last)}`);
    },
  );
  return last as T;
}

const paragraphs = [
  'DynamoDB streams deliver every change of the embeddings table to the stream handler in order.',
  'The Redis snapshot keeps packed float32 vectors of the bot for fast exact search.',
  'Sourdough bread needs a lively starter, a long cold proof and a very hot oven.',
];

function upsert(botId: string, filename: string, texts: string[]): UpsertDocumentMessage {
  return {
    type: 'upsert_document',
    bot_id: botId,
    filename,
    file_size: texts.join('\n\n').length,
    chunks: texts.map((text, chunkIndex) => ({
      chunk_index: chunkIndex,
      text,
      embedding: devEmbed(text),
      metadata: { topic: 'e2e' },
    })),
  };
}

beforeAll(async () => {
  stack = await startDevStack({
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT,
      REDIS_URL: process.env.REDIS_URL,
      LOCAL_JWT_SECRET: randomBytes(32).toString('hex'),
      // Fresh tables: the stream runner reads only what this test writes.
      TABLE_VECTOR_EMBEDDINGS: `VectorEmbeddings-e2e-${suffix}`,
      TABLE_BOT_COLLECTIONS: `BotCollections-e2e-${suffix}`,
      TABLE_BOT_DOCUMENTS: `BotDocuments-e2e-${suffix}`,
    },
    log: (message) => process.stderr.write(`[e2e dev stack] ${message}\n`),
  });
  lambda = new LambdaClient({
    endpoint: stack.lambdaEndpoint,
    region: stack.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.dynamodbEndpoint,
      region: stack.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
}, STACK_START_TIMEOUT_MS);

afterAll(async () => {
  lambda?.destroy();
  documents?.destroy();
  await stack?.stop();
}, 60_000);

describe('the local stack, driven as a client would', () => {
  it('counts a document ingested through the Lambda function and finds its chunks over HTTP', async () => {
    const botId = `bot-${randomUUID()}`;
    expect((await http('PUT', `/bots/${botId}`, { name: 'E2E bot' })).status).toBe(201);

    const summary = await invokeIngestion(upsert(botId, 'guide.md', paragraphs));
    expect(summary).toMatchObject({ processed: 1, failed: 0 });

    const bot = await eventually(
      () => http<Bot>('GET', `/bots/${botId}`),
      (r) => r.body.total_chunks === 3,
    );
    expect(bot.body).toMatchObject({ bot_id: botId, total_chunks: 3, total_documents: 1 });

    const documents = await http<{ documents: { filename: string; chunk_count: number }[] }>(
      'GET',
      `/bots/${botId}/documents`,
    );
    expect(documents.body.documents).toEqual([
      expect.objectContaining({ filename: 'guide.md', chunk_count: 3 }),
    ]);

    const search = await http<Search>('POST', `/bots/${botId}/search`, {
      embedding: devEmbed('How does the Redis snapshot store vectors for search?'),
      limit: 2,
    });
    expect(search.status).toBe(200);
    expect(search.body.results.map((hit) => [hit.metadata.filename, hit.metadata.chunk_index])).toEqual([
      ['guide.md', 1],
      expect.any(Array),
    ]);
    expect(search.body.results[0]?.text).toBe(paragraphs[1]);

    // Once built, the snapshot serves the same answer.
    const fromSnapshot = await eventually(
      () =>
        http<Search>('POST', `/bots/${botId}/search`, {
          embedding: devEmbed(paragraphs[2] as string),
          limit: 1,
        }),
      (r) => r.body.source === 'snapshot',
    );
    expect(fromSnapshot.body.source).toBe('snapshot');
    expect(fromSnapshot.body.results[0]).toMatchObject({ text: paragraphs[2], metadata: { chunk_index: 2 } });
    expect(fromSnapshot.body.results[0]?.score).toBeCloseTo(1, 5);
  });

  it('drops a deleted document from the counts and from snapshot search results', async () => {
    const botId = `bot-${randomUUID()}`;
    await http('PUT', `/bots/${botId}`, {});
    await invokeIngestion({
      messages: [
        upsert(botId, 'keep.md', paragraphs.slice(0, 2)),
        upsert(botId, 'drop.md', paragraphs.slice(2)),
      ],
    });
    await eventually(
      () => http<Bot>('GET', `/bots/${botId}`),
      (r) => r.body.total_chunks === 3,
    );
    // Build the snapshot while drop.md is still there, so the delete must reach it through the stream.
    await eventually(
      () =>
        http<Search>('POST', `/bots/${botId}/search`, {
          embedding: devEmbed(paragraphs[2] as string),
          limit: 1,
        }),
      (r) => r.body.source === 'snapshot',
    );

    expect(
      await invokeIngestion({ type: 'delete_document', bot_id: botId, filename: 'drop.md' }),
    ).toMatchObject({
      failed: 0,
    });

    const bot = await eventually(
      () => http<Bot>('GET', `/bots/${botId}`),
      (r) => r.body.total_documents === 1,
    );
    expect(bot.body).toMatchObject({ total_chunks: 2, total_documents: 1 });
    const search = await http<Search>('POST', `/bots/${botId}/search`, {
      embedding: devEmbed(paragraphs[2] as string),
      limit: 5,
    });
    expect(search.body.results.map((hit) => hit.metadata.filename)).toEqual(['keep.md', 'keep.md']);
  });

  it('answers a bad ingestion message with the field at fault and writes nothing', async () => {
    const botId = `bot-${randomUUID()}`;
    await http('PUT', `/bots/${botId}`, {});
    const message = upsert(botId, 'bad.md', paragraphs);
    (message.chunks[1] as { embedding: number[] }).embedding = [0.1, 0.2];

    const summary = await invokeIngestion(message);

    expect(summary.failed).toBe(1);
    expect(summary.results[0]?.error?.field).toMatch(/chunks\[1\]\.embedding/);
    const documents = await http<{ documents: unknown[] }>('GET', `/bots/${botId}/documents`);
    expect(documents.body.documents).toEqual([]);
  });

  it("refuses requests without a valid token and another user's bot", async () => {
    const botId = `bot-${randomUUID()}`;
    await http('PUT', `/bots/${botId}`, {});
    expect((await http('GET', `/bots/${botId}`, undefined, 'not-a-token')).status).toBe(401);
    const stranger = await signDevToken(stack.secret, 'someone-else');
    expect([403, 404]).toContain((await http('GET', `/bots/${botId}`, undefined, stranger)).status);
  });

  it('addresses a bot id holding %, {, }, spaces or unicode exactly, decoding it once', async () => {
    const base = `ids-${randomUUID().slice(0, 8)}`;
    const ids = [`${base}-{tag}`, `${base}-%7Btag%7D`, `${base}-100% done`, `${base}-a b`, `${base}-ü€😀`];
    for (const id of ids) {
      expect((await http('PUT', `/bots/${encodeURIComponent(id)}`, { name: id })).status).toBe(201);
    }
    for (const id of ids) {
      const bot = await http<{ bot_id: string; name: string }>('GET', `/bots/${encodeURIComponent(id)}`);
      expect(bot.body).toMatchObject({ bot_id: id, name: id });
    }
  });

  it('never lets a document name reach another route: `..` deletes neither the bot nor the document', async () => {
    const botId = `bot-${randomUUID()}`;
    await http('PUT', `/bots/${botId}`, {});
    expect((await invokeIngestion(upsert(botId, '..', paragraphs))).failed).toBe(0);
    await eventually(
      () => http<Bot>('GET', `/bots/${botId}`),
      (r) => r.body.total_chunks === 3,
    );

    // Old-style document paths: clients and servers rewrite `/documents/..` into the bot's own path.
    for (const tail of ['..', '%2E%2E', '%2e%2e/']) {
      const answer = await http<{ error: { field?: string } }>('DELETE', `/bots/${botId}/documents/${tail}`);
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
    }
    expect((await http<Bot>('GET', `/bots/${botId}`)).body).toMatchObject({ total_chunks: 3 });

    const removed = await http('DELETE', `/bots/${botId}/documents?filename=${encodeURIComponent('..')}`);
    expect(removed).toEqual({ status: 200, body: { bot_id: botId, filename: '..', chunks_deleted: 3 } });
    const deleted = await http('DELETE', `/bots/${botId}?confirm=${encodeURIComponent(botId)}`);
    expect(deleted.status).toBe(200);
  });

  it('ends two racing replacements of one document as exactly one version, over HTTP and ingestion', async () => {
    const botId = `bot-${randomUUID()}`;
    await http('PUT', `/bots/${botId}`, {});
    const version = (tag: string, count: number) =>
      upsert(
        botId,
        'race.md',
        Array.from({ length: count }, (_, i) => `${tag} ${i} ${paragraphs[i % 3]}`),
      );
    const { type: _type, bot_id: _bot, ...body } = version('A', 30);
    for (let attempt = 0; attempt < 3; attempt++) {
      const [overHttp, viaIngestion] = await Promise.all([
        http<{ error?: unknown }>('POST', `/bots/${botId}/documents`, body),
        invokeIngestion(version('B', 20)),
      ]);
      expect([200, 409]).toContain(overHttp.status);
      expect(viaIngestion.failed).toBe(0);
      const texts = await storedTexts(botId);
      const versions = new Set(texts.map((text) => text.split(' ')[0]));
      expect(versions.size).toBe(1);
      expect(texts.length).toBe(versions.has('A') ? 30 : 20);
    }
  });

  it('stops serverless offline and everything it spawned when stopped', async () => {
    const pid = stack.offlinePid as number;
    expect(pid).toBeGreaterThan(0);

    await stack.stop();

    // Signal 0 only checks existence: the whole process group (serverless, esbuild) is gone.
    expect(() => process.kill(-pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    await expect(fetch(`${stack.httpUrl}/bots/any`)).rejects.toThrow();
  });
});
