import { setTimeout as sleep } from 'node:timers/promises';
import type { StoredChunk } from '../../src/domain/types';
import { percentile } from './stats';

/** What the workload needs from the system under test. */
export type StreamWorkloadPorts = {
  /** Writes chunks to VectorEmbeddings (the stream then carries them to the handler). */
  put(chunks: StoredChunk[]): Promise<void>;
  /** BotCollections.total_chunks of a bot, read strongly consistently. */
  totalChunks(botId: string): Promise<number>;
  /** The `index`-th chunk written for `botId` (new chunk ids only, so every write adds to the count). */
  chunk(botId: string, index: number): StoredChunk;
};

export type StreamWorkloadOptions = {
  bots: readonly string[];
  /** Writes, one after another; write i goes to bot i mod bots.length. */
  writes: number;
  chunksPerWrite: number;
  /** How often the counts are read while writes are pending. */
  pollMs?: number;
  timeoutMs?: number;
  /** Told after every write that was counted (for progress lines). */
  onCounted?: (counted: number, writes: number) => void;
};

export type StreamWorkloadResult = {
  records: number;
  /** From the first write to the moment the last one was seen counted. */
  seconds: number;
  recordsPerSecond: number;
  /** Per write: from its BatchWriteItem returning to its chunks showing in BotCollections. */
  countsLagMs: number[];
  p50Ms: number;
  p95Ms: number;
};

/**
 * Writes chunks through `put` as fast as the table takes them while the stream pipeline runs, and reads
 * the counts until every write is counted: the pipeline's throughput (records per second, end to end)
 * and its counts freshness (lag per write). Used by the outage test and the benchmark's outage rows.
 */
export async function runStreamWorkload(
  ports: StreamWorkloadPorts,
  options: StreamWorkloadOptions,
): Promise<StreamWorkloadResult> {
  const pollMs = options.pollMs ?? 25;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const written = new Map<string, number>();
  const pending: { botId: string; expected: number; at: number }[] = [];
  const countsLagMs: number[] = [];
  let writing = true;
  let lastCountedAt = 0;
  const started = performance.now();

  const poller = (async () => {
    while (writing || pending.length > 0) {
      if (performance.now() - started > timeoutMs) {
        throw new Error(`${pending.length} write(s) still not counted after ${timeoutMs} ms`);
      }
      const botIds = [...new Set(pending.map((entry) => entry.botId))];
      const totals = new Map(
        await Promise.all(botIds.map(async (botId) => [botId, await ports.totalChunks(botId)] as const)),
      );
      const now = performance.now();
      for (let i = pending.length - 1; i >= 0; i--) {
        const entry = pending[i] as (typeof pending)[number];
        if ((totals.get(entry.botId) ?? 0) >= entry.expected) {
          countsLagMs.push(now - entry.at);
          lastCountedAt = now;
          pending.splice(i, 1);
          options.onCounted?.(countsLagMs.length, options.writes);
        }
      }
      await sleep(pollMs);
    }
  })();
  // Awaited below, after the writes; until then a failure must not count as unhandled.
  poller.catch(() => {});

  try {
    for (let write = 0; write < options.writes; write++) {
      const botId = options.bots[write % options.bots.length] as string;
      const before = written.get(botId) ?? 0;
      const chunks = Array.from({ length: options.chunksPerWrite }, (_, i) => ports.chunk(botId, before + i));
      await ports.put(chunks);
      written.set(botId, before + chunks.length);
      pending.push({ botId, expected: before + chunks.length, at: performance.now() });
    }
  } finally {
    writing = false;
  }
  await poller;
  const records = options.writes * options.chunksPerWrite;
  const seconds = (lastCountedAt - started) / 1000;
  return {
    records,
    seconds,
    recordsPerSecond: records / seconds,
    countsLagMs,
    p50Ms: percentile(countsLagMs, 50),
    p95Ms: percentile(countsLagMs, 95),
  };
}
