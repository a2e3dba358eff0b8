import type { ChunkStore, CountsDoctorStore, DeadLetterSource, StreamRangeReader } from '../ports';
import type { SnapshotStore } from '../snapshot';
import { rewriteRows } from './doctor';
import { type SyncStreamBatchDeps, syncStreamBatch } from './sync-stream-batch';

export type ReplayDeps = {
  source: DeadLetterSource;
  stream: StreamRangeReader;
  sync: SyncStreamBatchDeps;
  store: Pick<CountsDoctorStore, 'bumpSnapshotEpoch'>;
  chunks: Pick<ChunkStore, 'get'>;
  snapshots: SnapshotStore | null;
  onLetter?: (result: LetterResult) => void;
};

export type LetterResult = {
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  records: number;
  /** Records counted now (they had been lost); the rest were counted before (claimed). */
  counted: number;
  /** Why the message was kept, when it was. */
  kept?: string;
};

export type ReplayReport = {
  letters: number;
  removed: number;
  kept: number;
  counted: number;
  records: number;
};

/**
 * Applies what the stream's on-failure destination names. Each message is a range of one shard's records:
 * they are read again from the stream and counted through the same claims as the stream handler (a record
 * counted before is skipped, a lost one is counted once), and each named chunk's snapshot row is rewritten
 * from its current state in VectorEmbeddings (not from the old record). A message is removed only after
 * all of that succeeded; one whose records the stream no longer holds (older than 24 hours) is kept and
 * reported: recount with `doctor --repair`, then delete it.
 */
export async function replayDeadLetters(deps: ReplayDeps): Promise<ReplayReport> {
  const report: ReplayReport = { letters: 0, removed: 0, kept: 0, counted: 0, records: 0 };
  for (let letters = await deps.source.receive(); letters.length > 0; letters = await deps.source.receive()) {
    const applied = [];
    for (const letter of letters) {
      report.letters += 1;
      const result: LetterResult = {
        shardId: letter.shardId,
        startSequenceNumber: letter.startSequenceNumber,
        endSequenceNumber: letter.endSequenceNumber,
        records: 0,
        counted: 0,
      };
      try {
        const records = await deps.stream.read(letter);
        result.records = records.length;
        if (records.length === 0)
          throw new Error('the stream no longer holds these records (24 h retention)');
        const batch = await syncStreamBatch(deps.sync, records);
        result.counted = batch.counted;
        if (batch.failedBots > 0)
          throw new Error(`counts of ${batch.failedBots} bot(s) could not be written`);
        const chunksByBot = new Map<string, Set<string>>();
        for (const record of records) {
          const botId = record.dynamodb?.Keys?.bot_id?.S;
          const chunkId = record.dynamodb?.Keys?.chunk_id?.S;
          if (botId === undefined || chunkId === undefined) continue;
          const ids = chunksByBot.get(botId) ?? new Set<string>();
          ids.add(chunkId);
          chunksByBot.set(botId, ids);
        }
        if (deps.snapshots !== null) {
          for (const [botId, ids] of chunksByBot) {
            if (await rewriteRows(deps.snapshots, deps.chunks, botId, [...ids])) {
              await deps.store.bumpSnapshotEpoch(botId);
            }
          }
        }
        applied.push(letter);
        report.counted += batch.counted;
        report.records += records.length;
      } catch (error) {
        result.kept = error instanceof Error ? error.message : String(error);
        report.kept += 1;
      }
      deps.onLetter?.(result);
    }
    if (applied.length > 0) await deps.source.remove(applied);
    report.removed += applied.length;
    // Kept messages stay in the source; stop rather than receive them again in this run.
    if (applied.length < letters.length) break;
  }
  return report;
}
