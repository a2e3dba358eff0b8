import { performance } from 'node:perf_hooks';
import { GetRecordsCommand } from '@aws-sdk/client-dynamodb-streams';
import { backoffDelay } from '../../src/machinery/backoff';
import { nap } from '../../src/machinery/wakeup';
import { newIterator } from './shard-discovery';
import type { RunnerScope, ShardState } from './shard-state';
import { bufferRecord } from './stream-event';
import { errorName, errorText } from './stream-runner-types';

const GET_RECORDS_LIMIT = 1000;

/** Waits `ms`, or less when this shard's buffer changed (or on drain and stop). */
export function napShard(scope: RunnerScope, shard: ShardState, ms: number): Promise<void> {
  return nap(ms, scope.wakeup, shard.wakeup);
}

/** Fills the shard's buffer (up to two batches ahead) until the shard is closed or the runner stops. */
export async function pollShard(scope: RunnerScope, shard: ShardState): Promise<void> {
  const client = scope.options.streamsClient;
  const batchSize = scope.settings.batchSize;
  const readAhead = 2 * batchSize;
  let failures = 0;
  while (!scope.stopping() && shard.iterator !== null) {
    if (shard.buffer.length >= readAhead) {
      await napShard(scope, shard, scope.pollIntervalMs);
      continue;
    }
    try {
      if (shard.iterator === undefined) {
        shard.iterator = await newIterator(client, scope.streamArn, shard);
        continue;
      }
      const pollStart = performance.now();
      const answer = await client.send(
        new GetRecordsCommand({
          ShardIterator: shard.iterator,
          Limit: Math.min(GET_RECORDS_LIMIT, batchSize),
        }),
      );
      let added = 0;
      // A renewed iterator may hand back records already read or already checkpointed: skip them.
      const position = shard.readPosition ?? shard.checkpoint;
      const seen = position === undefined ? undefined : BigInt(position);
      for (const record of answer.Records ?? []) {
        const buffered = bufferRecord(record, scope.streamArn, scope.region);
        if (seen !== undefined && BigInt(buffered.sequenceNumber) <= seen) continue;
        shard.buffer.push(buffered);
        shard.readPosition = buffered.sequenceNumber;
        added++;
      }
      shard.iterator = answer.NextShardIterator ?? null;
      failures = 0;
      if (added > 0) {
        shard.windowStart ??= performance.now();
        shard.wakeup.wake();
      } else {
        shard.lastEmptyPollStart = pollStart;
        if (shard.iterator === null) shard.wakeup.wake();
        else await napShard(scope, shard, scope.pollIntervalMs);
      }
    } catch (error) {
      failures++;
      if (renewAfter(scope, shard, error)) continue;
      scope.log.error(`reading ${shard.info.shardId} failed: ${errorText(error)}`);
      const name = errorName(error);
      if (name === 'ValidationException' || name === 'ResourceNotFoundException') shard.iterator = undefined;
      const { baseMs, maxMs } = scope.retryDelay;
      await scope.backoff(backoffDelay(failures + 1, { baseMs, maxMs: maxMs * 5 }));
    }
  }
  shard.wakeup.wake();
}

/** An expired iterator or a trimmed position: true when a new iterator is all it takes (no backoff). */
function renewAfter(scope: RunnerScope, shard: ShardState, error: unknown): boolean {
  const name = errorName(error);
  const position = shard.readPosition ?? shard.checkpoint;
  if (name === 'ExpiredIteratorException') {
    scope.log.info(
      `shard iterator expired on ${shard.info.shardId}; renewing it after ${position ?? 'the trim horizon'}`,
    );
    shard.iterator = undefined;
    return true;
  }
  if (name !== 'TrimmedDataAccessException') return false;
  // With no position yet we were reading from the trim horizon anyway: nothing can be lost (DynamoDB
  // Local answers this way on a fresh shard), so it is no error.
  if (position === undefined) {
    scope.log.debug(
      `${shard.info.shardId}: started before the oldest record DynamoDB still holds; reading from there (nothing missed)`,
    );
  } else {
    scope.log.error(
      `records after ${position} on ${shard.info.shardId} were trimmed from the stream (older than its retention) and are lost; continuing at the oldest record still there`,
    );
  }
  shard.iterator = undefined;
  shard.trimmed = true;
  return true;
}
