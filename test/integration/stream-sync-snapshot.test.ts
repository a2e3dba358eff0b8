import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import Redis from 'ioredis';
import { DynamoBotStats } from '../../src/adapters/dynamodb/bot-stats';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { decodeEmbedding } from '../../src/domain/embedding-codec';
import type { StoredChunk } from '../../src/domain/types';
import { createRedisClient } from '../../src/redis-client';
import { RedisSnapshotStore } from '../../src/snapshot';
import {
  type StreamLog,
  type SyncStreamBatchDeps,
  syncStreamBatch,
} from '../../src/use-cases/sync-stream-batch';
import { type LocalService, startRedisServer } from '../../tools/local/stack';
import { lambdaContext } from '../fixtures/lambda-context';
import { contentOf, expectContent, expectedContent, publishSnapshot } from '../fixtures/snapshot-chunks';
import { type ChunkItem, chunkItem, StreamEventFactory, streamEvent } from '../fixtures/stream-events';
import { wireHandlers } from '../fixtures/wired-handlers';

const DIM = 16;
const config = loadConfig(process.env);
/** handlers/stream-sync.ts's handler over this test's config (its own clients). */
const wired = wireHandlers(config);
const handler = wired.streamSync;
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);
const stats = new DynamoBotStats(documents, {
  botCollectionsTable: config.tables.botCollections,
  botDocumentsTable: config.tables.botDocuments,
  streamClaimsTable: config.tables.streamClaims,
  defaultEmbeddingDimension: config.defaultEmbeddingDimension,
});
const redis = new Redis(config.redisUrl ?? '', { maxRetriesPerRequest: 1 });
const snapshots = new RedisSnapshotStore(redis, config.redisKeyPrefix);
const warnings: string[] = [];
const log: StreamLog = { warn: (message) => warnings.push(message), error: () => {} };
const deps: SyncStreamBatchDeps = { stats, snapshots, log, defaultEmbeddingDimension: 384 };

afterAll(() => {
  dynamodb.destroy();
  redis.disconnect();
  wired.close();
});

/** A bot registered with small embeddings, as BotRegistry.ensure leaves it. */
async function registerBot(): Promise<string> {
  const botId = `bot-${randomUUID()}`;
  await documents.send(
    new PutCommand({
      TableName: config.tables.botCollections,
      Item: { bot_id: botId, embedding_dimension: DIM, status: 'active', created_at: '2026-01-01T00:00:00Z' },
    }),
  );
  return botId;
}

const item = (botId: string, filename: string, index: number, seed?: number): ChunkItem =>
  chunkItem(botId, filename, index, { dimension: DIM, ...(seed === undefined ? {} : { seed }) });

function stored(c: ChunkItem): StoredChunk {
  return { ...c, embedding: decodeEmbedding(c.embedding) };
}

async function botItem(botId: string) {
  const { Item } = await documents.send(
    new GetCommand({ TableName: config.tables.botCollections, Key: { bot_id: botId }, ConsistentRead: true }),
  );
  return Item;
}

describe('stream sync snapshots', () => {
  it('applies a batch’s inserts, overwrites, moves and removals to a present snapshot', async () => {
    const botId = await registerBot();
    const a0 = item(botId, 'a.pdf', 0);
    const a1 = item(botId, 'a.pdf', 1);
    const a2 = item(botId, 'a.pdf', 2);
    const events = new StreamEventFactory();
    await syncStreamBatch(
      deps,
      [a0, a1, a2].map((c) => events.insert(c)),
    );
    await publishSnapshot(snapshots, botId, [a0, a1, a2].map(stored), 0);

    const rewritten = { ...item(botId, 'a.pdf', 0, 99), text: 'rewritten' };
    const moved = { ...a1, filename: 'b.pdf', metadata: { moved: true } };
    const added = item(botId, 'c.pdf', 0);
    const report = await syncStreamBatch(deps, [
      events.modify(a0, rewritten),
      events.modify(a1, moved),
      events.remove(a2),
      events.insert(added),
    ]);

    expect(report.failures).toEqual([]);
    const snapshot = await snapshots.read(botId);
    expect(snapshot).not.toBeNull();
    if (snapshot === null) return;
    expectContent(contentOf(snapshot), expectedContent([rewritten, moved, added].map(stored)));
    expect(await snapshots.texts(botId, [rewritten.chunk_id, added.chunk_id])).toEqual([
      'rewritten',
      added.text,
    ]);
  });

  it('leaves the snapshot version alone when a batch is redelivered (nothing is applied twice)', async () => {
    const botId = await registerBot();
    await publishSnapshot(snapshots, botId, [], 0);
    const events = new StreamEventFactory();
    const batch = [item(botId, 'a.pdf', 0), item(botId, 'a.pdf', 1)].map((c) => events.insert(c));

    await syncStreamBatch(deps, batch);
    const afterFirst = await snapshots.currentVersion(botId);
    const redelivery = await syncStreamBatch(deps, batch);

    expect(redelivery).toMatchObject({ duplicates: 2, counted: 0, failures: [] });
    expect(await snapshots.currentVersion(botId)).toEqual(afterFirst);
    expect((await snapshots.read(botId))?.rows.map((r) => r.chunk_id).sort()).toEqual(['a.pdf#0', 'a.pdf#1']);
  });

  it('drops a chunk whose new embedding is malformed from the snapshot and counts it, without reporting it', async () => {
    const botId = await registerBot();
    const good = item(botId, 'a.pdf', 0);
    const victim = item(botId, 'a.pdf', 1);
    const events = new StreamEventFactory();
    await syncStreamBatch(deps, [events.insert(good), events.insert(victim)]);
    await publishSnapshot(snapshots, botId, [stored(good), stored(victim)], 0);

    const broken = events.modify(victim, { ...victim, embedding: new Uint8Array([1, 2, 3, 4, 5]) });
    const wrongDimension = events.insert(item(botId, 'b.pdf', 0, 5));
    const patched = wrongDimension.dynamodb?.NewImage;
    if (patched !== undefined) patched.embedding = { L: [{ N: '1' }, { N: '2' }] };
    const report = await syncStreamBatch(deps, [broken, wrongDimension]);

    expect(report.failures).toEqual([]);
    expect(report).toMatchObject({ counted: 2, unusable: 2 });
    expect((await snapshots.read(botId))?.rows.map((r) => r.chunk_id)).toEqual([good.chunk_id]);
    expect(await botItem(botId)).toMatchObject({ total_chunks: 3, total_documents: 2 });
  });

  it('keeps the handler’s wiring on the configured Redis: a stream batch reaches the snapshot', async () => {
    const botId = await registerBot();
    await publishSnapshot(snapshots, botId, [], 0);
    const events = new StreamEventFactory();
    const chunks = [item(botId, 'a.pdf', 0), item(botId, 'a.pdf', 1)];

    const response = await handler(streamEvent(chunks.map((c) => events.insert(c))), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    const snapshot = await snapshots.read(botId);
    expect(snapshot).not.toBeNull();
    if (snapshot !== null) expectContent(contentOf(snapshot), expectedContent(chunks.map(stored)));
  });
});

describe('stream sync when Redis fails', () => {
  let server: LocalService;
  let client: Redis;
  let store: RedisSnapshotStore;

  beforeEach(async () => {
    server = await startRedisServer();
    client = createRedisClient(server.url);
    store = new RedisSnapshotStore(client, 'vs');
  });

  afterEach(async () => {
    client.disconnect();
    await server.stop();
  });

  it('counts the batch, does not fail it, and marks the snapshot stale when Redis is down', async () => {
    const botId = await registerBot();
    await server.stop();
    const events = new StreamEventFactory();
    const batch = [item(botId, 'a.pdf', 0), item(botId, 'b.pdf', 0)].map((c) => events.insert(c));
    const down = { ...deps, snapshots: store };

    const report = await syncStreamBatch(down, batch);
    const redelivery = await syncStreamBatch(down, batch);

    expect(report).toMatchObject({ failures: [], counted: 2, staleMarks: 1 });
    expect(redelivery).toMatchObject({ failures: [], counted: 0, duplicates: 2, staleMarks: 0 });
    expect(await botItem(botId)).toMatchObject({ total_chunks: 2, total_documents: 2, snapshot_epoch: 1 });
  });

  it('marks the snapshot stale when Redis does not answer in time, so readers reject the old one', async () => {
    const botId = await registerBot();
    const first = item(botId, 'a.pdf', 0);
    const events = new StreamEventFactory();
    const slow = { ...deps, snapshots: store, snapshotTimeoutMs: 300 };
    await syncStreamBatch(slow, [events.insert(first)]);
    await publishSnapshot(store, botId, [stored(first)], 0);
    const admin = new Redis(server.url);
    await admin.call('CLIENT', 'PAUSE', '1500', 'WRITE');

    const report = await syncStreamBatch(slow, [events.remove(first)]);

    expect(report).toMatchObject({ failures: [], counted: 1, staleMarks: 1 });
    const bot = await botItem(botId);
    expect(bot).toMatchObject({ total_chunks: 0, snapshot_epoch: 1 });
    const snapshot = await store.read(botId);
    // Whatever Redis ends up holding, it was built under epoch 0: a reader comparing epochs rebuilds it.
    expect(snapshot === null || snapshot.epoch !== bot?.snapshot_epoch).toBe(true);
    admin.disconnect();
  });
});
