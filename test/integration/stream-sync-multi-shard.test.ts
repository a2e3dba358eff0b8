import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import Redis from 'ioredis';
import { DynamoDocumentCatalog } from '../../src/adapters/dynamodb/document-catalog';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { decodeEmbedding } from '../../src/domain/embedding-codec';
import type { StoredChunk } from '../../src/domain/types';
import { RedisSnapshotStore } from '../../src/snapshot';
import { lambdaContext } from '../fixtures/lambda-context';
import { type ChunkWorld, deliverShards, documentCounts, multiShardChanges } from '../fixtures/multi-shard';
import { rng } from '../fixtures/random';
import { contentOf, expectContent, expectedContent, publishSnapshot } from '../fixtures/snapshot-chunks';
import { type ChunkItem, chunkItem, StreamEventFactory, streamEvent } from '../fixtures/stream-events';
import { wireHandlers } from '../fixtures/wired-handlers';

/**
 * One bot whose records come on several shards, through the real handler, DynamoDB Local and Redis:
 * the shapes DynamoDB Local's one-shard stream never produces, built by test/fixtures/multi-shard.ts.
 */
const DIM = 8;
const config = loadConfig(process.env);
/** handlers/stream-sync.ts's handler over this test's config (its own clients). */
const wired = wireHandlers(config);
const handler = wired.streamSync;
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);
const catalog = new DynamoDocumentCatalog(documents, config.tables.botDocuments);
const redis = new Redis(config.redisUrl ?? '', { maxRetriesPerRequest: 1 });
const snapshots = new RedisSnapshotStore(redis, config.redisKeyPrefix);

jest.setTimeout(60_000);

afterAll(() => {
  dynamodb.destroy();
  redis.disconnect();
  wired.close();
});

async function invoke(records: DynamoDBRecord[]) {
  return handler(streamEvent(records), lambdaContext());
}

/** A bot registered with small embeddings and an empty snapshot the stream must keep current. */
async function botWithSnapshot(): Promise<string> {
  const botId = `bot-${randomUUID()}`;
  await documents.send(
    new PutCommand({
      TableName: config.tables.botCollections,
      Item: { bot_id: botId, embedding_dimension: DIM, status: 'active', snapshot_epoch: 1 },
    }),
  );
  await publishSnapshot(snapshots, botId, [], 1);
  return botId;
}

async function botItem(botId: string) {
  const { Item } = await documents.send(
    new GetCommand({ TableName: config.tables.botCollections, Key: { bot_id: botId }, ConsistentRead: true }),
  );
  return Item ?? {};
}

const stored = (item: ChunkItem): StoredChunk => ({ ...item, embedding: decodeEmbedding(item.embedding) });

/** BotCollections, BotDocuments and the snapshot equal the world (or the snapshot was marked stale). */
async function expectExact(botId: string, world: ChunkWorld): Promise<void> {
  const bot = await botItem(botId);
  const expectedDocs = documentCounts(world);
  const docs: Record<string, number> = {};
  for await (const page of catalog.all(botId)) for (const doc of page) docs[doc.filename] = doc.chunk_count;
  expect({ chunks: bot.total_chunks, documents: bot.total_documents, docs }).toEqual({
    chunks: world.size,
    documents: Object.keys(expectedDocs).length,
    docs: expectedDocs,
  });
  const snapshot = await snapshots.read(botId);
  if (snapshot !== null && snapshot.epoch === bot.snapshot_epoch) {
    expectContent(contentOf(snapshot), expectedContent([...world.values()].map(stored)));
  }
}

describe('stream sync with one bot on several shards', () => {
  it('counts and serves all 12 inserts when six come on a shard numbered below the other', async () => {
    const botId = await botWithSnapshot();
    const first = new StreamEventFactory({ firstSequence: 700_000_000_000_000_000_000n });
    const second = new StreamEventFactory({ firstSequence: 100_000_000_000_000_000_000n });
    const items = Array.from({ length: 12 }, (_, i) =>
      chunkItem(botId, i % 2 === 0 ? 'guide.pdf' : 'faq.pdf', i, { dimension: DIM, chunkId: `c${i}` }),
    );

    // The higher-numbered shard first, then the lower one: a per-bot watermark would skip all six.
    expect((await invoke(items.slice(0, 6).map((item) => first.insert(item)))).batchItemFailures).toEqual([]);
    expect((await invoke(items.slice(6).map((item) => second.insert(item)))).batchItemFailures).toEqual([]);

    await expectExact(botId, new Map(items.map((item) => [item.chunk_id, item])));
    expect(await botItem(botId)).toMatchObject({ total_chunks: 12, total_documents: 2, snapshot_epoch: 1 });
  });

  it('counts both shards once when their numbers interleave and they are delivered at the same time, twice', async () => {
    const botId = await botWithSnapshot();
    // Shard A: 1000, 3000, 5000 ...; shard B: 2000, 4000, 6000 ... (each shard's own numbering).
    const a = new StreamEventFactory({ firstSequence: 100_000_000_000_000_001_000n, step: 2_000n });
    const b = new StreamEventFactory({ firstSequence: 100_000_000_000_000_002_000n, step: 2_000n });
    const items = Array.from({ length: 10 }, (_, i) =>
      chunkItem(botId, 'guide.pdf', i, { dimension: DIM, chunkId: `c${i}` }),
    );
    const onA = items.slice(0, 5).map((item) => a.insert(item));
    const onB = items.slice(5).map((item) => b.insert(item));

    await Promise.all([invoke(onA), invoke(onB), invoke(onB), invoke(onA.slice(0, 2))]);
    await Promise.all([invoke(onA), invoke(onB)]);

    await expectExact(botId, new Map(items.map((item) => [item.chunk_id, item])));
  });

  it.each([11, 12])(
    'ends exact after concurrent shards, a split, retries, bisection and duplicates (seed %i)',
    async (seed) => {
      process.stdout.write(`stream-sync-multi-shard seed ${seed}\n`);
      const botId = await botWithSnapshot();
      const random = rng(seed);
      const { shards, world } = multiShardChanges({
        botId,
        random,
        operations: 250,
        shards: 2 + (seed % 3),
        dimension: DIM,
        splitAt: 0.5,
      });
      await deliverShards(shards, invoke, {
        random,
        batchSize: 20,
        faults: { throwBefore: 0.1, throwAfter: 0.15, reportSuffix: 0.15, duplicate: 0.1 },
      });
      await expectExact(botId, world);
    },
  );
});
