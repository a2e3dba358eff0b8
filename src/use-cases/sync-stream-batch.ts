import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBRecord } from 'aws-lambda';
import { parseStreamRecord, sequenceNumberOf, snapshotChangesOf } from '../contracts/stream-record';
import { filenamesOf } from '../domain/count-deltas';
import { planCountsWrites } from '../domain/counts-plan';
import { DEFAULT_TOKENISER, tokenise } from '../domain/keyword-text';
import type { StreamChange } from '../domain/stream-change';
import { claimOf } from '../domain/stream-claims';
import { CacheUnavailableError, ValidationError } from '../errors';
import { withDeadline } from '../machinery/deadline';
import { mapLimited } from '../machinery/pool';
import type { BotCountsState, BotStats, ChunkStore, Log } from '../ports';
import type { KeywordChange, KeywordIndexStore, SnapshotChange, SnapshotStore } from '../snapshot';
import { startSnapshot } from '../snapshot';

/** The few logger methods the stream needs; a Powertools Logger satisfies it. */
export type StreamLog = Pick<Log, 'warn' | 'error'>;

export type SyncStreamBatchDeps = {
  stats: BotStats;
  /** null when no snapshot cache is configured: counts only. */
  snapshots: SnapshotStore | null;
  /** The bots' keyword indexes, kept in step with each snapshot update (absent: none are kept). */
  keywords?: KeywordIndexStore | undefined;
  log: StreamLog;
  /** embedding_dimension of a bot that has no record yet. */
  defaultEmbeddingDimension: number;
  now?: () => Date;
  /** Bots processed at the same time (records of one bot are always processed in order). */
  concurrency?: number;
  /** Re-reads after a race lost on a document or the bot's item before giving up on the bot. */
  maxAttempts?: number;
  /** How long a bot's snapshot update may take before the snapshot is marked stale instead. */
  snapshotTimeoutMs?: number;
  /**
   * When set, a bot that has no snapshot after its batch gets one built (the rebuild protocol, reading
   * VectorEmbeddings through `chunks`), so the first search after a bot is loaded is served from the
   * snapshot. Bots holding more than `maxChunks` (default 50,000) are left to the search's own rebuild,
   * which keeps one batch's cost bounded.
   */
  startSnapshots?: { chunks: Pick<ChunkStore, 'readBot' | 'get'>; maxChunks?: number };
};

/** What one batch did. `failures` are the sequence numbers to name in the partial batch response. */
export type StreamBatchReport = {
  failures: string[];
  /** Records counted by this delivery. */
  counted: number;
  /** Records already counted by another delivery (their eventID was claimed). */
  duplicates: number;
  /**
   * Records skipped because no VectorEmbeddings write can produce them (not a stream record's shape, an
   * image DynamoDB cannot hold): not counted, not applied, not reported (a retry could never succeed).
   */
  skipped: number;
  /**
   * Records counted by this delivery whose chunk the snapshot cannot serve (no filename, an embedding of
   * another dimension or out of range): kept out of the snapshot, logged by chunk id, never reported.
   */
  unusable: number;
  /** Bots whose snapshot_epoch was bumped because Redis could not be updated. */
  staleMarks: number;
  /** Bots whose counts could not be committed; their uncounted records are in `failures`. */
  failedBots: number;
  /** Bots that had no snapshot and got one built by this batch (`startSnapshots`). */
  snapshotsStarted: number;
};

type BotOutcome = Omit<StreamBatchReport, 'failedBots' | 'snapshotsStarted' | 'skipped'> & {
  failed: boolean;
  started: boolean;
};

/**
 * Applies one DynamoDB stream batch of VectorEmbeddings to BotCollections, BotDocuments and the Redis
 * snapshots. Records are grouped by bot; bots run concurrently, a bot's records in delivery order. Per
 * bot: one consistent read of the bot and of its records' claims, the snapshot changes of the unclaimed
 * records, then transactions that claim those records' eventIDs together with their count changes
 * (docs/stream-pipeline.md). A claimed record is counted, so retries, duplicates and the bot's other
 * shards running at the same time count every record exactly once; no sequence numbers are compared.
 *
 * A record is only ever reported for a failure that a retry can cure (DynamoDB or a race): one that no
 * VectorEmbeddings write can produce is skipped with a log line, one whose chunk the snapshot cannot serve
 * is counted and kept out of the snapshot, so no record holds its shard back.
 *
 * @returns the records to report as failed: for a bot whose counts failed, its records not yet counted.
 */
export async function syncStreamBatch(
  deps: SyncStreamBatchDeps,
  records: readonly DynamoDBRecord[],
): Promise<StreamBatchReport> {
  const report: StreamBatchReport = {
    failures: [],
    counted: 0,
    duplicates: 0,
    skipped: 0,
    unusable: 0,
    staleMarks: 0,
    failedBots: 0,
    snapshotsStarted: 0,
  };
  const byBot = new Map<string, StreamChange[]>();
  const seen = new Set<string>();
  for (const record of records) {
    let change: StreamChange;
    try {
      change = parseStreamRecord(record);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      deps.log.warn('Stream record skipped: no VectorEmbeddings write can produce it', {
        sequenceNumber: sequenceNumberOf(record),
        eventID: record?.eventID,
        field: error.field,
        reason: error.message,
      });
      report.skipped += 1;
      continue;
    }
    // The same record twice in one batch is one record: it is counted once, under one claim.
    if (seen.has(change.eventId)) continue;
    seen.add(change.eventId);
    const changes = byBot.get(change.botId);
    if (changes === undefined) byBot.set(change.botId, [change]);
    else changes.push(change);
  }

  // A batch comes from one shard, in that shard's order; each item's changes are in order within it.
  const outcomes = await mapLimited([...byBot], deps.concurrency ?? 8, ([botId, changes]) =>
    syncBot(deps, botId, changes),
  );
  for (const outcome of outcomes) {
    report.failures.push(...outcome.failures);
    report.counted += outcome.counted;
    report.duplicates += outcome.duplicates;
    report.unusable += outcome.unusable;
    report.staleMarks += outcome.staleMarks;
    if (outcome.failed) report.failedBots += 1;
    if (outcome.started) report.snapshotsStarted += 1;
  }
  report.failures.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
  return report;
}

async function syncBot(
  deps: SyncStreamBatchDeps,
  botId: string,
  changes: StreamChange[],
): Promise<BotOutcome> {
  const outcome: BotOutcome = {
    failures: [],
    counted: 0,
    duplicates: 0,
    unusable: 0,
    staleMarks: 0,
    failed: false,
    started: false,
  };
  // Sequence numbers to report: if the bot fails, every record not yet counted.
  const reported = new Set<string>();
  const maxAttempts = deps.maxAttempts ?? 8;
  // Records not known to be claimed; until the claims are read, all of them.
  let pending: StreamChange[] = changes;
  let snapshotTried = false;
  // The snapshot must be marked stale: Redis failed, or a change this delivery applied to it belonged to
  // a record another delivery claimed meanwhile (so this one may have landed after a newer change).
  let epochPending = false;
  try {
    const state = await deps.stats.read(botId);
    const { snapshotChanges, unusable } = snapshotChangesOf(
      changes,
      state.embeddingDimension ?? deps.defaultEmbeddingDimension,
    );
    let claims = await deps.stats.claimed(botId, changes.map(claimOf));
    pending = changes.filter((change) => !claims.has(change.eventId));
    outcome.duplicates = changes.length - pending.length;
    outcome.unusable = logUnusable(deps, botId, pending, unusable);
    // Snapshot before counts: a record is only ever claimed after its snapshot change was applied or the
    // snapshot was marked stale, so claimed records need no snapshot work, and skipping them keeps an old
    // redelivered record from overwriting a newer state of its chunk.
    if (pending.length > 0) {
      snapshotTried = true;
      epochPending = !(await applySnapshot(deps, botId, pending, snapshotChanges));
    }
    let dataVersion = state.dataVersion;
    for (let conflicts = 0; pending.length > 0; ) {
      const filenames = [...new Set(pending.flatMap(filenamesOf))];
      const documents = await deps.stats.readDocuments(botId, filenames);
      const plan = planCountsWrites(pending, documents, {
        now: now(deps),
        bumpSnapshotEpoch: epochPending,
        dataVersion,
        // One action of each transaction is left for the change record (BotStats.apply).
        maxActions: 99,
      });
      if (plan.belowZero.length > 0) {
        deps.log.warn('Counts had drifted: a removed chunk was never counted', {
          botId,
          filenames: plan.belowZero,
        });
      }
      const result = await deps.stats.apply(botId, plan.writes);
      const done = new Set(plan.writes.slice(0, result.committed).flatMap((write) => write.claims));
      outcome.counted += done.size;
      if (result.committed > 0 && epochPending) {
        epochPending = false;
        outcome.staleMarks += 1;
      }
      pending = pending.filter((change) => !done.has(change.eventId));
      dataVersion += result.committed;
      if (!result.conflict) continue;
      conflicts += 1;
      if (conflicts >= maxAttempts) {
        // Caught below: the bot's uncounted records are reported and come back in a later delivery.
        throw new Error(`counts of bot ${botId} lost ${conflicts} races in a row`);
      }
      // Another shard of this bot (or another delivery of these records) committed meanwhile.
      await sleep(Math.random() * 20 * conflicts);
      claims = await deps.stats.claimed(botId, pending.map(claimOf));
      // Another shard's write may have moved the bot's data_version: the next writes follow it.
      dataVersion = (await deps.stats.read(botId)).dataVersion;
      const elsewhere = pending.filter((change) => claims.has(change.eventId));
      outcome.duplicates += elsewhere.length;
      // This delivery applied those records' snapshot changes, possibly after newer ones of their chunks.
      if (elsewhere.length > 0 && deps.snapshots !== null) epochPending = true;
      pending = pending.filter((change) => !claims.has(change.eventId));
    }
    if (epochPending) {
      await deps.stats.bumpSnapshotEpoch(botId, now(deps));
      epochPending = false;
      outcome.staleMarks += 1;
    }
    // A bumped epoch means Redis just failed (or raced): leave the snapshot to the next search then.
    if (outcome.staleMarks === 0) outcome.started = await startIfAbsent(deps, botId, state, changes.length);
  } catch (error) {
    outcome.failed = true;
    deps.log.error('Bot counts not committed; its uncounted records are reported for retry', {
      botId,
      records: pending.length,
      snapshotTried,
      error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
    });
    for (const change of pending) reported.add(change.sequenceNumber);
  }
  outcome.failures = [...reported];
  return outcome;
}

/**
 * Logs each record of `pending` (not counted before) whose chunk the snapshot cannot serve: it is the
 * table's truth, so it is counted like any other, and the doctor names it. Returns how many there were.
 */
function logUnusable(
  deps: SyncStreamBatchDeps,
  botId: string,
  pending: readonly StreamChange[],
  unusable: ReadonlyMap<string, ValidationError>,
): number {
  let count = 0;
  for (const change of pending) {
    const reason = unusable.get(change.sequenceNumber);
    if (reason === undefined) continue;
    count += 1;
    deps.log.error('Chunk kept out of the snapshot: it cannot be served; its counts still apply', {
      botId,
      chunkId: change.chunkId,
      sequenceNumber: change.sequenceNumber,
      field: reason.field,
      reason: reason.message,
    });
  }
  return count;
}

/** True when the snapshot took the changes (or there is no snapshot cache); false means mark it stale. */
async function applySnapshot(
  deps: SyncStreamBatchDeps,
  botId: string,
  fresh: readonly StreamChange[],
  snapshotChanges: ReadonlyMap<string, SnapshotChange>,
): Promise<boolean> {
  if (deps.snapshots === null) return true;
  const changes: SnapshotChange[] = [];
  for (const change of fresh) {
    const snapshotChange = snapshotChanges.get(change.sequenceNumber);
    if (snapshotChange !== undefined) changes.push(snapshotChange);
  }
  const timeoutMs = deps.snapshotTimeoutMs ?? 8000;
  try {
    const keywords = await beginKeywordUpdate(deps, botId);
    await withDeadline(deps.snapshots.applyChanges(botId, changes), timeoutMs, () => {
      throw new Error(`snapshot update took over ${timeoutMs} ms`);
    });
    await finishKeywordUpdate(deps, botId, keywords, changes);
    return true;
  } catch (error) {
    // Redis known to be down: the circuit breaker said so once; every bot of every batch would repeat it.
    if (error instanceof CacheUnavailableError) return false;
    deps.log.warn('Snapshot not updated; marking it stale (snapshot_epoch + 1) so readers rebuild it', {
      botId,
      changes: changes.length,
      error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
    });
    return false;
  }
}

/**
 * Marks the bot's keyword index as being updated (docs/snapshot.md, "The keyword index"), or drops it
 * when it does not describe the snapshot as it is. A failure leaves it marked or dropped: never used.
 */
async function beginKeywordUpdate(deps: SyncStreamBatchDeps, botId: string): Promise<string | null> {
  if (deps.keywords === undefined) return null;
  try {
    return await deps.keywords.beginUpdate(botId);
  } catch (error) {
    warnKeywords(deps, botId, error);
    return null;
  }
}

function warnKeywords(deps: SyncStreamBatchDeps, botId: string, error: unknown): void {
  deps.log.warn('Keyword index not updated; search scores keywords in process until it is rebuilt', {
    botId,
    error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
  });
}

/** Applies the batch's changes to the keyword index marked by `token` (O(batch): their terms only). */
async function finishKeywordUpdate(
  deps: SyncStreamBatchDeps,
  botId: string,
  token: string | null,
  changes: readonly SnapshotChange[],
): Promise<void> {
  if (deps.keywords === undefined || token === null) return;
  // A row change keeps the chunk's text, so its terms stay as they are.
  const terms = changes.flatMap((change): KeywordChange[] =>
    change.kind === 'upsert'
      ? [{ chunkId: change.row.chunk_id, terms: tokenise(change.text, DEFAULT_TOKENISER) }]
      : change.kind === 'delete'
        ? [{ chunkId: change.chunk_id, terms: null }]
        : [],
  );
  try {
    await deps.keywords.finishUpdate(botId, token, terms);
  } catch (error) {
    // The index stays marked as being updated: readers pass it over and the next update drops it.
    warnKeywords(deps, botId, error);
  }
}

/** Builds the bot's snapshot when it has none and is small enough (see `startSnapshots`). */
async function startIfAbsent(
  deps: SyncStreamBatchDeps,
  botId: string,
  state: BotCountsState,
  batchSize: number,
): Promise<boolean> {
  if (deps.startSnapshots === undefined || deps.snapshots === null) return false;
  if (state.totalChunks + batchSize > (deps.startSnapshots.maxChunks ?? 50_000)) return false;
  try {
    if ((await deps.snapshots.currentVersion(botId)) !== null) return false;
  } catch {
    // Redis is away: the update above said so already.
    return false;
  }
  const outcome = await startSnapshot(
    { snapshots: deps.snapshots, chunks: deps.startSnapshots.chunks, log: deps.log, keywords: deps.keywords },
    botId,
    state.snapshotEpoch,
    state.embeddingDimension,
  );
  return outcome === 'published';
}

function now(deps: SyncStreamBatchDeps): string {
  return (deps.now?.() ?? new Date()).toISOString();
}
