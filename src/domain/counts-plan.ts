import type { BotCountsState, CountsWrite } from '../ports';
import { computeCountDeltas, type DocumentState, splitByDocumentLimit } from './count-deltas';
import type { StreamChange } from './stream-change';

/** The writes that count a bot's new records, and whatever looked wrong on the way. */
export type CountsPlan = {
  writes: CountsWrite[];
  /** Documents that would have gone below zero chunks: the counts had drifted before this batch. */
  belowZero: string[];
};

/**
 * Turns one bot's not-yet-counted records into absolute writes: one per run of records touching at most
 * `maxDocuments` documents (normally one for the whole batch), each conditioned on the watermark the
 * previous one leaves, the first on the watermark just read.
 *
 * @param state the bot's counts as just read
 * @param fresh records newer than `state.watermark`, oldest first (must not be empty)
 * @param documents the BotDocuments items of every filename the records name, as just read
 * @param bumpSnapshotEpoch whether the first write also marks the bot's snapshot stale
 */
export function planCountsWrites(
  state: BotCountsState,
  fresh: readonly StreamChange[],
  documents: ReadonlyMap<string, DocumentState>,
  options: { now: string; bumpSnapshotEpoch: boolean; maxDocuments?: number },
): CountsPlan {
  const current = new Map(documents);
  let totalChunks = state.totalChunks;
  let totalDocuments = state.totalDocuments;
  let expectedWatermark = state.watermark;
  const belowZero = new Set<string>();
  const writes: CountsWrite[] = [];
  for (const run of splitByDocumentLimit(fresh, options.maxDocuments)) {
    const last = run[run.length - 1];
    if (last === undefined) continue;
    const deltas = computeCountDeltas(run, current, options.now);
    for (const name of deltas.belowZero) belowZero.add(name);
    totalChunks = Math.max(0, totalChunks + deltas.totalChunksDelta);
    totalDocuments = Math.max(0, totalDocuments + deltas.totalDocumentsDelta);
    const documentWrites = deltas.documents
      .filter((doc) => doc.before > 0 || doc.after > 0)
      .map((doc) => ({
        filename: doc.filename,
        chunkCount: doc.after,
        fileSize: doc.fileSize,
        createdAt: doc.createdAt,
      }));
    for (const doc of documentWrites) {
      if (doc.chunkCount > 0) {
        current.set(doc.filename, {
          chunkCount: doc.chunkCount,
          fileSize: doc.fileSize,
          createdAt: doc.createdAt,
        });
      } else {
        current.delete(doc.filename);
      }
    }
    writes.push({
      expectedWatermark,
      watermark: last.sequenceNumber,
      totalChunks,
      totalDocuments,
      documents: documentWrites,
      bumpSnapshotEpoch: options.bumpSnapshotEpoch && writes.length === 0,
      updatedAt: options.now,
    });
    expectedWatermark = last.sequenceNumber;
  }
  return { writes, belowZero: [...belowZero] };
}
