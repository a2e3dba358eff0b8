import { tokenise } from '../../src/domain/keyword-text';
import type { BotCountsState, BotStats, CountsApplyResult } from '../../src/ports';
import type { KeywordChange, KeywordIndexStore, SnapshotChange, SnapshotStore } from '../../src/snapshot';
import { syncStreamBatch } from '../../src/use-cases/sync-stream-batch';
import { chunkItem, StreamEventFactory } from '../fixtures/stream-events';

const DIM = 8;

/** Counts that always commit (this test is about the keyword index, not the counts). */
const stats: BotStats = {
  read: async (): Promise<BotCountsState> => ({
    exists: true,
    snapshotEpoch: 0,
    embeddingDimension: DIM,
    totalChunks: 0,
    totalDocuments: 0,
    dataVersion: 0,
  }),
  claimed: async () => new Set<string>(),
  readDocuments: async () => new Map(),
  apply: async (_botId, writes): Promise<CountsApplyResult> => ({
    committed: writes.length,
    conflict: false,
  }),
  bumpSnapshotEpoch: async () => {},
};

/** Records the order of the calls around the snapshot update. */
function fakes(options: { snapshotFails?: boolean; indexPresent?: boolean } = {}) {
  const calls: string[] = [];
  const finished: KeywordChange[][] = [];
  const snapshots = {
    applyChanges: async (_botId: string, changes: SnapshotChange[]) => {
      calls.push(`apply ${changes.length}`);
      if (options.snapshotFails === true) throw new Error('redis went away');
    },
  } as unknown as SnapshotStore;
  const keywords: KeywordIndexStore = {
    beginUpdate: async () => {
      calls.push('begin');
      return options.indexPresent === false ? null : 'token-1';
    },
    finishUpdate: async (_botId, token, changes) => {
      calls.push(`finish ${token}`);
      finished.push([...changes]);
      return true;
    },
    drop: async () => {},
    read: async () => 'missing',
    build: async () => true,
    claimBuild: async () => 'claim-1',
    publishBuild: async () => true,
  };
  return { calls, finished, snapshots, keywords };
}

describe('stream handler and the keyword index', () => {
  const events = new StreamEventFactory();
  const first = { ...chunkItem('bot-k', 'a.txt', 0, { dimension: DIM }), text: 'Error E-1042 in v2.3' };
  const second = { ...chunkItem('bot-k', 'a.txt', 1, { dimension: DIM }), text: 'running shards' };
  const log = { warn: () => {}, error: () => {} };

  it('marks the index before the snapshot update and gives it the batch terms after, in order', async () => {
    const { calls, finished, snapshots, keywords } = fakes();
    const report = await syncStreamBatch(
      { stats, snapshots, keywords, log, defaultEmbeddingDimension: DIM },
      [events.insert(first), events.insert(second), events.remove(first)],
    );
    expect(report.failures).toEqual([]);
    expect(calls).toEqual(['begin', 'apply 3', 'finish token-1']);
    expect(finished).toEqual([
      [
        { chunkId: first.chunk_id, terms: tokenise(first.text) },
        { chunkId: second.chunk_id, terms: tokenise(second.text) },
        { chunkId: first.chunk_id, terms: null },
      ],
    ]);
  });

  it('never finishes an update whose snapshot update failed, nor one whose index was absent', async () => {
    const failing = fakes({ snapshotFails: true });
    const deps = { stats, log, defaultEmbeddingDimension: DIM };
    const report = await syncStreamBatch(
      { ...deps, snapshots: failing.snapshots, keywords: failing.keywords },
      [events.insert(first)],
    );
    expect(report.staleMarks).toBe(1);
    expect(failing.calls).toEqual(['begin', 'apply 1']);

    const absent = fakes({ indexPresent: false });
    await syncStreamBatch({ ...deps, snapshots: absent.snapshots, keywords: absent.keywords }, [
      events.insert(second),
    ]);
    expect(absent.calls).toEqual(['begin', 'apply 1']);
  });
});
