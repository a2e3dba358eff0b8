import { randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoBotAliases } from '../../src/adapters/dynamodb/bot-aliases';
import { DynamoBotRegistry } from '../../src/adapters/dynamodb/bot-registry';
import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import { DynamoDocumentLeases } from '../../src/adapters/dynamodb/document-leases';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { MAX_CHUNK_ITEM_BYTES } from '../../src/contracts/dynamo-limits';
import type { UpsertDocumentMessage } from '../../src/contracts/ingestion-messages';
import { DocumentBusyError, ValidationError } from '../../src/errors';
import { deleteDocument } from '../../src/use-cases/delete-document';
import { leaseHolder } from '../../src/use-cases/document-lease';
import { type IngestDeps, ingestMessage } from '../../src/use-cases/ingest-message';
import { type UpsertDocumentDeps, upsertDocument } from '../../src/use-cases/upsert-document';

/**
 * Racing and rejected writes on the real tables: two replacements of one document at once end as exactly
 * one version, and a rejected request writes nothing at all (no chunk, no bot record, no lease).
 */
const DIMENSION = 8;
const config = loadConfig();
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);
const table = config.tables.vectorEmbeddings;
// Small write batches in flight, so two writers interleave the way they do under load.
const chunks = new DynamoChunkStore(documents, { table, embeddingEncoding: 'list', writeConcurrency: 1 });
const bots = new DynamoBotRegistry(documents, {
  table: config.tables.botCollections,
  defaultEmbeddingDimension: DIMENSION,
});
const leases = new DynamoDocumentLeases(documents, config.tables.documentLeases);
const deps: IngestDeps = {
  chunks,
  bots,
  leases,
  aliases: new DynamoBotAliases(documents, config.tables.botAliases),
  defaultEmbeddingDimension: DIMENSION,
  embeddingEncoding: 'list',
};
const upsertDeps: UpsertDocumentDeps = deps;

afterAll(() => dynamodb.destroy());

function version(botId: string, filename: string, tag: string, count: number): UpsertDocumentMessage {
  return {
    type: 'upsert_document',
    bot_id: botId,
    filename,
    file_size: count * 100,
    chunks: Array.from({ length: count }, (_, i) => ({
      chunk_index: i,
      text: `${tag} chunk ${i}`,
      embedding: Array.from({ length: DIMENSION }, (_, d) => 1 + i / 100 + d / 1000),
      metadata: { version: tag },
    })),
  };
}

async function stored(botId: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'bot_id = :b',
        ExpressionAttributeValues: { ':b': botId },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** The versions a document's stored chunks come from, and how many chunks it has. */
async function versionsOf(botId: string): Promise<{ versions: string[]; count: number }> {
  const items = await stored(botId);
  const versions = [...new Set(items.map((item) => (item.metadata as { version: string }).version))];
  return { versions: versions.sort(), count: items.length };
}

describe('two replacements of one document at once', () => {
  it('end as exactly one whole version, through the use case both HTTP and ingestion run', async () => {
    const outcomes: string[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const botId = `race-${randomUUID()}`;
      await upsertDocument(upsertDeps, version(botId, 'doc.md', 'old', 25));
      const [a, b] = await Promise.allSettled([
        upsertDocument(upsertDeps, version(botId, 'doc.md', 'A', 30)),
        ingestMessage(deps, version(botId, 'doc.md', 'B', 20)),
      ]);
      expect([a.status, b.status]).toEqual(['fulfilled', 'fulfilled']);
      const { versions, count } = await versionsOf(botId);
      expect(versions.length).toBe(1);
      expect(count).toBe(versions[0] === 'A' ? 30 : 20);
      outcomes.push(versions[0] as string);
    }
    process.stderr.write(`race outcomes (last writer wins): ${outcomes.join(' ')}\n`);
  });

  it('refuse the later one with DocumentBusyError when it will not wait, and it succeeds when resent', async () => {
    const botId = `race-${randomUUID()}`;
    const holder = { request: 'another-request', token: 'its-token' };
    expect(await leases.acquire(botId, 'doc.md', holder, 60_000)).toBe(true);

    const impatient = { ...upsertDeps, leasePolicy: { ttlMs: 60_000, waitMs: 0, retryAfterSeconds: 2 } };
    const refused = await upsertDocument(impatient, version(botId, 'doc.md', 'B', 3)).catch((e) => e);

    expect(refused).toBeInstanceOf(DocumentBusyError);
    expect(refused.retryAfterSeconds).toBe(2);
    expect(await stored(botId)).toEqual([]);
    expect(await bots.get(botId)).toBeUndefined();

    await leases.release(botId, 'doc.md', holder.token);
    await upsertDocument(impatient, version(botId, 'doc.md', 'B', 3));
    expect(await versionsOf(botId)).toEqual({ versions: ['B'], count: 3 });
  });

  it('lets a resend of the same request take over the lease its crashed first try left behind', async () => {
    const botId = `race-${randomUUID()}`;
    const message = version(botId, 'doc.md', 'A', 3);
    const crashed = { request: leaseHolder(message).request, token: 'crashed-attempt' };
    expect(await leases.acquire(botId, 'doc.md', crashed, 60_000)).toBe(true);
    const impatient = { ...upsertDeps, leasePolicy: { ttlMs: 60_000, waitMs: 0, retryAfterSeconds: 2 } };

    const other = await upsertDocument(impatient, version(botId, 'doc.md', 'B', 3)).catch((e) => e);
    const resent = await upsertDocument(impatient, message);

    expect(other).toBeInstanceOf(DocumentBusyError);
    expect(resent.written).toBe(3);
    expect(await versionsOf(botId)).toEqual({ versions: ['A'], count: 3 });
  });

  it('never leaves a delete racing a replacement with a partial document', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const botId = `race-${randomUUID()}`;
      await upsertDocument(upsertDeps, version(botId, 'doc.md', 'old', 10));
      await Promise.all([
        upsertDocument(upsertDeps, version(botId, 'doc.md', 'A', 30)),
        deleteDocument(deps, { bot_id: botId, filename: 'doc.md' }),
      ]);
      const { versions, count } = await versionsOf(botId);
      expect(count === 0 || (versions.length === 1 && versions[0] === 'A' && count === 30)).toBe(true);
    }
  });

  it('leaves no lease behind', async () => {
    const botId = `race-${randomUUID()}`;
    await upsertDocument(upsertDeps, version(botId, 'doc.md', 'A', 2));
    const lease = await documents.send(
      new GetCommand({ TableName: config.tables.documentLeases, Key: { bot_id: botId, filename: 'doc.md' } }),
    );
    expect(lease.Item).toBeUndefined();
  });
});

describe('a rejected upsert', () => {
  it('writes nothing of a 60-chunk upload whose chunk 59 has metadata DynamoDB cannot store', async () => {
    const botId = `reject-${randomUUID()}`;
    await bots.ensure(botId, { user_id: 'u1' });
    const message = version(botId, 'big.md', 'A', 60);
    (message.chunks[59] as { metadata: unknown }).metadata = { n: 1e200 };

    const error = await upsertDocument(upsertDeps, message).catch((e) => e);

    expect(error).toBeInstanceOf(ValidationError);
    expect(error.field).toBe('chunks[59].metadata.n');
    expect(await stored(botId)).toEqual([]);
  });

  it('leaves a 30-chunk document whole when its replacement has a bad chunk 29', async () => {
    const botId = `reject-${randomUUID()}`;
    await upsertDocument(upsertDeps, version(botId, 'doc.md', 'old', 30));
    const replacement = version(botId, 'doc.md', 'new', 30);
    (replacement.chunks[29] as { embedding: unknown }).embedding = [
      1e20,
      ...new Array(DIMENSION - 1).fill(1),
    ];

    const error = await upsertDocument(upsertDeps, replacement).catch((e) => e);

    expect(error).toMatchObject({ name: 'ValidationError', field: 'chunks[29].embedding' });
    expect(await versionsOf(botId)).toEqual({ versions: ['old'], count: 30 });
  });

  it.each<[string, (m: UpsertDocumentMessage) => void, string]>([
    [
      'metadata 1e-200',
      (m) => Object.assign(m.chunks[0] as object, { metadata: { n: 1e-200 } }),
      'chunks[0].metadata.n',
    ],
    [
      'an integer above 2^53',
      (m) => Object.assign(m.chunks[0] as object, { metadata: { n: 2 ** 60 } }),
      'chunks[0].metadata.n',
    ],
    ['a filename over 1,024 bytes', (m) => Object.assign(m, { filename: 'ä'.repeat(600) }), 'filename'],
    [
      'an empty metadata key',
      (m) => Object.assign(m.chunks[0] as object, { metadata: { '': 1 } }),
      'chunks[0].metadata',
    ],
  ])('from ingestion with %s creates no bot record', async (_, spoil, field) => {
    const botId = `orphan-${randomUUID()}`;
    const message = { ...version(botId, 'doc.md', 'A', 2), owner_user_id: 'u1' };
    spoil(message);

    const error = await ingestMessage(deps, message).catch((e) => e);

    expect(error).toMatchObject({ name: 'ValidationError', field });
    expect(await bots.get(botId)).toBeUndefined();
    expect(await stored(botId)).toEqual([]);
  });

  it.each(['list', 'binary'] as const)(
    'stores a chunk of exactly the largest size the check allows (%s encoding) and refuses one byte more',
    async (encoding) => {
      const store = new DynamoChunkStore(documents, { table, embeddingEncoding: encoding });
      const sized: UpsertDocumentDeps = { ...upsertDeps, chunks: store, embeddingEncoding: encoding };
      const botId = `size-${randomUUID()}`;
      await bots.ensure(botId, { user_id: 'u1' });
      const withText = (length: number) => {
        const message = { ...version(botId, 'big.md', 'A', 1), created_at: '2026-01-01T00:00:00.000Z' };
        (message.chunks[0] as { text: string }).text = 'x'.repeat(length);
        return message;
      };
      const probe = await upsertDocument(sized, withText(MAX_CHUNK_ITEM_BYTES)).catch((e) => e);
      const bytes = Number(/would be (\d+) bytes/.exec(String(probe?.message))?.[1]);
      const exact = MAX_CHUNK_ITEM_BYTES - (bytes - MAX_CHUNK_ITEM_BYTES);

      await expect(upsertDocument(sized, withText(exact))).resolves.toMatchObject({ written: 1 });
      const over = await upsertDocument(sized, withText(exact + 1)).catch((e) => e);
      expect(over).toMatchObject({ name: 'ValidationError', field: 'chunks[0]' });
    },
  );
});
