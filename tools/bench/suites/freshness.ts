import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoBotRegistry } from '../../../src/adapters/dynamodb/bot-registry';
import { DynamoChangeLog } from '../../../src/adapters/dynamodb/change-log';
import { DynamoChunkStore } from '../../../src/adapters/dynamodb/chunk-store';
import { ScoreBuffer } from '../../../src/domain/ranking/scoring';
import type { StoredChunk } from '../../../src/domain/types';
import { createRedisClient } from '../../../src/redis-client';
import {
  MemorySnapshotStore,
  RedisSnapshotStore,
  SnapshotCache,
  type SnapshotStore,
} from '../../../src/snapshot';
import { makeSearch } from '../../../src/use-cases/search';
import type { StreamRunner } from '../../local/stream-runner';
import type { StreamSettings } from '../../local/stream-settings';
import { type BenchContext, CREATED_AT, DIMENSION } from '../context';
import { generateQueries, storedChunk } from '../data';
import { percentile } from '../stats';
import { benchStreamTable, botTotalChunks } from '../stream-table';

const SEED_CHUNKS = 100;
const CHUNKS_PER_RUN = 1_000;
const TIMEOUT_MS = 120_000;
const POLL_MS = 10;

type Mode = 'redis' | 'memory';

/** One mode's pipeline: its own table and stream runner, and a search container holding the bot. */
type Pipeline = {
  mode: Mode;
  botId: string;
  runner: StreamRunner;
  settings: StreamSettings;
  write(from: number, to: number): Promise<void>;
  /** Rows of the held copy a search just answered from, or null when it answered from DynamoDB. */
  searchedRows(): Promise<number | null>;
  close(): Promise<void>;
};

/**
 * Freshness through the local stream runner (tools/local/stream-runner.ts, settings read from serverless.yml,
 * the real handler), in both snapshot modes under the same conditions: each mode has its own table, runner
 * and bot, and their runs alternate (the mode that goes first swaps every run), so both see the same
 * DynamoDB Local load and the same spread of the runner's batching window. A run writes 1,000 new chunks
 * through ChunkStore.put (BatchWriteItem); the clock starts when the last BatchWrite returned and stops
 * when a search container holding the bot (its SnapshotCache, searching every 10 ms and reading the bot's
 * item as the HTTP handler does) answers from a held copy with every chunk. In the Redis mode the clock
 * also stops for BotCollections counting them.
 */
export async function freshness(context: BenchContext, runs: number): Promise<void> {
  const { env, progress } = context;
  const dataset = context.dataset(SEED_CHUNKS + runs * CHUNKS_PER_RUN);
  const [query] = generateQueries({ count: 0, dimension: DIMENSION, seed: context.options.seed, queries: 1 });
  const redis = createRedisClient(env.stack.redis.url);
  const pipelines: Pipeline[] = [];
  try {
    for (const mode of ['redis', 'memory'] as const) {
      const pipeline = await openPipeline(context, redis, mode, query as Float32Array, (botId, from, to) =>
        Array.from({ length: to - from }, (_, i) => storedChunk(dataset, botId, from + i, CREATED_AT)),
      );
      pipelines.push(pipeline);
      await pipeline.runner.start();
      progress.note(`freshness (${mode} mode): seeding ${SEED_CHUNKS} chunks and a held copy`);
      await pipeline.write(0, SEED_CHUNKS);
      await pipeline.runner.drain(TIMEOUT_MS);
      if ((await waitForRows(pipeline, SEED_CHUNKS, performance.now())) === null)
        throw new Error(`freshness (${mode} mode): no held copy of the seed chunks`);
    }
    const searchMs: Record<Mode, number[]> = { redis: [], memory: [] };
    const countsMs: number[] = [];
    const redisBot = pipelines.find((p) => p.mode === 'redis')?.botId as string;
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? pipelines : [...pipelines].reverse();
      for (const pipeline of order) {
        const expected = SEED_CHUNKS + (run + 1) * CHUNKS_PER_RUN;
        await pipeline.write(expected - CHUNKS_PER_RUN, expected);
        const written = performance.now();
        const counted =
          pipeline.mode === 'redis'
            ? (async () => {
                while ((await botTotalChunks(env, redisBot)) !== expected) await sleepOrTimeout(written);
                return performance.now() - written;
              })()
            : Promise.resolve(null);
        const searched = await waitForRows(pipeline, expected, written);
        if (searched === null)
          throw new Error(
            `freshness (${pipeline.mode} mode): no search answered with all ${expected} chunks after ${TIMEOUT_MS} ms`,
          );
        const countedMs = await counted;
        if (countedMs !== null) countsMs.push(countedMs);
        searchMs[pipeline.mode].push(searched);
        progress.note(
          `freshness run ${run + 1}/${runs} (${pipeline.mode} mode): a search answered with the change after ${searched.toFixed(0)} ms${countedMs === null ? '' : `, counts after ${countedMs.toFixed(0)} ms`}`,
        );
        await pipeline.runner.drain(TIMEOUT_MS);
      }
    }
    const settings = pipelines[0]?.settings as StreamSettings;
    const note = `runner: batch size ${settings.batchSize}, batching window ${settings.maximumBatchingWindow} s (serverless.yml), polls every 250 ms`;
    const row = (what: string, samples: number[]) => ({
      what,
      chunks: CHUNKS_PER_RUN,
      runs,
      p50Ms: percentile(samples, 50),
      p95Ms: percentile(samples, 95),
      note,
    });
    context.results.freshness.push(
      row('counts (BotCollections.total_chunks, Redis mode)', countsMs),
      row('a search from a held copy (Redis mode)', searchMs.redis),
      row('a search from a held copy (memory mode)', searchMs.memory),
    );
  } finally {
    for (const pipeline of pipelines) await pipeline.close();
    redis.disconnect();
  }
}

/** Opens one mode's pipeline: its table, stream runner, snapshot store and search. */
async function openPipeline(
  context: BenchContext,
  redis: ReturnType<typeof createRedisClient>,
  mode: Mode,
  query: Float32Array,
  rows: (botId: string, from: number, to: number) => StoredChunk[],
): Promise<Pipeline> {
  const { env, progress } = context;
  const table =
    mode === 'redis' ? 'BenchFreshness_VectorEmbeddings' : 'BenchFreshnessMemory_VectorEmbeddings';
  const { tableName, runner, settings, close } = await benchStreamTable(env, table, mode);
  const chunks = new DynamoChunkStore(env.documents, { table: tableName, embeddingEncoding: 'binary' });
  const bots = new DynamoBotRegistry(env.documents, {
    table: env.config.tables.botCollections,
    defaultEmbeddingDimension: DIMENSION,
  });
  const warn = (message: string) => progress.note(`search warned: ${message}`);
  const store: SnapshotStore =
    mode === 'redis'
      ? new RedisSnapshotStore(redis, env.config.redisKeyPrefix)
      : new MemorySnapshotStore({
          bots,
          chunks,
          changes: new DynamoChangeLog(env.documents, { streamClaimsTable: env.config.tables.streamClaims }),
          logger: { warn },
        });
  const cache = new SnapshotCache(store);
  const search = makeSearch({
    bots,
    chunks,
    snapshots: store,
    cache,
    scores: new ScoreBuffer(),
    logger: { warn, info: () => {} },
  });
  const botId = `bench-freshness-${mode}`;
  return {
    mode,
    botId,
    runner,
    settings,
    write: (from, to) => chunks.put(rows(botId, from, to)),
    async searchedRows() {
      const bot = await bots.get(botId);
      if (bot === undefined) return null;
      const answer = await search(botId, query, { limit: 10, bot });
      if (answer.source !== 'snapshot') return null;
      return cache.peek(botId, bot.snapshot_epoch ?? 0)?.snapshot.rows.length ?? null;
    },
    close,
  };
}

/** Searches every POLL_MS until one answers from a held copy of `expected` rows: ms since `from`, or null. */
async function waitForRows(pipeline: Pipeline, expected: number, from: number): Promise<number | null> {
  while ((await pipeline.searchedRows()) !== expected) {
    if (performance.now() - from > TIMEOUT_MS) return null;
    await sleep(POLL_MS);
  }
  return performance.now() - from;
}

async function sleepOrTimeout(from: number): Promise<void> {
  if (performance.now() - from > TIMEOUT_MS)
    throw new Error(`freshness: counts not reflected after ${TIMEOUT_MS} ms`);
  await sleep(POLL_MS);
}
