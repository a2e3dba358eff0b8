import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoBotAliases } from '../../src/adapters/dynamodb/bot-aliases';
import { DynamoBotRegistry } from '../../src/adapters/dynamodb/bot-registry';
import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import { DynamoDocumentLeases } from '../../src/adapters/dynamodb/document-leases';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import {
  packEmbedding,
  splitUpsertIntoMessages,
  type UpsertDocumentMessage,
} from '../../src/contracts/ingestion-messages';
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors';
import { deleteBot } from '../../src/use-cases/delete-bot';
import { deleteDocument } from '../../src/use-cases/delete-document';
import { type UpsertDocumentDeps, upsertDocument } from '../../src/use-cases/upsert-document';

const DIMENSION = 8;
const config = loadConfig();
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);
const table = config.tables.vectorEmbeddings;
const chunks = new DynamoChunkStore(documents, { table, embeddingEncoding: 'binary' });
const bots = new DynamoBotRegistry(documents, {
  table: config.tables.botCollections,
  defaultEmbeddingDimension: DIMENSION,
});
const leases = new DynamoDocumentLeases(documents, config.tables.documentLeases);
const deps: UpsertDocumentDeps = {
  chunks,
  bots,
  leases,
  aliases: new DynamoBotAliases(documents, config.tables.botAliases),
  defaultEmbeddingDimension: DIMENSION,
  embeddingEncoding: 'binary',
};

afterAll(() => dynamodb.destroy());

const newBot = () => `bot-${randomUUID()}`;

/** A document version: `version` changes every text and vector, so a stale chunk cannot pass for a new one. */
function upsert(
  botId: string,
  filename: string,
  chunkCount: number,
  version = 1,
  extra: Partial<UpsertDocumentMessage> = {},
): UpsertDocumentMessage {
  return {
    type: 'upsert_document',
    bot_id: botId,
    filename,
    file_size: 1000 * version,
    chunks: Array.from({ length: chunkCount }, (_, i) => ({
      chunk_index: i,
      text: `${filename} v${version} chunk ${i}`,
      embedding: Array.from({ length: DIMENSION }, (_, d) => version + i / 100 + d / 1000),
      metadata: { version },
    })),
    ...extra,
  };
}

/** Every stored item of a bot, raw, in chunk_id order (all pages, strongly consistent). */
async function rawItems(botId: string): Promise<Array<Record<string, unknown>>> {
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

/** What a document looks like to a reader: filename, chunk_index, text, metadata, vector. */
async function contents(botId: string) {
  return (await rawItems(botId))
    .map((item) => ({
      filename: item.filename,
      chunk_index: item.chunk_index,
      text: item.text,
      file_size: item.file_size,
      created_at: item.created_at,
      metadata: item.metadata,
      embedding: Buffer.from(item.embedding as Uint8Array).toString('base64'),
    }))
    .sort((a, b) =>
      `${a.filename}#${a.chunk_index}`.localeCompare(`${b.filename}#${b.chunk_index}`, 'en', {
        numeric: true,
      }),
    );
}

describe('upserting a document', () => {
  it('stores every chunk with its filename, index, size, created_at and metadata, and registers the bot', async () => {
    const botId = newBot();

    const result = await upsertDocument(
      deps,
      upsert(botId, 'a.pdf', 3, 1, { created_at: '2026-01-02T03:04:05.000Z' }),
    );

    const stored = await contents(botId);
    expect(result).toMatchObject({ written: 3, deleted: 0, total_chunks: 3, created_bot: true });
    expect(stored.map((c) => [c.chunk_index, c.text, c.file_size, c.created_at])).toEqual([
      [0, 'a.pdf v1 chunk 0', 1000, '2026-01-02T03:04:05.000Z'],
      [1, 'a.pdf v1 chunk 1', 1000, '2026-01-02T03:04:05.000Z'],
      [2, 'a.pdf v1 chunk 2', 1000, '2026-01-02T03:04:05.000Z'],
    ]);
    expect(stored[0]?.metadata).toEqual({ version: 1 });
    expect(await bots.get(botId)).toMatchObject({ status: 'active', embedding_dimension: DIMENSION });
  });

  it('defaults metadata to an empty map and created_at to now', async () => {
    const botId = newBot();
    const message = upsert(botId, 'a.pdf', 1);
    delete message.chunks[0]?.metadata;
    const before = new Date().toISOString();

    await upsertDocument(deps, message);

    const [only] = await contents(botId);
    expect(only?.metadata).toEqual({});
    expect(String(only?.created_at) >= before).toBe(true);
  });

  it('accepts embeddings sent as base64 packed float32', async () => {
    const botId = newBot();
    const message = upsert(botId, 'a.pdf', 1);
    const vector = [0.5, -0.25, 1, 2, 3, 4, 5, 6];
    message.chunks[0] = { ...message.chunks[0], embedding: packEmbedding(vector) } as never;

    await upsertDocument(deps, message);

    const [stored] = await chunks.get(botId, [], { consistent: true }).then(async () => {
      const all = [];
      for await (const page of chunks.readBot(botId, { consistent: true, withText: true })) all.push(...page);
      return all;
    });
    expect(Array.from(stored?.embedding ?? [])).toEqual(vector);
  });

  describe('rejects bad input before writing anything, not even a bot record', () => {
    const cases: Array<[string, (botId: string) => UpsertDocumentMessage]> = [
      ['filename', (b) => upsert(b, '', 3)],
      ['file_size', (b) => upsert(b, 'a.pdf', 3, 1, { file_size: -5 })],
      ['chunks[2].embedding', (b) => withChunk(upsert(b, 'a.pdf', 3), 2, { embedding: [1, 2, 3] })],
      [
        'chunks[1].embedding',
        (b) => withChunk(upsert(b, 'a.pdf', 3), 1, { embedding: packEmbedding([1, 2]) }),
      ],
      [
        'chunks[0].embedding',
        (b) => withChunk(upsert(b, 'a.pdf', 3), 0, { embedding: [0, 0, 0, 0, 0, 0, 0, Number.NaN] }),
      ],
      ['chunks[2].text', (b) => withChunk(upsert(b, 'a.pdf', 3), 2, { text: ' ' })],
      ['chunks[1].chunk_index', (b) => withChunk(upsert(b, 'a.pdf', 3), 1, { chunk_index: -1 })],
      ['chunks[1].chunk_index', (b) => withChunk(upsert(b, 'a.pdf', 3), 1, { chunk_index: 0.5 })],
      ['chunks[2].chunk_index', (b) => withChunk(upsert(b, 'a.pdf', 3), 2, { chunk_index: 1 })],
      ['created_at', (b) => upsert(b, 'a.pdf', 3, 1, { created_at: 'not a date' })],
    ];

    it.each(cases)('a bad %s', async (field, build) => {
      const botId = newBot();

      const error = await upsertDocument(deps, build(botId)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
      expect((error as ValidationError).message.startsWith(field)).toBe(true);
      expect(await rawItems(botId)).toEqual([]);
      expect(await bots.get(botId)).toBeUndefined();
    });

    it('an empty bot_id', async () => {
      const error = await upsertDocument(deps, upsert('', 'a.pdf', 1)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe('bot_id');
    });

    it('a wrong dimension for a bot registered with another one, naming both', async () => {
      const botId = newBot();
      await bots.putOwned(botId, 'owner', { embedding_dimension: 4 });

      const error = await upsertDocument(deps, upsert(botId, 'a.pdf', 2)).catch((e: unknown) => e);

      expect((error as ValidationError).message).toBe(
        `chunks[0].embedding has 8 values; bot ${botId} expects 4`,
      );
      expect(await rawItems(botId)).toEqual([]);
    });

    it('a message whose later chunk is bad leaves an existing version of the document untouched', async () => {
      const botId = newBot();
      await upsertDocument(deps, upsert(botId, 'a.pdf', 3, 1));
      const before = await contents(botId);

      await expect(
        upsertDocument(deps, withChunk(upsert(botId, 'a.pdf', 2, 2), 1, { embedding: [1] })),
      ).rejects.toBeInstanceOf(ValidationError);

      expect(await contents(botId)).toEqual(before);
    });
  });

  it('replaces a document that shrank: every chunk of the old version is gone', async () => {
    const botId = newBot();
    await upsertDocument(deps, upsert(botId, 'a.pdf', 10, 1));
    await upsertDocument(deps, upsert(botId, 'b.pdf', 2, 1));

    const result = await upsertDocument(deps, upsert(botId, 'a.pdf', 4, 2));

    const stored = await contents(botId);
    expect(result).toMatchObject({ written: 4, deleted: 10 });
    expect(stored.filter((c) => c.filename === 'a.pdf').map((c) => c.text)).toEqual(
      [0, 1, 2, 3].map((i) => `a.pdf v2 chunk ${i}`),
    );
    expect(stored.filter((c) => c.filename === 'b.pdf')).toHaveLength(2);
  });

  it('replaces chunks with caller-supplied ids that the new version no longer has', async () => {
    const botId = newBot();
    const v1 = upsert(botId, 'a.pdf', 3, 1);
    v1.chunks.forEach((c, i) => {
      c.chunk_id = `old-${i}`;
    });
    await upsertDocument(deps, v1);
    const v2 = upsert(botId, 'a.pdf', 3, 2);
    v2.chunks.forEach((c, i) => {
      c.chunk_id = `new-${i}`;
    });

    await upsertDocument(deps, v2);

    const ids = (await rawItems(botId)).map((item) => String(item.chunk_id)).sort();
    expect(ids.map((id) => id.replace(/~[0-9a-f]{16}$/, ''))).toEqual(['new-0', 'new-1', 'new-2']);
  });

  it('leaves the same state when the same upsert is delivered again', async () => {
    const botId = newBot();
    await upsertDocument(deps, upsert(botId, 'a.pdf', 12, 1));
    await upsertDocument(deps, upsert(botId, 'a.pdf', 5, 2));
    const once = await rawItems(botId);

    const again = await upsertDocument(deps, upsert(botId, 'a.pdf', 5, 2));

    expect(again).toMatchObject({ written: 5, deleted: 0, created_bot: false });
    // The same items again: only the time of the write moves on.
    const withoutWriteTime = (items: Array<Record<string, unknown>>) =>
      items.map(({ version_at: _at, ...item }) => item);
    expect(withoutWriteTime(await rawItems(botId))).toEqual(withoutWriteTime(once));
  });

  it('keeps the document created_at across re-ingests unless the message gives one', async () => {
    const botId = newBot();
    await upsertDocument(deps, upsert(botId, 'a.pdf', 2, 1, { created_at: '2025-05-05T00:00:00.000Z' }));

    await upsertDocument(deps, upsert(botId, 'a.pdf', 3, 2));

    expect(new Set((await contents(botId)).map((c) => c.created_at))).toEqual(
      new Set(['2025-05-05T00:00:00.000Z']),
    );
  });

  it.each([
    ['shrank', 40, 23],
    ['grew', 15, 37],
  ])(
    'applies a split document that %s in reverse order, ending identical to one message',
    async (_, before, after) => {
      const single = newBot();
      const split = newBot();
      const created = { created_at: '2026-03-01T00:00:00.000Z' };
      for (const botId of [single, split])
        await upsertDocument(deps, upsert(botId, 'big.pdf', before, 1, created));
      const parts = splitUpsertIntoMessages(upsert(split, 'big.pdf', after, 2), 800);
      expect(parts.length).toBeGreaterThan(3);

      await upsertDocument(deps, upsert(single, 'big.pdf', after, 2));
      for (const part of [...parts].reverse()) await upsertDocument(deps, part);

      const expected = await contents(single);
      expect(expected).toHaveLength(after);
      expect(await contents(split)).toEqual(expected);
    },
  );

  it('applies split parts delivered twice and interleaved, ending identical to one message', async () => {
    const single = newBot();
    const split = newBot();
    const created = { created_at: '2026-03-01T00:00:00.000Z' };
    for (const botId of [single, split]) await upsertDocument(deps, upsert(botId, 'big.pdf', 30, 1, created));
    const parts = splitUpsertIntoMessages(upsert(split, 'big.pdf', 18, 2), 1500);
    const deliveries = [parts[2], parts[0], parts[2], parts[1], parts[0], ...parts.slice(3), parts[1]];

    await upsertDocument(deps, upsert(single, 'big.pdf', 18, 2));
    for (const part of deliveries) if (part !== undefined) await upsertDocument(deps, part);

    expect(await contents(split)).toEqual(await contents(single));
  });

  it('gives a bot it creates the owner the message names', async () => {
    const botId = newBot();

    await upsertDocument(deps, upsert(botId, 'a.pdf', 1, 1, { owner_user_id: 'user-7' }));

    expect((await bots.get(botId))?.user_id).toBe('user-7');
  });

  it('refuses a message naming another owner than the bot has, writing nothing', async () => {
    const botId = newBot();
    await bots.putOwned(botId, 'owner', {});

    const error = await upsertDocument(
      deps,
      upsert(botId, 'a.pdf', 1, 1, { owner_user_id: 'intruder' }),
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConflictError);
    expect(await rawItems(botId)).toEqual([]);
  });

  it('leaves a deleted bot deleted: a late write is a NotFoundError and writes nothing', async () => {
    const botId = newBot();
    await upsertDocument(deps, upsert(botId, 'a.pdf', 2));
    await deleteBot({ chunks, bots, leases }, { bot_id: botId });

    const error = await upsertDocument(deps, upsert(botId, 'b.pdf', 1)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(NotFoundError);
    expect((await bots.get(botId))?.status).toBe('deleted');
    expect(await contents(botId)).toEqual([]);
  });

  it('refuses a write to a bot being deleted with a ConflictError, and writes nothing', async () => {
    const botId = newBot();
    await upsertDocument(deps, upsert(botId, 'a.pdf', 2));
    await bots.beginDelete(botId);

    const error = await upsertDocument(deps, upsert(botId, 'b.pdf', 1)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConflictError);
    expect((await contents(botId)).map((c) => c.filename)).toEqual(['a.pdf', 'a.pdf']);
  });
});

describe('deleting a document', () => {
  it('removes every chunk of that document and nothing else; a second delivery deletes nothing', async () => {
    const botId = newBot();
    await upsertDocument(deps, upsert(botId, 'a.pdf', 30));
    await upsertDocument(deps, upsert(botId, 'b.pdf', 3));

    const first = await deleteDocument(deps, { bot_id: botId, filename: 'a.pdf' });
    const second = await deleteDocument(deps, { bot_id: botId, filename: 'a.pdf' });

    expect(first.deleted).toBe(30);
    expect(second.deleted).toBe(0);
    expect(new Set((await contents(botId)).map((c) => c.filename))).toEqual(new Set(['b.pdf']));
  });

  it('rejects an empty filename', async () => {
    await expect(deleteDocument(deps, { bot_id: newBot(), filename: '' })).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'filename',
    });
  });
});

function withChunk(message: UpsertDocumentMessage, index: number, patch: Record<string, unknown>) {
  message.chunks[index] = { ...message.chunks[index], ...patch } as UpsertDocumentMessage['chunks'][number];
  return message;
}
