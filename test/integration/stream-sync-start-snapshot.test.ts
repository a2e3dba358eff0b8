import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoBotStats } from '../../src/adapters/dynamodb/bot-stats';
import { loadConfig } from '../../src/config';
import type { SearchHit } from '../../src/domain/types';
import {
  type StreamLog,
  type SyncStreamBatchDeps,
  syncStreamBatch,
} from '../../src/use-cases/sync-stream-batch';
import {
  bruteForceTopK,
  randomVector,
  readWholeBot,
  rng,
  type SearchWorld,
  searchWorld,
} from '../fixtures/search-world';
import { type ChunkItem, chunkItem, StreamEventFactory } from '../fixtures/stream-events';

jest.setTimeout(60_000);

const DIM = 16;
const config = loadConfig(process.env);
let world: SearchWorld;
let deps: SyncStreamBatchDeps;
const warnings: string[] = [];
const log: StreamLog = { warn: (message) => warnings.push(message), error: () => {} };

beforeAll(() => {
  world = searchWorld();
  deps = {
    stats: new DynamoBotStats(world.documents, {
      botCollectionsTable: config.tables.botCollections,
      botDocumentsTable: config.tables.botDocuments,
      streamClaimsTable: config.tables.streamClaims,
      defaultEmbeddingDimension: config.defaultEmbeddingDimension,
    }),
    snapshots: world.snapshots,
    log,
    defaultEmbeddingDimension: 384,
    startSnapshots: { chunks: world.chunks },
  };
});
afterAll(async () => {
  await world.close();
});

/** Chunks as the write path leaves them: in VectorEmbeddings, their stream records still to come. */
async function load(botId: string, filename: string, count: number, first = 0): Promise<ChunkItem[]> {
  const items = Array.from({ length: count }, (_, i) =>
    chunkItem(botId, filename, first + i, { dimension: DIM, seed: first + i + filename.length * 97 }),
  );
  for (const item of items) {
    await world.documents.send(new PutCommand({ TableName: config.tables.vectorEmbeddings, Item: item }));
  }
  return items;
}

const ids = (hits: SearchHit[]) => hits.map((hit) => hit.chunk_id);

async function expectExactFromSnapshot(botId: string, seed: number): Promise<void> {
  const query = randomVector(DIM, rng(seed));
  const expected = bruteForceTopK(await readWholeBot(world.chunks, botId), query, 10);
  const answer = await world.search(botId, query, { limit: 10 });
  expect(answer.source).toBe('snapshot');
  expect(ids(answer.results)).toEqual(expected.map((hit) => hit.chunk_id));
  answer.results.forEach((hit, i) => {
    expect(hit.score).toBeCloseTo(expected[i]?.score as number, 6);
  });
}

describe('the stream handler starts the snapshot of a bot that has none', () => {
  it('serves the first search after a bot is loaded from the snapshot, then keeps it current', async () => {
    const botId = `bot-${randomUUID()}`;
    await world.bots.putOwned(botId, 'owner', { embedding_dimension: DIM });
    const events = new StreamEventFactory();
    const ticketsBefore = world.snapshots.ticketsGranted;

    const first = await load(botId, 'a.pdf', 40);
    const report = await syncStreamBatch(
      deps,
      first.map((item) => events.insert(item)),
    );
    expect(report).toMatchObject({ failures: [], counted: 40, snapshotsStarted: 1 });
    await expectExactFromSnapshot(botId, 1);

    // The next batch finds the snapshot and updates it in place (no second build).
    const second = await load(botId, 'b.pdf', 25);
    const next = await syncStreamBatch(
      deps,
      second.map((item) => events.insert(item)),
    );
    expect(next).toMatchObject({ failures: [], counted: 25, snapshotsStarted: 0 });
    await expectExactFromSnapshot(botId, 2);
    expect(world.snapshots.ticketsGranted - ticketsBefore).toBe(1);
  });

  it('leaves a bot above maxChunks to the search, which answers from DynamoDB first', async () => {
    const botId = `bot-${randomUUID()}`;
    await world.bots.putOwned(botId, 'owner', { embedding_dimension: DIM });
    const items = await load(botId, 'big.pdf', 30);
    const events = new StreamEventFactory();
    const report = await syncStreamBatch(
      { ...deps, startSnapshots: { chunks: world.chunks, maxChunks: 20 } },
      [...items.map((item) => events.insert(item))],
    );
    expect(report).toMatchObject({ failures: [], counted: 30, snapshotsStarted: 0 });
    expect(await world.snapshots.currentVersion(botId)).toBeNull();
    const answer = await world.search(botId, randomVector(DIM, rng(3)), { limit: 5 });
    expect(answer.source).toBe('dynamodb');
  });
});
