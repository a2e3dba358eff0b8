import type { DynamoDBRecord } from 'aws-lambda';
import { filenamesOf } from '../domain/count-deltas';
import { planCountsWrites } from '../domain/counts-plan';
import {
  isAfterWatermark,
  parseStreamRecord,
  type StreamChange,
  sequenceNumberOf,
  snapshotChangeOf,
} from '../domain/stream-change';
import { CacheUnavailableError, ValidationError } from '../errors';
import type { BotCountsState, BotStats, SnapshotChange, SnapshotStore } from '../ports';

/** The few logger methods the stream needs; a Powertools Logger satisfies it. */
export type StreamLog = {
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
};

export type SyncStreamBatchDeps = {
  stats: BotStats;
  /** null when no snapshot cache is configured: counts only. */
  snapshots: SnapshotStore | null;
  log: StreamLog;
  /** embedding_dimension of a bot that has no record yet. */
  defaultEmbeddingDimension: number;
  now?: () => Date;
  /** Bots processed at the same time (records of one bot are always processed in order). */
  concurrency?: number;
  /** Re-reads after the watermark moved under a bot's transaction before giving up on it. */
  maxAttempts?: number;
  /** How long a bot's snapshot update may take before the snapshot is marked stale instead. */
  snapshotTimeoutMs?: number;
};

/** What one batch did. `failures` are the sequence numbers to name in the partial batch response. */
export type StreamBatchReport = {
  failures: string[];
  /** Records counted by this delivery. */
  counted: number;
  /** Records already counted by an earlier delivery (sequence number at or below the bot's watermark). */
  duplicates: number;
  /** Records reported because they cannot be processed (malformed record, unusable embedding). */
  invalid: number;
  /** Bots whose snapshot_epoch was bumped because Redis could not be updated. */
  staleMarks: number;
  /** Bots whose counts could not be committed; their uncounted records are in `failures`. */
  failedBots: number;
};

type BotOutcome = Omit<StreamBatchReport, 'failedBots'> & { failed: boolean };

/**
 * Applies one DynamoDB stream batch of VectorEmbeddings to BotCollections, BotDocuments and the Redis
 * snapshots. Records are grouped by bot; bots run concurrently, a bot's records strictly in order. Per
 * bot: one consistent read of its watermark, the snapshot changes of its uncounted records, then one
 * conditional transaction of absolute counts (more only past 99 documents). Records at or below the
 * watermark were counted by an earlier delivery and are skipped, so retries and duplicates count once.
 *
 * @returns the records to report as failed: malformed ones (every time they are delivered, so they
 * reach the on-failure destination) and, for a bot whose counts failed, its records not yet counted.
 * @throws ValidationError only for a record with no sequence number (it cannot be reported on its own).
 */
export async function syncStreamBatch(
  deps: SyncStreamBatchDeps,
  records: readonly DynamoDBRecord[],
): Promise<StreamBatchReport> {
  const report: StreamBatchReport = {
    failures: [],
    counted: 0,
    duplicates: 0,
    invalid: 0,
    staleMarks: 0,
    failedBots: 0,
  };
  const byBot = new Map<string, StreamChange[]>();
  for (const record of records) {
    const sequenceNumber = sequenceNumberOf(record);
    if (sequenceNumber === undefined) {
      throw new ValidationError('a stream record has no dynamodb.SequenceNumber', 'dynamodb.SequenceNumber');
    }
    let change: StreamChange;
    try {
      change = parseStreamRecord(record);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      deps.log.error('Malformed stream record reported', {
        sequenceNumber,
        eventID: record.eventID,
        field: error.field,
        reason: error.message,
      });
      report.failures.push(sequenceNumber);
      report.invalid += 1;
      continue;
    }
    const changes = byBot.get(change.botId);
    if (changes === undefined) byBot.set(change.botId, [change]);
    else changes.push(change);
  }

  const outcomes = await mapWithConcurrency([...byBot], deps.concurrency ?? 8, ([botId, changes]) =>
    syncBot(deps, botId, changes.sort(bySequence)),
  );
  for (const outcome of outcomes) {
    report.failures.push(...outcome.failures);
    report.counted += outcome.counted;
    report.duplicates += outcome.duplicates;
    report.invalid += outcome.invalid;
    report.staleMarks += outcome.staleMarks;
    if (outcome.failed) report.failedBots += 1;
  }
  report.failures.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
  return report;
}

const bySequence = (a: StreamChange, b: StreamChange) =>
  a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0;

async function syncBot(
  deps: SyncStreamBatchDeps,
  botId: string,
  changes: StreamChange[],
): Promise<BotOutcome> {
  const outcome: BotOutcome = {
    failures: [],
    counted: 0,
    duplicates: 0,
    invalid: 0,
    staleMarks: 0,
    failed: false,
  };
  // Sequence numbers to report: unusable records, then (if the bot fails) every record not yet counted.
  const reported = new Set<string>();
  const maxAttempts = deps.maxAttempts ?? 5;
  // The newest sequence number known to be counted; records after it are reported if this bot fails.
  let countedThrough: string | undefined;
  let known = false;
  let snapshotTried = false;
  let epochPending = false;
  try {
    for (let attempt = 1; ; attempt++) {
      const state = await deps.stats.read(botId);
      countedThrough = state.watermark;
      known = true;
      const fresh = changes.filter((change) => isAfterWatermark(change, state.watermark));
      if (attempt === 1) {
        outcome.duplicates = changes.length - fresh.length;
        const snapshotChanges = validateForSnapshot(deps, botId, changes, state, reported);
        outcome.invalid = reported.size;
        // Snapshot before counts: a record is only ever counted after its snapshot change was applied or
        // the snapshot was marked stale, so redelivered (already counted) records need no snapshot work.
        if (fresh.length > 0) {
          snapshotTried = true;
          epochPending = !(await applySnapshot(deps, botId, fresh, snapshotChanges));
        }
      }
      if (fresh.length === 0) {
        if (epochPending) {
          await deps.stats.bumpSnapshotEpoch(botId, now(deps));
          epochPending = false;
          outcome.staleMarks += 1;
        }
        break;
      }
      const filenames = [...new Set(fresh.flatMap(filenamesOf))];
      const documents = await deps.stats.readDocuments(botId, filenames);
      const plan = planCountsWrites(state, fresh, documents, {
        now: now(deps),
        bumpSnapshotEpoch: epochPending,
      });
      if (plan.belowZero.length > 0) {
        deps.log.warn('Counts had drifted: a removed chunk was never counted', {
          botId,
          filenames: plan.belowZero,
        });
      }
      const result = await deps.stats.apply(botId, plan.writes);
      if (result.committed > 0) {
        const lastCommitted = plan.writes[result.committed - 1];
        countedThrough = lastCommitted?.watermark;
        outcome.counted += fresh.filter((change) => !isAfterWatermark(change, countedThrough)).length;
        if (epochPending) {
          epochPending = false;
          outcome.staleMarks += 1;
        }
      }
      if (!result.conflict) break;
      if (attempt >= maxAttempts) {
        // Caught below: the bot's uncounted records are reported and come back in a later delivery.
        throw new Error(`stream_seq of bot ${botId} kept moving over ${maxAttempts} attempts`);
      }
      // Someone else counted in between (a duplicate delivery racing this one): let it finish first.
      await sleep(Math.random() * 20 * attempt);
    }
  } catch (error) {
    outcome.failed = true;
    const uncounted = changes.filter((change) => !known || isAfterWatermark(change, countedThrough));
    deps.log.error('Bot counts not committed; its uncounted records are reported for retry', {
      botId,
      records: uncounted.length,
      snapshotTried,
      error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
    });
    for (const change of uncounted) reported.add(change.sequenceNumber);
  }
  outcome.failures = [...reported];
  return outcome;
}

/**
 * The snapshot change of every record (so a record with an unusable embedding is reported on every
 * delivery and eventually reaches the on-failure destination), keyed by sequence number.
 */
function validateForSnapshot(
  deps: SyncStreamBatchDeps,
  botId: string,
  changes: readonly StreamChange[],
  state: BotCountsState,
  invalid: Set<string>,
): Map<string, SnapshotChange> {
  const dimension = state.embeddingDimension ?? deps.defaultEmbeddingDimension;
  const result = new Map<string, SnapshotChange>();
  for (const change of changes) {
    const { change: snapshotChange, invalid: reason } = snapshotChangeOf(change, dimension);
    result.set(change.sequenceNumber, snapshotChange);
    if (reason !== undefined) {
      invalid.add(change.sequenceNumber);
      deps.log.error('Chunk cannot be served from the snapshot; record reported, its counts still apply', {
        botId,
        chunkId: change.chunkId,
        sequenceNumber: change.sequenceNumber,
        field: reason.field,
        reason: reason.message,
      });
    }
  }
  return result;
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
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      deps.snapshots.applyChanges(botId, changes),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`snapshot update took over ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
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
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function now(deps: SyncStreamBatchDeps): string {
  return (deps.now?.() ?? new Date()).toISOString();
}

async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  worker: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await worker(items[index] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}
