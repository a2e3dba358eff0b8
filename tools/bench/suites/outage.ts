import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoChunkStore } from '../../../src/adapters/dynamodb/chunk-store';
import { createRedisClient } from '../../../src/redis-client';
import { RedisSnapshotStore } from '../../../src/snapshot';
import { type BenchContext, CREATED_AT } from '../context';
import { storedChunk } from '../data';
import { benchStreamTable, botTotalChunks } from '../stream-table';
import { runStreamWorkload, type StreamWorkloadResult } from '../stream-workload';

const BOTS = 4;
const WRITES = 40;
const CHUNKS_PER_WRITE = 25;

/**
 * The stream pipeline with Redis up, then with the bench's redis-server killed: the same
 * workload through the local stream runner (serverless.yml's settings, the real handler and wiring),
 * 40 BatchWrites of 25 new chunks to 4 bots (each with a current snapshot), written back to back. Throughput is records per second from
 * the first write to the last one counted; freshness is per write, from its BatchWrite returning to
 * BotCollections counting it. Runs last: it leaves Redis stopped.
 */
export async function outage(context: BenchContext): Promise<void> {
  const { env, progress } = context;
  const { tableName, runner, close } = await benchStreamTable(env, 'BenchOutage_VectorEmbeddings');
  const chunks = new DynamoChunkStore(env.documents, { table: tableName, embeddingEncoding: 'binary' });
  const dataset = context.dataset((WRITES / BOTS) * CHUNKS_PER_WRITE);
  const ports = {
    put: (batch: Parameters<DynamoChunkStore['put']>[0]) => chunks.put(batch),
    totalChunks: (botId: string) => botTotalChunks(env, botId),
    chunk: (botId: string, index: number) => storedChunk(dataset, botId, index, CREATED_AT),
  };
  const botsOf = (label: string) => Array.from({ length: BOTS }, (_, i) => `bench-outage-${label}-${i}`);
  const run = (label: string) =>
    runStreamWorkload(ports, {
      bots: botsOf(label),
      writes: WRITES,
      chunksPerWrite: CHUNKS_PER_WRITE,
      onCounted: (counted, writes) => progress.count(`outage, ${label}: writes counted`, counted, writes),
    });

  await runner.start();
  try {
    progress.note('outage: warming the handler up, then the same workload with Redis up and Redis down');
    // Every bot starts with a current (empty) snapshot, so Redis up means keeping snapshots current.
    const redis = createRedisClient(env.stack.redis.url);
    const store = new RedisSnapshotStore(redis, env.config.redisKeyPrefix);
    for (const botId of ['warm-up', 'healthy', 'Redis down'].flatMap(botsOf)) {
      const ticket = await store.beginRebuild(botId, 0);
      if (ticket === null || !(await store.commitRebuild(ticket, [], async () => []))) {
        throw new Error(`outage: could not publish the snapshot of ${botId}`);
      }
    }
    redis.disconnect();
    await run('warm-up');
    const breaker = env.base.redisBreaker;
    if (breaker === null) throw new Error('outage: the handler has no Redis configured');
    const attemptsHealthy = breaker.stats.attempts;
    const healthy = await run('healthy');
    const healthyCalls = breaker.stats.attempts - attemptsHealthy;

    await env.stack.redis.stop();
    const deadline = performance.now() + 30_000;
    while (!breaker.isOpen) {
      if (performance.now() > deadline) throw new Error('outage: the circuit breaker never opened');
      await sleep(20);
    }
    const attemptsDown = breaker.stats.attempts;
    const refusedDown = breaker.stats.rejections;
    const down = await run('Redis down');
    const row = (what: string, result: StreamWorkloadResult, sent: number, refused: number) => ({
      what,
      records: result.records,
      recordsPerSecond: result.recordsPerSecond,
      p50Ms: result.p50Ms,
      p95Ms: result.p95Ms,
      redisCallsSent: sent,
      redisCallsRefused: refused,
    });
    context.results.outage.push(
      row('Redis up', healthy, healthyCalls, 0),
      row(
        'Redis down (redis-server killed)',
        down,
        breaker.stats.attempts - attemptsDown,
        breaker.stats.rejections - refusedDown,
      ),
    );
    progress.note(
      `outage: ${healthy.recordsPerSecond.toFixed(0)} rec/s with Redis up, ${down.recordsPerSecond.toFixed(0)} rec/s with it down ` +
        `(ratio ${(healthy.recordsPerSecond / down.recordsPerSecond).toFixed(2)}); counts p95 ${down.p95Ms.toFixed(0)} ms while down`,
    );
  } finally {
    await close();
  }
}
