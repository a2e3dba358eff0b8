import { performance } from 'node:perf_hooks';
import { napShard } from './shard-poller';
import type { RunnerScope, ShardState } from './shard-state';
import { type BufferedRecord, payloadBytes } from './stream-event';

/** Lambda's limit on a synchronous invocation payload: a batch never grows beyond it. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/**
 * Hands batch after batch of the shard's buffer to `deliver` as soon as one is ready: batch size reached,
 * payload limit reached, the shard closed, or the batching window over. Returns when the shard is closed
 * and its buffer empty, or the runner stops.
 */
export async function runBatchingWindow(
  scope: RunnerScope,
  shard: ShardState,
  deliver: (records: BufferedRecord[]) => Promise<void>,
): Promise<void> {
  const batchSize = scope.settings.batchSize;
  const windowMs = scope.settings.maximumBatchingWindow * 1000;
  while (!scope.stopping()) {
    if (shard.buffer.length === 0) {
      if (shard.iterator === null) return;
      await napShard(scope, shard, scope.pollIntervalMs);
      continue;
    }
    const waited = performance.now() - (shard.windowStart ?? performance.now());
    const ready =
      shard.buffer.length >= batchSize ||
      payloadBytes(shard.buffer) >= MAX_PAYLOAD_BYTES ||
      shard.iterator === null ||
      waited >= windowMs;
    if (!ready) {
      await napShard(scope, shard, Math.min(scope.pollIntervalMs, windowMs - waited));
      continue;
    }
    const batch = takeBatch(shard.buffer, batchSize);
    shard.busy = true;
    shard.wakeup.wake();
    try {
      await deliver(batch);
    } finally {
      shard.busy = false;
    }
    // Lambda starts the next batching window when the previous invocation completes.
    shard.windowStart = shard.buffer.length > 0 ? performance.now() : undefined;
  }
}

/** Takes the next batch off the buffer: up to batchSize records, within Lambda's payload limit. */
export function takeBatch(buffer: BufferedRecord[], batchSize: number): BufferedRecord[] {
  let count = 0;
  let bytes = 14;
  for (const record of buffer) {
    if (count >= batchSize) break;
    if (count > 0 && bytes + record.bytes + 1 > MAX_PAYLOAD_BYTES) break;
    bytes += record.bytes + 1;
    count++;
  }
  return buffer.splice(0, count);
}
