import { performance } from 'node:perf_hooks';
import { backoffDelay } from '../../src/machinery/backoff';
import {
  type BatchVerdict,
  type InvocationResult,
  judgeInvocation,
  type PendingBatch,
  planNextStep,
  splitExpired,
} from './batch-policy';
import { describeBatch, sendToFailure } from './failure-sender';
import { createLambdaContext } from './lambda-context';
import type { RunnerScope, ShardState } from './shard-state';
import { type BufferedRecord, buildEvent } from './stream-event';

/**
 * Handles one batch to the end, as Lambda's event source mapping does: invokes the handler, checkpoints
 * what succeeded, bisects, retries with backoff, and sends what it gives up on (or what grew too old) to
 * the on-failure destination. Stopping leaves the rest without a checkpoint: a restart delivers it again.
 */
export async function deliverBatch(
  scope: RunnerScope,
  shard: ShardState,
  records: BufferedRecord[],
): Promise<void> {
  const queue: PendingBatch<BufferedRecord>[] = [{ records, retries: 0, invocations: 0 }];
  const maxAge = scope.settings.maximumRecordAgeInSeconds;
  const split = (rs: readonly BufferedRecord[]) =>
    splitExpired(rs, (r) => r.approximateCreationTime, maxAge, Date.now());
  let lastVerdict: BatchVerdict | undefined;
  while (queue.length > 0) {
    if (scope.stopping()) return;
    const batch = queue[0] as PendingBatch<BufferedRecord>;
    const old = split(batch.records);
    if (old.expired.length > 0) {
      const expired = { ...batch, records: old.expired };
      if (!(await sendToFailure(scope, shard, expired, 'RecordAgeExceeded', lastVerdict))) return;
      await advance(scope, shard, old.expired);
      batch.records = old.fresh;
      if (batch.records.length === 0) {
        queue.shift();
        continue;
      }
    }
    shard.pendingNote =
      batch.retries > 0 ? `retry ${batch.retries} of ${describeBatch(batch.records)}` : undefined;
    const result = await invoke(scope, batch.records);
    batch.invocations++;
    const verdict = judgeInvocation(
      result,
      batch.records.map((r) => r.sequenceNumber),
      scope.settings.functionResponseType === 'ReportBatchItemFailures',
    );
    lastVerdict = verdict;
    const step = planNextStep(batch, verdict, scope.settings, (rs) => split(rs).expired.length > 0);
    if (step.succeeded.length > 0) {
      scope.counters.recordsSucceeded += step.succeeded.length;
      await advance(scope, shard, step.succeeded);
    }
    if (verdict.kind !== 'success') {
      scope.log.warn(
        `${describeBatch(batch.records)} failed: ${verdict.reason}; ${describeStep(scope, step)}`,
        {
          shardId: shard.info.shardId,
          invocations: batch.invocations,
          retries: batch.retries,
        },
      );
    } else {
      scope.log.debug(`delivered ${describeBatch(batch.records)}`);
    }
    if (step.failed !== undefined) {
      if (!(await sendToFailure(scope, shard, step.failed.batch, step.failed.condition, verdict))) return;
      await advance(scope, shard, step.failed.batch.records);
    }
    if (step.action === 'bisect') scope.counters.bisections++;
    queue.splice(0, 1, ...step.next);
    if (step.action === 'retry') {
      scope.counters.retries++;
      const retry = (step.next[0] as PendingBatch<BufferedRecord>).retries;
      await scope.backoff(backoffDelay(retry, scope.retryDelay));
    }
    scope.logProgress(false);
  }
  shard.pendingNote = undefined;
}

/** Moves the shard's checkpoint past the last of `records`. */
async function advance(
  scope: RunnerScope,
  shard: ShardState,
  records: readonly BufferedRecord[],
): Promise<void> {
  const through = records[records.length - 1] as BufferedRecord;
  shard.checkpoint = through.sequenceNumber;
  await scope.saveCheckpoint(shard, { sequenceNumber: through.sequenceNumber });
}

/** Calls the handler in process with the event and context Lambda would pass; never throws. */
async function invoke(scope: RunnerScope, records: readonly BufferedRecord[]): Promise<InvocationResult> {
  const event = buildEvent(records);
  const timeoutSeconds = scope.settings.functionTimeoutSeconds;
  const context = createLambdaContext({
    functionName: scope.options.functionName,
    region: scope.region,
    timeoutSeconds,
  });
  scope.counters.invocations++;
  const started = performance.now();
  try {
    const value = await scope.options.handler(event, context);
    return { kind: 'returned', value };
  } catch (error) {
    return { kind: 'threw', error };
  } finally {
    const elapsed = performance.now() - started;
    if (elapsed > timeoutSeconds * 1000) {
      scope.log.warn(
        `invocation took ${Math.round(elapsed)} ms, longer than the function's ${timeoutSeconds} s timeout: Lambda would have failed it`,
      );
    }
  }
}

function describeStep(scope: RunnerScope, step: ReturnType<typeof planNextStep<BufferedRecord>>): string {
  const retryLimit =
    scope.settings.maximumRetryAttempts < 0 ? '∞' : String(scope.settings.maximumRetryAttempts);
  switch (step.action) {
    case 'bisect':
      return `bisecting into ${step.next.map((b) => b.records.length).join(' + ')}`;
    case 'split-at-failure':
      return `checkpointed ${step.succeeded.length}, retrying the remaining ${step.next[0]?.records.length}`;
    case 'retry':
      return `retry ${step.next[0]?.retries}/${retryLimit}`;
    case 'give-up':
      return `giving up (${step.failed?.condition}): to the on-failure destination`;
    default:
      return 'done';
  }
}
