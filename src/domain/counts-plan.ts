import { computeCountDeltas, type DocumentState, splitByActionLimit } from './count-deltas';
import type { StreamChange } from './stream-change';
import { type ClaimGroupWrite, claimOf, groupClaims } from './stream-claims';

/**
 * One document's BotDocuments item after a write, applied only if its chunk_count is still
 * `expectedCount` (0: no item, or one without a count); `chunkCount` 0 deletes the item.
 */
export type DocumentWrite = {
  filename: string;
  expectedCount: number;
  chunkCount: number;
  fileSize: number;
  createdAt: string;
  /** Absent: the item keeps no expires_at. */
  expiresAt: number | undefined;
};

/**
 * One atomic step of the counts: claims `claims` (stream eventIDs) in their claim items, conditioned on
 * none of them being claimed yet, adds the deltas to the bot's totals, and writes the documents under
 * their count conditions.
 */
export type CountsWrite = {
  claims: string[];
  /** The same claims by claim item. */
  claimGroups: ClaimGroupWrite[];
  totalChunksDelta: number;
  totalDocumentsDelta: number;
  documents: DocumentWrite[];
  bumpSnapshotEpoch: boolean;
  updatedAt: string;
  /** The chunks the claimed records change (recorded under `dataVersion` when the store keeps a change log). */
  chunkIds: string[];
  /** The bot's data_version once this write commits: one more than the write before it leaves. */
  dataVersion: number;
};

/** The writes that count a bot's unclaimed records, and whatever looked wrong on the way. */
export type CountsPlan = {
  writes: CountsWrite[];
  /** Documents that would have gone below zero chunks: the counts had drifted before this batch. */
  belowZero: string[];
};

/**
 * Turns one bot's unclaimed records into transactions: one per run of records that fits TransactWriteItems
 * (normally one or two per batch). Each write claims its records, changes the bot's totals by deltas (so
 * several shards of one bot can count at the same time), and writes each touched document's new absolute
 * count conditioned on the count it was computed from (so two shards touching one document cannot both
 * win). A later run expects the documents as the earlier runs leave them.
 *
 * @param pending records not yet claimed, in the order their shard delivered them (must not be empty)
 * @param documents the BotDocuments items of every filename the records name, as just read
 * @param bumpSnapshotEpoch whether the first write also marks the bot's snapshot stale
 * @param dataVersion the bot's data_version as read (default 0); each write moves it by one
 */
export function planCountsWrites(
  pending: readonly StreamChange[],
  documents: ReadonlyMap<string, DocumentState>,
  options: { now: string; bumpSnapshotEpoch: boolean; dataVersion?: number; maxActions?: number },
): CountsPlan {
  const current = new Map(documents);
  const belowZero = new Set<string>();
  const writes: CountsWrite[] = [];
  for (const run of splitByActionLimit(pending, options.maxActions)) {
    const deltas = computeCountDeltas(run, current, options.now);
    for (const name of deltas.belowZero) belowZero.add(name);
    const documentWrites = deltas.documents
      .filter((doc) => doc.before > 0 || doc.after > 0)
      .map((doc) => ({
        filename: doc.filename,
        expectedCount: doc.before,
        chunkCount: doc.after,
        fileSize: doc.fileSize,
        createdAt: doc.createdAt,
        expiresAt: doc.expiresAt,
      }));
    for (const doc of documentWrites) {
      if (doc.chunkCount > 0) {
        current.set(doc.filename, {
          chunkCount: doc.chunkCount,
          fileSize: doc.fileSize,
          createdAt: doc.createdAt,
          expiresAt: doc.expiresAt,
        });
      } else {
        current.delete(doc.filename);
      }
    }
    writes.push({
      claims: run.map((change) => change.eventId),
      claimGroups: groupClaims(run.map(claimOf)),
      totalChunksDelta: deltas.totalChunksDelta,
      totalDocumentsDelta: deltas.totalDocumentsDelta,
      documents: documentWrites,
      bumpSnapshotEpoch: options.bumpSnapshotEpoch && writes.length === 0,
      updatedAt: options.now,
      chunkIds: [...new Set(run.map((change) => change.chunkId))],
      dataVersion: (options.dataVersion ?? 0) + writes.length + 1,
    });
  }
  return { writes, belowZero: [...belowZero] };
}
