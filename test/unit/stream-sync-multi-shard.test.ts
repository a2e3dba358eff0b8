import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import type { DocumentState } from '../../src/domain/count-deltas';
import type {
  BotCountsState,
  BotStats,
  CountsApplyResult,
  CountsWrite,
  SnapshotChange,
  SnapshotStore,
} from '../../src/ports';
import { syncStreamBatch } from '../../src/use-cases/sync-stream-batch';
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
const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * BotStats in memory with DynamoDB's transaction semantics: a write commits whole or not at all, is
 * cancelled when a claim exists (naming it) or a document's count is not the expected one, and takes at
 * most 100 actions. Every call yields first, so concurrent deliveries interleave between reads and writes.
 */
class FakeStats implements BotStats {
  totals = { chunks: 0, documents: 0, epoch: 0 };
  readonly documents = new Map<string, DocumentState>();
  readonly claims = new Set<string>();
  largestTransaction = 0;

  async read(): Promise<BotCountsState> {
    await tick();
    return {
      exists: true,
      snapshotEpoch: this.totals.epoch,
      embeddingDimension: DIM,
      totalChunks: this.totals.chunks,
      totalDocuments: this.totals.documents,
    };
  }

  async claimed(_botId: string, eventIds: string[]): Promise<Set<string>> {
    await tick();
    return new Set(eventIds.filter((id) => this.claims.has(id)));
  }

  async readDocuments(_botId: string, filenames: string[]): Promise<Map<string, DocumentState>> {
    await tick();
    const found = new Map<string, DocumentState>();
    for (const name of filenames) {
      const doc = this.documents.get(name);
      if (doc !== undefined) found.set(name, { ...doc });
    }
    return found;
  }

  async apply(_botId: string, writes: CountsWrite[]): Promise<CountsApplyResult> {
    for (const [index, write] of writes.entries()) {
      await tick();
      const actions = 1 + write.documents.length + write.claims.length;
      if (actions > 100) throw new Error(`TransactWriteItems takes at most 100 actions, got ${actions}`);
      this.largestTransaction = Math.max(this.largestTransaction, actions);
      const held = write.claims.filter((id) => this.claims.has(id));
      const moved = write.documents.some(
        (doc) => (this.documents.get(doc.filename)?.chunkCount ?? 0) !== doc.expectedCount,
      );
      if (held.length > 0 || moved) return { committed: index, claimedElsewhere: held, conflict: moved };
      for (const id of write.claims) this.claims.add(id);
      this.totals.chunks += write.totalChunksDelta;
      this.totals.documents += write.totalDocumentsDelta;
      if (write.bumpSnapshotEpoch) this.totals.epoch += 1;
      for (const doc of write.documents) {
        if (doc.chunkCount === 0) this.documents.delete(doc.filename);
        else this.documents.set(doc.filename, { ...doc });
      }
    }
    return { committed: writes.length, claimedElsewhere: [], conflict: false };
  }

  async bumpSnapshotEpoch(): Promise<void> {
    await tick();
    this.totals.epoch += 1;
  }
}

/** A present snapshot in memory: chunk id -> the text it serves (the text names the chunk's version). */
class FakeSnapshots implements Pick<SnapshotStore, 'applyChanges'> {
  readonly rows = new Map<string, string>();
  /** Awaited before applying a call of this many changes (to force an order between racing calls). */
  hold: { changes: number; until: Promise<unknown> } | undefined;
  readonly applied: number[] = [];

  async applyChanges(_botId: string, changes: SnapshotChange[]): Promise<void> {
    await tick();
    if (this.hold !== undefined && this.hold.changes === changes.length) await this.hold.until;
    this.applied.push(changes.length);
    for (const change of changes) {
      if (change.kind === 'delete') this.rows.delete(change.chunk_id);
      else this.rows.set(change.row.chunk_id, change.text);
    }
  }
}

function handlerOver(stats: FakeStats, snapshots: FakeSnapshots) {
  return async (records: DynamoDBRecord[]): Promise<DynamoDBBatchResponse> => {
    const report = await syncStreamBatch(
      {
        stats,
        snapshots: snapshots as unknown as SnapshotStore,
        log: { warn: () => {}, error: () => {} },
        defaultEmbeddingDimension: DIM,
      },
      records,
    );
    return { batchItemFailures: report.failures.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

function expectExact(stats: FakeStats, snapshots: FakeSnapshots, world: ChunkWorld, epochBefore = 0) {
  const expectedDocs = documentCounts(world);
  expect(stats.totals.chunks).toBe(world.size);
  expect(stats.totals.documents).toBe(Object.keys(expectedDocs).length);
  expect(Object.fromEntries([...stats.documents].map(([name, doc]) => [name, doc.chunkCount]))).toEqual(
    expectedDocs,
  );
  // The snapshot is exact, or it was marked stale (readers then rebuild it from DynamoDB).
  if (stats.totals.epoch === epochBefore) {
    expect(Object.fromEntries(snapshots.rows)).toEqual(
      Object.fromEntries([...world].map(([id, item]) => [id, item.text])),
    );
  }
}

describe('one bot on several shards (plain fakes)', () => {
  it('counts all 12 inserts when six come on a second shard numbered below the first', async () => {
    const bot = 'bot-1';
    const high = new StreamEventFactory({ firstSequence: 500_000_000_000_000_000_000n });
    const low = new StreamEventFactory({ firstSequence: 100_000_000_000_000_000_000n });
    const items = Array.from({ length: 12 }, (_, i) =>
      chunkItem(bot, 'manual.pdf', i, { dimension: DIM, chunkId: `c${i}` }),
    );
    const stats = new FakeStats();
    const snapshots = new FakeSnapshots();
    const invoke = handlerOver(stats, snapshots);

    await invoke(items.slice(0, 6).map((item) => high.insert(item)));
    await invoke(items.slice(6).map((item) => low.insert(item)));

    expectExact(stats, snapshots, new Map(items.map((item) => [item.chunk_id, item])));
    expect(stats.totals).toEqual({ chunks: 12, documents: 1, epoch: 0 });
  });

  it('splits 100 records of one bot into transactions of at most 100 actions', async () => {
    const events = new StreamEventFactory();
    const items = Array.from({ length: 100 }, (_, i) => chunkItem('bot-1', 'big.pdf', i, { dimension: DIM }));
    const stats = new FakeStats();
    const snapshots = new FakeSnapshots();
    const response = await handlerOver(stats, snapshots)(items.map((item) => events.insert(item)));
    expect(response.batchItemFailures).toEqual([]);
    expect(stats.totals.chunks).toBe(100);
    expect(stats.largestTransaction).toBe(100);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'ends exact with 2-4 concurrent shards, a split, retries, bisection, partial retries and duplicates (seed %i)',
    async (seed) => {
      const random = rng(seed);
      const shards = 2 + (seed % 3);
      const { shards: plans, world } = multiShardChanges({
        botId: 'bot-1',
        random,
        operations: 400,
        shards,
        dimension: DIM,
        splitAt: 0.3 + random() * 0.4,
      });
      const stats = new FakeStats();
      const snapshots = new FakeSnapshots();
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
      botId: 'bot-1',
      random,
      operations: 300,
      shards: 3,
      dimension: DIM,
      splitAt: 0.5,
    });
    const stats = new FakeStats();
    const snapshots = new FakeSnapshots();
    await deliverShards(plans, handlerOver(stats, snapshots), {
      random,
      faults: { throwBefore: 0.2, throwAfter: 0.2, reportSuffix: 0.2 },
    });
    expectExact(stats, snapshots, world);
    expect(stats.totals.epoch).toBe(0);
  });

  it('marks the snapshot stale when a concurrent duplicate claimed a record this delivery applied', async () => {
    const events = new StreamEventFactory();
    const a = chunkItem('bot-1', 'a.pdf', 0, { dimension: DIM, chunkId: 'c0' });
    const b = { ...a, text: 'newer' };
    const insert = events.insert(a);
    const modify = events.modify(a, b);
    const stats = new FakeStats();
    const snapshots = new FakeSnapshots();
    const invoke = handlerOver(stats, snapshots);
    // The whole batch and its first half (a bisected retry) racing, both past their claims read: the
    // half's snapshot write lands after the whole's, leaving the older text.
    const whole = invoke([insert, modify]);
    snapshots.hold = { changes: 1, until: whole };
    await Promise.all([whole, invoke([insert])]);
    expect(snapshots.applied).toEqual([2, 1]);
    expect(snapshots.rows.get('c0')).toBe(a.text);
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
