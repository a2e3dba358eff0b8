import { backoffDelay } from '../../src/machinery/backoff';
import type { BatchVerdict, FailureCondition, PendingBatch } from './batch-policy';
import { buildOnFailureRecord } from './on-failure-destination';
import type { RunnerScope, ShardState } from './shard-state';
import { type BufferedRecord, buildEvent } from './stream-event';
import { errorText } from './stream-runner-types';

/** "batch of 3 record(s) 100..300", for log lines. */
export function describeBatch(records: readonly BufferedRecord[]): string {
  const first = records[0]?.sequenceNumber;
  const last = records[records.length - 1]?.sequenceNumber;
  return `batch of ${records.length} record(s) ${first}${first === last ? '' : `..${last}`}`;
}

/**
 * Sends a batch to the on-failure destination: the JSONL file and the callback. A failed write is
 * retried until it works or the runner stops (false), so a batch is never skipped unrecorded.
 */
export async function sendToFailure(
  scope: RunnerScope,
  shard: ShardState,
  batch: PendingBatch<BufferedRecord>,
  condition: FailureCondition,
  verdict: BatchVerdict | undefined,
): Promise<boolean> {
  const record = buildOnFailureRecord({
    functionArn: scope.functionArn,
    condition,
    invocations: batch.invocations,
    functionError: verdict?.kind === 'failure' && verdict.functionError,
    shardId: shard.info.shardId,
    streamArn: scope.streamArn,
    first: batch.records[0] as BufferedRecord,
    last: batch.records[batch.records.length - 1] as BufferedRecord,
    batchSize: batch.records.length,
  });
  const reason =
    verdict === undefined || verdict.kind === 'success'
      ? 'older than maximumRecordAgeInSeconds before any invocation'
      : verdict.reason;
  for (let attempt = 1; ; attempt++) {
    try {
      await scope.failureFile?.append(record);
      await scope.options.onFailure?.({ record, event: buildEvent(batch.records), reason });
      break;
    } catch (error) {
      scope.log.error(`cannot write to the on-failure destination (attempt ${attempt}): ${errorText(error)}`);
      if (scope.stopping()) return false;
      await scope.backoff(backoffDelay(attempt + 1, scope.retryDelay));
    }
  }
  scope.counters.failedBatches++;
  scope.counters.failedRecords += batch.records.length;
  const destination =
    scope.failureFile?.path ??
    (scope.options.onFailure !== undefined
      ? 'the onFailure callback'
      : 'no destination configured: discarded');
  scope.log.error(
    `${describeBatch(batch.records)} given up (${condition}) after ${batch.invocations} invocation(s): ${reason}; written to ${destination}`,
    { onFailureRecord: record },
  );
  return true;
}
