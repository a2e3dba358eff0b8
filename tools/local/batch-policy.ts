import type { StreamSettings } from './stream-settings';

/**
 * What Lambda's event source mapping does after an invocation, as pure functions: judging the handler's
 * answer (partial batch responses) and choosing the next step (checkpoint, retry, bisect, give up).
 *
 * The rules, from the Lambda documentation on DynamoDB Streams error handling:
 * - without `ReportBatchItemFailures` any return value is success and only a thrown error fails the batch;
 * - with it, an empty or missing `batchItemFailures` is success; otherwise the lowest failed sequence
 *   number is the new checkpoint and everything from it is retried; an entry with an empty, missing or
 *   unknown `itemIdentifier` fails the whole batch;
 * - with `BisectBatchOnFunctionError`, a failed invocation splits the batch in two halves, each retried on
 *   its own, and a partial response splits it at the failed record; splitting does not count as a retry;
 * - a batch that cannot be split is retried up to `maximumRetryAttempts` times (-1: forever), unless a
 *   record in it is older than `maximumRecordAgeInSeconds`; then it goes to the on-failure destination
 *   and the checkpoint moves past it.
 */

/** What the handler did. */
export type InvocationResult = { kind: 'returned'; value: unknown } | { kind: 'threw'; error: unknown };

export type BatchVerdict =
  | { kind: 'success' }
  /** Records before `failedFrom` succeeded; `failedFrom` is an index into the batch (0 = nothing succeeded). */
  | { kind: 'partial'; failedFrom: number; reason: string }
  | { kind: 'failure'; reason: string; functionError: boolean };

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * Judges one invocation of a batch whose records carry `sequenceNumbers` (in order).
 */
export function judgeInvocation(
  result: InvocationResult,
  sequenceNumbers: readonly string[],
  reportBatchItemFailures: boolean,
): BatchVerdict {
  if (result.kind === 'threw') {
    return { kind: 'failure', reason: `handler threw ${describeError(result.error)}`, functionError: true };
  }
  if (!reportBatchItemFailures) return { kind: 'success' };
  const value = result.value;
  if (value === undefined || value === null || typeof value !== 'object') return { kind: 'success' };
  const failures = (value as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) {
    return { kind: 'failure', reason: 'batchItemFailures is not a list', functionError: false };
  }
  if (failures.length === 0) return { kind: 'success' };
  let lowest = Number.POSITIVE_INFINITY;
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '') {
      return {
        kind: 'failure',
        reason: `batchItemFailures has an entry without an itemIdentifier: ${JSON.stringify(failure)}`,
        functionError: false,
      };
    }
    const index = sequenceNumbers.indexOf(id);
    if (index < 0) {
      return {
        kind: 'failure',
        reason: `batchItemFailures names ${id}, which is not a sequence number of this batch`,
        functionError: false,
      };
    }
    lowest = Math.min(lowest, index);
  }
  return {
    kind: 'partial',
    failedFrom: lowest,
    reason: `handler reported ${failures.length} failed record(s), the first at ${sequenceNumbers[lowest]}`,
  };
}

/** A batch waiting to be (re)invoked, with the retries it has used. */
export type PendingBatch<T> = { records: T[]; retries: number; invocations: number };

export type FailureCondition = 'RetryAttemptsExhausted' | 'RecordAgeExceeded';

/** What to do after judging an invocation of `batch`. */
export type NextStep<T> = {
  /** Records now done (they succeeded); the checkpoint may move past the last of them. */
  succeeded: T[];
  /** Batches to invoke next, in this order, before anything later in the shard. */
  next: PendingBatch<T>[];
  /** Records that go to the on-failure destination (then the checkpoint moves past them). */
  failed: { batch: PendingBatch<T>; condition: FailureCondition } | undefined;
  /** How the step came about, for the log. */
  action: 'done' | 'bisect' | 'split-at-failure' | 'retry' | 'give-up';
};

function canRetry(retries: number, settings: StreamSettings): boolean {
  return settings.maximumRetryAttempts < 0 || retries < settings.maximumRetryAttempts;
}

/**
 * The next step after an invocation of `batch` judged `verdict`. `expired(records)` says whether any of
 * them is older than `maximumRecordAgeInSeconds`.
 */
export function planNextStep<T>(
  batch: PendingBatch<T>,
  verdict: BatchVerdict,
  settings: StreamSettings,
  expired: (records: readonly T[]) => boolean,
): NextStep<T> {
  if (verdict.kind === 'success') {
    return { succeeded: batch.records, next: [], failed: undefined, action: 'done' };
  }
  const failedFrom = verdict.kind === 'partial' ? verdict.failedFrom : 0;
  const succeeded = batch.records.slice(0, failedFrom);
  const remaining = batch.records.slice(failedFrom);
  const bisect = settings.bisectBatchOnFunctionError;
  if (bisect && failedFrom > 0) {
    return {
      succeeded,
      next: [{ records: remaining, retries: batch.retries, invocations: batch.invocations }],
      failed: undefined,
      action: 'split-at-failure',
    };
  }
  if (bisect && remaining.length > 1) {
    const half = Math.ceil(remaining.length / 2);
    return {
      succeeded,
      next: [
        { records: remaining.slice(0, half), retries: batch.retries, invocations: batch.invocations },
        { records: remaining.slice(half), retries: batch.retries, invocations: batch.invocations },
      ],
      failed: undefined,
      action: 'bisect',
    };
  }
  const rest: PendingBatch<T> = {
    records: remaining,
    retries: batch.retries,
    invocations: batch.invocations,
  };
  if (expired(remaining)) {
    return {
      succeeded,
      next: [],
      failed: { batch: rest, condition: 'RecordAgeExceeded' },
      action: 'give-up',
    };
  }
  if (!canRetry(batch.retries, settings)) {
    return {
      succeeded,
      next: [],
      failed: { batch: rest, condition: 'RetryAttemptsExhausted' },
      action: 'give-up',
    };
  }
  return { succeeded, next: [{ ...rest, retries: batch.retries + 1 }], failed: undefined, action: 'retry' };
}

/**
 * Splits off the leading records that are already older than `maximumRecordAgeInSeconds` (records are in
 * stream order, so the old ones come first): Lambda sends those to the on-failure destination unprocessed.
 */
export function splitExpired<T>(
  records: readonly T[],
  createdAtMs: (record: T) => number,
  maximumRecordAgeInSeconds: number,
  nowMs: number,
): { expired: T[]; fresh: T[] } {
  if (maximumRecordAgeInSeconds < 0) return { expired: [], fresh: [...records] };
  const limit = nowMs - maximumRecordAgeInSeconds * 1000;
  let cut = 0;
  while (cut < records.length && createdAtMs(records[cut] as T) < limit) cut++;
  return { expired: records.slice(0, cut), fresh: records.slice(cut) };
}
