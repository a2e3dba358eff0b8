import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { syncStreamBatch } from '../../src/use-cases/sync-stream-batch';
import { FakeBotStats, FakeSnapshotStore } from '../fixtures/fake-stream-ports';
import {
  type ChunkWorld,
  deliverShards,
  documentCounts,
  multiShardChanges,
  type ShardPlan,
} from '../fixtures/multi-shard';
import { rng } from '../fixtures/random';
import { chunkItem, StreamEventFactory } from '../fixtures/stream-events';

const DIM = 8;
const BOT = 'bot-1';

/** The stats of a bot with a record, and its present (empty) snapshot. */
function fakes() {
  const snapshots = new FakeSnapshotStore();
  snapshots.publishEmpty(BOT, 0, DIM);
  return { stats: new FakeBotStats(DIM), snapshots };
}

function handlerOver(stats: FakeBotStats, snapshots: FakeSnapshotStore) {
  return async (records: DynamoDBRecord[]): Promise<DynamoDBBatchResponse> => {
    const report = await syncStreamBatch(
      {
        stats,
        snapshots,
        log: { warn: () => {}, error: () => {} },
        defaultEmbeddingDimension: DIM,
      },
      records,
    );
    return { batchItemFailures: report.failures.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

function expectExact(stats: FakeBotStats, snapshots: FakeSnapshotStore, world: ChunkWorld, epochBefore = 0) {
  const expectedDocs = documentCounts(world);
  expect(stats.totals.chunks).toBe(world.size);
  expect(stats.totals.documents).toBe(Object.keys(expectedDocs).length);
  expect(Object.fromEntries([...stats.documents].map(([name, doc]) => [name, doc.chunkCount]))).toEqual(
    expectedDocs,
  );
  // The snapshot is exact, or it was marked stale (readers then rebuild it from DynamoDB).
  if (stats.totals.epoch === epochBefore) {
    expect(snapshots.textsOf(BOT)).toEqual(
      Object.fromEntries([...world].map(([id, item]) => [id, item.text])),
    );
  }
}

describe('one bot on several shards (plain fakes)', () => {
  it('counts all 12 inserts when six come on a second shard numbered below the first', async () => {
    const bot = BOT;
    const high = new StreamEventFactory({ firstSequence: 500_000_000_000_000_000_000n });
    const low = new StreamEventFactory({ firstSequence: 100_000_000_000_000_000_000n });
    const items = Array.from({ length: 12 }, (_, i) =>
      chunkItem(bot, 'manual.pdf', i, { dimension: DIM, chunkId: `c${i}` }),
    );
    const { stats, snapshots } = fakes();
    const invoke = handlerOver(stats, snapshots);

    await invoke(items.slice(0, 6).map((item) => high.insert(item)));
    await invoke(items.slice(6).map((item) => low.insert(item)));

    expectExact(stats, snapshots, new Map(items.map((item) => [item.chunk_id, item])));
    expect(stats.totals).toEqual({ chunks: 12, documents: 1, epoch: 0 });
  });

  it('counts 100 records of one document created within one second in one transaction of three actions', async () => {
    const events = new StreamEventFactory();
    const items = Array.from({ length: 100 }, (_, i) => chunkItem(BOT, 'big.pdf', i, { dimension: DIM }));
    const { stats, snapshots } = fakes();
    const response = await handlerOver(stats, snapshots)(items.map((item) => events.insert(item)));
    expect(response.batchItemFailures).toEqual([]);
    expect(stats.totals.chunks).toBe(100);
    // The bot, the document and the one claim item of the records' second.
    expect(stats.committed).toHaveLength(1);
    expect(stats.largestTransaction).toBe(3);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'ends exact with 2-4 concurrent shards, a split, retries, bisection, partial retries and duplicates (seed %i)',
    async (seed) => {
      const random = rng(seed);
      const shards = 2 + (seed % 3);
      const { shards: plans, world } = multiShardChanges({
        botId: BOT,
        random,
        operations: 400,
        shards,
        dimension: DIM,
        splitAt: 0.3 + random() * 0.4,
      });
      const { stats, snapshots } = fakes();
      await deliverShards(plans, handlerOver(stats, snapshots), {
        random,
        batchSize: 1 + Math.floor(random() * 25),
        faults: { throwBefore: 0.1, throwAfter: 0.15, reportSuffix: 0.15, duplicate: 0.15 },
      });
      expectExact(stats, snapshots, world);
    },
  );

  it('keeps the snapshot exact when nothing is delivered twice at the same time', async () => {
    const random = rng(42);
    const { shards: plans, world } = multiShardChanges({
      botId: BOT,
      random,
      operations: 300,
      shards: 3,
      dimension: DIM,
      splitAt: 0.5,
    });
    const { stats, snapshots } = fakes();
    await deliverShards(plans, handlerOver(stats, snapshots), {
      random,
      faults: { throwBefore: 0.2, throwAfter: 0.2, reportSuffix: 0.2 },
    });
    expectExact(stats, snapshots, world);
    expect(stats.totals.epoch).toBe(0);
  });

  it('marks the snapshot stale when a concurrent duplicate claimed a record this delivery applied', async () => {
    const events = new StreamEventFactory();
    const a = chunkItem(BOT, 'a.pdf', 0, { dimension: DIM, chunkId: 'c0' });
    const b = { ...a, text: 'newer' };
    const insert = events.insert(a);
    const modify = events.modify(a, b);
    const { stats, snapshots } = fakes();
    const invoke = handlerOver(stats, snapshots);
    // The whole batch and its first half (a bisected retry) racing, both past their claims read: the
    // half's snapshot write lands after the whole's, leaving the older text.
    const whole = invoke([insert, modify]);
    snapshots.beforeApply = (changes) => (changes.length === 1 ? whole : undefined);
    await Promise.all([whole, invoke([insert])]);
    expect(snapshots.applied.map((call) => call.changes.length)).toEqual([2, 1]);
    expect(snapshots.textsOf(BOT)?.c0).toBe(a.text);
    // Counted once, and the half found its record claimed: it marked the snapshot stale for a rebuild.
    expect(stats.totals.chunks).toBe(1);
    expect(stats.totals.epoch).toBe(1);
  });

  it('gives shards of one plan unique eventIDs and the child numbers below its parent', () => {
    const { shards } = multiShardChanges({
      botId: 'b',
      random: rng(3),
      operations: 200,
      shards: 2,
      splitAt: 0.5,
    });
    const ids = shards.flatMap((shard: ShardPlan) => shard.records.map((r) => r.eventID));
    expect(new Set(ids).size).toBe(ids.length);
    const child = shards.find((shard) => shard.parent !== undefined) as ShardPlan;
    const parent = shards.find((shard) => shard.id === child.parent) as ShardPlan;
    expect(BigInt(child.records[0]?.dynamodb?.SequenceNumber ?? '0')).toBeLessThan(
      BigInt(parent.records[0]?.dynamodb?.SequenceNumber ?? '0'),
    );
  });
});
