import { randomUUID } from 'node:crypto';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoBotRegistry } from '../../src/adapters/dynamodb/bot-registry';
import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { deterministicChunkId } from '../../src/domain/chunk-id';
import type { StoredChunk } from '../../src/domain/types';
import { ConflictError } from '../../src/errors';

const config = loadConfig();
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);
const table = config.tables.vectorEmbeddings;
const listStore = new DynamoChunkStore(documents, { table, embeddingEncoding: 'list' });
const binaryStore = new DynamoChunkStore(documents, { table, embeddingEncoding: 'binary' });
const registry = new DynamoBotRegistry(documents, {
  table: config.tables.botCollections,
  defaultEmbeddingDimension: 384,
});

afterAll(() => dynamodb.destroy());

function chunk(botId: string, filename: string, index: number, dimension = 4): StoredChunk {
  return {
    bot_id: botId,
    chunk_id: deterministicChunkId(filename, index),
    embedding: Float32Array.from({ length: dimension }, (_, i) => (index + 1) * 0.25 + i),
    text: `text ${index}`,
    filename,
    file_size: 1234,
    chunk_index: index,
    created_at: '2026-01-01T00:00:00.000Z',
    metadata: { page: index },
  };
}

async function readAll(store: DynamoChunkStore, botId: string, withText = true): Promise<StoredChunk[]> {
  const all: StoredChunk[] = [];
  for await (const page of store.readBot(botId, { consistent: true, withText })) all.push(...page);
  return all.sort((a, b) => a.chunk_index - b.chunk_index);
}

describe('DynamoDB chunk store', () => {
  it('reads back chunks written in either encoding with the same values', async () => {
    const botId = `bot-${randomUUID()}`;
    await listStore.put([chunk(botId, 'a.pdf', 0)]);
    await binaryStore.put([chunk(botId, 'a.pdf', 1)]);

    const all = await readAll(listStore, botId);
    const got = await binaryStore.get(
      botId,
      [deterministicChunkId('a.pdf', 0), deterministicChunkId('a.pdf', 1)],
      {
        consistent: true,
      },
    );

    expect(all.map((c) => Array.from(c.embedding))).toEqual([
      [0.25, 1.25, 2.25, 3.25],
      [0.5, 1.5, 2.5, 3.5],
    ]);
    expect(all.map((c) => c.text)).toEqual(['text 0', 'text 1']);
    expect(all[1]?.metadata).toEqual({ page: 1 });
    expect(got.map((c) => c.chunk_index).sort()).toEqual([0, 1]);
  });

  it('reads items written by the design document code, with a plain List<Number> embedding', async () => {
    const botId = `bot-${randomUUID()}`;
    await documents.send(
      new PutCommand({
        TableName: table,
        Item: {
          bot_id: botId,
          chunk_id: 'legacy-1',
          embedding: [0.5, -0.5],
          text: 'legacy',
          filename: 'old.txt',
          file_size: 10,
          chunk_index: 0,
          created_at: '2025-01-01T00:00:00Z',
          metadata: {},
        },
      }),
    );

    const [legacy] = await binaryStore.get(botId, ['legacy-1'], { consistent: true });

    expect(Array.from(legacy?.embedding ?? [])).toEqual([0.5, -0.5]);
    expect(legacy?.text).toBe('legacy');
  });

  it('leaves text empty when asked not to read it', async () => {
    const botId = `bot-${randomUUID()}`;
    await binaryStore.put([chunk(botId, 'a.pdf', 0)]);

    const [only] = await readAll(binaryStore, botId, false);

    expect(only?.text).toBe('');
    expect(only?.filename).toBe('a.pdf');
  });

  it('reports undecodable items through onInvalid and leaves them out', async () => {
    const botId = `bot-${randomUUID()}`;
    await binaryStore.put([chunk(botId, 'a.pdf', 0)]);
    await documents.send(
      new PutCommand({
        TableName: table,
        Item: { bot_id: botId, chunk_id: 'broken', embedding: 'not-a-vector!' },
      }),
    );
    const invalid: string[] = [];

    const chunks: StoredChunk[] = [];
    for await (const page of binaryStore.readBot(botId, {
      consistent: true,
      withText: true,
      onInvalid: (chunkId) => invalid.push(chunkId),
    })) {
      chunks.push(...page);
    }

    expect(chunks.map((c) => c.chunk_index)).toEqual([0]);
    expect(invalid).toEqual(['broken']);
  });

  it('finds the keys of one document only and deletes them', async () => {
    const botId = `bot-${randomUUID()}`;
    await binaryStore.put([0, 1, 2].map((i) => chunk(botId, 'a.pdf', i)).concat(chunk(botId, 'b.pdf', 0)));

    const keys = await binaryStore.documentChunkKeys(botId, 'a.pdf');
    await binaryStore.delete(
      botId,
      keys.map((k) => k.chunk_id),
    );

    expect(keys.map((k) => k.chunk_index).sort()).toEqual([0, 1, 2]);
    expect(keys[0]?.created_at).toBe('2026-01-01T00:00:00.000Z');
    expect((await readAll(binaryStore, botId)).map((c) => c.filename)).toEqual(['b.pdf']);
  });
});

describe('DynamoDB bot registry', () => {
  it('creates a bot with the default dimension, active, owned by the given user', async () => {
    const botId = `bot-${randomUUID()}`;

    const bot = await registry.ensure(botId, { user_id: 'u1' });

    expect(bot).toMatchObject({ bot_id: botId, user_id: 'u1', status: 'active', embedding_dimension: 384 });
    expect(bot.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await registry.get(botId)).toEqual(bot);
  });

  it('never overwrites the owner, name, dimension or counts of an existing bot', async () => {
    const botId = `bot-${randomUUID()}`;
    await registry.putOwned(botId, 'owner', { name: 'Acme', embedding_dimension: 8 });
    await documents.send(
      new UpdateCommand({
        TableName: config.tables.botCollections,
        Key: { bot_id: botId },
        UpdateExpression: 'SET total_chunks = :n',
        ExpressionAttributeValues: { ':n': 7 },
      }),
    );

    const bot = await registry.ensure(botId, {
      user_id: 'intruder',
      name: 'Other',
      embedding_dimension: 384,
    });

    expect(bot).toMatchObject({ user_id: 'owner', name: 'Acme', embedding_dimension: 8, total_chunks: 7 });
  });

  it('refuses to hand a bot to a second owner', async () => {
    const botId = `bot-${randomUUID()}`;
    await registry.putOwned(botId, 'owner', { name: 'Acme' });

    await expect(registry.putOwned(botId, 'intruder', { name: 'Mine' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect((await registry.get(botId))?.name).toBe('Acme');
  });

  it('marks a bot deleting, then deleted with a new snapshot epoch, and starts it over empty for its owner only', async () => {
    const botId = `bot-${randomUUID()}`;
    await registry.putOwned(botId, 'u1', { name: 'Old', embedding_dimension: 8, bm25_k1: 1.5 });

    expect(await registry.beginDelete(botId)).toBe(true);
    expect((await registry.get(botId))?.status).toBe('deleting');
    await expect(registry.recreate(botId, 'u1', {})).rejects.toThrow(/being deleted/);
    await expect(registry.putOwned(botId, 'u1', { name: 'New' })).rejects.toThrow(/being deleted/);
    await registry.markDeleted(botId);
    const deleted = await registry.get(botId);
    await expect(registry.putOwned(botId, 'u1', { name: 'New' })).rejects.toThrow(/was deleted/);
    await expect(registry.recreate(botId, 'u2', {})).rejects.toThrow(ConflictError);
    const again = await registry.recreate(botId, 'u1', { embedding_dimension: 4 });

    expect(deleted?.status).toBe('deleted');
    expect(deleted?.snapshot_epoch).toBe(1);
    expect(again).toMatchObject({
      status: 'active',
      user_id: 'u1',
      embedding_dimension: 4,
      snapshot_epoch: 2,
    });
    expect(again.name).toBeUndefined();
    expect(again.bm25_k1).toBeUndefined();
    await expect(registry.recreate(botId, 'u1', {})).rejects.toThrow(ConflictError);
  });

  it('creates no record when deleting a bot that has none', async () => {
    const botId = `bot-${randomUUID()}`;

    await registry.markDeleted(botId);

    expect(await registry.get(botId)).toBeUndefined();
  });
});
