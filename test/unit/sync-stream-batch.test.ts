import type { DynamoDBRecord } from 'aws-lambda';
import { CacheUnavailableError } from '../../src/errors';
import type { CountsWrite } from '../../src/ports';
import { type SyncStreamBatchDeps, syncStreamBatch } from '../../src/use-cases/sync-stream-batch';
import { FakeBotStats, FakeSnapshotStore } from '../fixtures/fake-stream-ports';
import { chunkItem, StreamEventFactory } from '../fixtures/stream-events';

/**
 * The stream sync's conflict and epoch paths over plain fakes of BotStats and SnapshotStore: what it
 * does when another shard or delivery wins a race, and when the snapshot cannot take a change.
 */
const DIM = 4;
const BOT = 'bot-1';

type Logged = { level: 'warn' | 'error'; message: string };

function world(options: { snapshots?: boolean } = {}) {
  const stats = new FakeBotStats(DIM);
  const snapshots = new FakeSnapshotStore();
  snapshots.publishEmpty(BOT, 0, DIM);
  const logged: Logged[] = [];
  const deps: SyncStreamBatchDeps = {
    stats,
    snapshots: options.snapshots === false ? null : snapshots,
    log: {
      warn: (message) => logged.push({ level: 'warn', message }),
      error: (message) => logged.push({ level: 'error', message }),
    },
    defaultEmbeddingDimension: DIM,
    now: () => new Date('2026-02-03T04:05:06.000Z'),
  };
  return { deps, stats, snapshots, logged };
}

/** Inserts of `count` chunks of one document, as one batch of one shard. */
function inserts(count: number, filename = 'a.pdf'): DynamoDBRecord[] {
  const events = new StreamEventFactory();
  return Array.from({ length: count }, (_, i) =>
    events.insert(chunkItem(BOT, filename, i, { dimension: DIM, chunkId: `${filename}-${i}` })),
  );
}

const sequenceNumbers = (records: DynamoDBRecord[]) => records.map((r) => r.dynamodb?.SequenceNumber);

/** Another shard of the bot commits one more chunk of `filename` just before this write. */
function anotherShardAdds(stats: FakeBotStats, filename: string): void {
  const doc = stats.documents.get(filename);
  stats.documents.set(filename, {
    chunkCount: (doc?.chunkCount ?? 0) + 1,
    fileSize: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
  });
  stats.totals.chunks += 1;
  if (doc === undefined) stats.totals.documents += 1;
}

describe('stream sync: races with other shards and deliveries', () => {
  it('counts a batch once; the same batch delivered again is all duplicates and changes nothing', async () => {
    const { deps, stats, snapshots } = world();
    const batch = inserts(3);

    const first = await syncStreamBatch(deps, batch);
    const again = await syncStreamBatch(deps, batch);

    expect(first).toMatchObject({ failures: [], counted: 3, duplicates: 0, staleMarks: 0 });
    expect(again).toMatchObject({ failures: [], counted: 0, duplicates: 3, staleMarks: 0 });
    expect(stats.totals).toEqual({ chunks: 3, documents: 1, epoch: 0 });
    expect(stats.documents.get('a.pdf')?.chunkCount).toBe(3);
    // Claimed records need no snapshot work: the redelivery did not touch the snapshot.
    expect(snapshots.applied).toHaveLength(1);
  });

  it('re-reads and recomputes when another shard moved a document between its read and its commit', async () => {
    const { deps, stats } = world();
    let raced = false;
    stats.beforeApply = () => {
      if (raced) return;
      raced = true;
      anotherShardAdds(stats, 'a.pdf');
    };

    const report = await syncStreamBatch(deps, inserts(3));

    expect(report).toMatchObject({ failures: [], counted: 3, failedBots: 0 });
    // Both shards' chunks, neither lost nor counted twice.
    expect(stats.documents.get('a.pdf')?.chunkCount).toBe(4);
    expect(stats.totals).toEqual({ chunks: 4, documents: 1, epoch: 0 });
    expect(stats.committed).toHaveLength(1);
  });

  it('gives up on a bot that keeps losing races and reports all its uncounted records for retry', async () => {
    const { deps, stats, logged } = world();
    deps.maxAttempts = 3;
    stats.beforeApply = () => anotherShardAdds(stats, 'a.pdf');
    const batch = inserts(2);

    const report = await syncStreamBatch(deps, batch);

    expect(report).toMatchObject({ counted: 0, failedBots: 1 });
    expect(report.failures).toEqual(sequenceNumbers(batch));
    expect(stats.claims.size).toBe(0);
    expect(logged).toContainEqual({
      level: 'error',
      message: 'Bot counts not committed; its uncounted records are reported for retry',
    });
  });

  it('counts a record claimed meanwhile by a concurrent delivery once, and marks the snapshot stale', async () => {
    const { deps, stats } = world();
    // The other delivery of the same records commits first: it claims and counts them.
    let raced = false;
    stats.beforeApply = (write: CountsWrite) => {
      if (raced) return;
      raced = true;
      for (const claim of write.claims) stats.claims.add(claim);
      stats.totals.chunks += write.totalChunksDelta;
      stats.totals.documents += write.totalDocumentsDelta;
      for (const doc of write.documents) stats.documents.set(doc.filename, { ...doc });
    };

    const report = await syncStreamBatch(deps, inserts(2));

    expect(report).toMatchObject({ failures: [], counted: 0, duplicates: 2, staleMarks: 1 });
    expect(stats.totals).toEqual({ chunks: 2, documents: 1, epoch: 1 });
  });
});

describe('stream sync: a snapshot that cannot take the changes', () => {
  it('marks the snapshot stale in the same transaction as the counts when Redis fails', async () => {
    const { deps, stats, snapshots, logged } = world();
    snapshots.fail = new Error('READONLY You cannot write against a read only replica.');

    const report = await syncStreamBatch(deps, inserts(3));

    expect(report).toMatchObject({ failures: [], counted: 3, staleMarks: 1 });
    expect(stats.committed.map((write) => write.bumpSnapshotEpoch)).toEqual([true]);
    expect(stats.totals).toEqual({ chunks: 3, documents: 1, epoch: 1 });
    expect(logged.map((line) => line.level)).toEqual(['warn']);
  });

  it('marks it stale without a warning of its own when Redis is known to be down', async () => {
    const { deps, stats, snapshots, logged } = world();
    snapshots.fail = new CacheUnavailableError('circuit open');

    const report = await syncStreamBatch(deps, inserts(2));

    expect(report).toMatchObject({ failures: [], counted: 2, staleMarks: 1 });
    expect(stats.totals.epoch).toBe(1);
    expect(logged).toEqual([]);
  });

  it('marks it stale when the update outlasts snapshotTimeoutMs, and still counts', async () => {
    const { deps, stats, snapshots } = world();
    deps.snapshotTimeoutMs = 20;
    snapshots.beforeApply = () => new Promise(() => {});

    const report = await syncStreamBatch(deps, inserts(2));

    expect(report).toMatchObject({ failures: [], counted: 2, staleMarks: 1 });
    expect(stats.totals).toEqual({ chunks: 2, documents: 1, epoch: 1 });
  });

  it('keeps the snapshot exact and the epoch alone when Redis takes the changes', async () => {
    const { deps, stats, snapshots } = world();

    await syncStreamBatch(deps, inserts(2));

    expect(stats.totals.epoch).toBe(0);
    expect(snapshots.textsOf(BOT)).toEqual({
      'a.pdf-0': 'chunk 0 of a.pdf',
      'a.pdf-1': 'chunk 1 of a.pdf',
    });
  });

  it('counts without a snapshot cache and never bumps the epoch, even when a delivery raced', async () => {
    const { deps, stats } = world({ snapshots: false });
    const batch = inserts(2);
    let raced = false;
    stats.beforeApply = (write) => {
      if (raced) return;
      raced = true;
      for (const claim of write.claims.slice(0, 1)) stats.claims.add(claim);
      stats.totals.chunks += 1;
    };

    const report = await syncStreamBatch(deps, batch);

    expect(report).toMatchObject({ failures: [], counted: 1, duplicates: 1, staleMarks: 0 });
    expect(stats.totals.epoch).toBe(0);
  });

  it('skips a malformed record without reporting it (a retry could never apply it) and counts the others', async () => {
    const { deps, stats } = world();
    const batch = inserts(2);
    const broken = { ...batch[1], eventName: 'UPSERT' } as unknown as DynamoDBRecord;

    const report = await syncStreamBatch(deps, [batch[0] as DynamoDBRecord, broken]);

    expect(report).toMatchObject({ counted: 1, skipped: 1 });
    expect(report.failures).toEqual([]);
    expect(stats.totals.chunks).toBe(1);
  });
});
