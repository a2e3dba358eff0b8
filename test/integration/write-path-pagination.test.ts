import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoBotRegistry } from '../../src/adapters/dynamodb/bot-registry';
import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import { DynamoDocumentLeases } from '../../src/adapters/dynamodb/document-leases';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { deterministicChunkId } from '../../src/domain/chunk-id';
import type { StoredChunk } from '../../src/domain/types';
import { deleteBot } from '../../src/use-cases/delete-bot';

/**
 * A bot several times larger than one 1 MB Query page. Binary 16-d embeddings and short texts keep DynamoDB
 * Local fast (it slows superlinearly on large items); the page count, not the item size, is what this is about.
 */
const CHUNKS = 20_000;
const DIMENSION = 16;

const config = loadConfig();
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);
const table = config.tables.vectorEmbeddings;
const chunks = new DynamoChunkStore(documents, { table, embeddingEncoding: 'binary', writeConcurrency: 8 });
const leases = new DynamoDocumentLeases(documents, config.tables.documentLeases);
const bots = new DynamoBotRegistry(documents, {
  table: config.tables.botCollections,
  defaultEmbeddingDimension: 384,
});

// Loading and reading 20,000 items takes minutes when DynamoDB Local shares the cores with other suites
// (the whole file took 292 s once on a slow host, against 20 s on a quiet one).
jest.setTimeout(600_000);
afterAll(() => dynamodb.destroy());

function chunkOf(
  botId: string,
  filename: string,
  index: number,
  dimension: number,
  text: string,
): StoredChunk {
  const embedding = new Float32Array(dimension);
  embedding[index % dimension] = 1;
  embedding[(index * 7 + 1) % dimension] = index / CHUNKS;
  return {
    bot_id: botId,
    chunk_id: deterministicChunkId(filename, index),
    embedding,
    text,
    filename,
    file_size: 1,
    chunk_index: index,
    created_at: '2026-01-01T00:00:00.000Z',
    metadata: {},
  };
}

/** What the design document's sample search does: one Query, no LastEvaluatedKey. */
async function naiveSingleQuery(botId: string): Promise<number> {
  const response = await documents.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: 'bot_id = :b',
      ExpressionAttributeValues: { ':b': botId },
    }),
  );
  return response.Items?.length ?? 0;
}

describe('a bot with 20,000 chunks', () => {
  const botId = `bot-${randomUUID()}`;

  beforeAll(async () => {
    const all: StoredChunk[] = [];
    for (let i = 0; i < CHUNKS; i++) all.push(chunkOf(botId, `doc-${i % 20}.txt`, i, DIMENSION, `t${i}`));
    await chunks.put(all);
  });

  it('is read whole by readBot, every chunk once, though one Query page holds only part of it', async () => {
    const seen = new Set<string>();
    let pages = 0;
    for await (const page of chunks.readBot(botId, { consistent: false, withText: true })) {
      pages++;
      for (const chunk of page) seen.add(chunk.chunk_id);
    }

    expect(seen.size).toBe(CHUNKS);
    expect(pages).toBeGreaterThan(2);
    const naive = await naiveSingleQuery(botId);
    expect(naive).toBeLessThan(CHUNKS / 2);
  });

  it('has every chunk id listed by botChunkIds', async () => {
    let count = 0;
    const ids = new Set<string>();
    for await (const page of chunks.botChunkIds(botId)) {
      count += page.length;
      for (const id of page) ids.add(id);
    }

    expect(count).toBe(CHUNKS);
    expect(ids.size).toBe(CHUNKS);
  });

  it('has every key of one document found by documentChunkKeys', async () => {
    const keys = await chunks.documentChunkKeys(botId, 'doc-3.txt');

    expect(keys).toHaveLength(CHUNKS / 20);
    expect(keys.every((k) => k.chunk_index % 20 === 3)).toBe(true);
  });
});

describe('deleting a bot', () => {
  it('removes chunks spread over several Query pages and marks the bot deleted', async () => {
    const botId = `bot-${randomUUID()}`;
    const text = 'x'.repeat(2000);
    const all = Array.from({ length: 1500 }, (_, i) => chunkOf(botId, `doc-${i % 3}.txt`, i, 8, text));
    await chunks.put(all);
    await bots.ensure(botId, {});
    expect(await naiveSingleQuery(botId)).toBeLessThan(1500);

    const result = await deleteBot({ chunks, bots, leases }, { bot_id: botId });

    expect(result.deleted).toBe(1500);
    expect(await naiveSingleQuery(botId)).toBe(0);
    expect((await bots.get(botId))?.status).toBe('deleted');
  });

  it('finds nothing left to delete on a second delivery', async () => {
    const botId = `bot-${randomUUID()}`;
    await chunks.put([chunkOf(botId, 'a.txt', 0, 8, 'a')]);
    await deleteBot({ chunks, bots, leases }, { bot_id: botId });

    const again = await deleteBot({ chunks, bots, leases }, { bot_id: botId });

    expect(again.deleted).toBe(0);
  });
});
