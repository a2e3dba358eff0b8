import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoBotRegistry } from '../../../src/adapters/dynamodb/bot-registry';
import { DynamoChangeLog } from '../../../src/adapters/dynamodb/change-log';
import { DynamoChunkStore } from '../../../src/adapters/dynamodb/chunk-store';
import { RedisSnapshotStore } from '../../../src/adapters/redis/snapshot-store';
import { ScoreBuffer } from '../../../src/domain/scoring';
import { createRedisClient } from '../../../src/redis-client';
import { MemorySnapshotStore } from '../../../src/use-cases/memory-snapshots';
import { makeSearch } from '../../../src/use-cases/search';
import { SnapshotCache } from '../../../src/use-cases/snapshot-cache';
import { type BenchContext, CREATED_AT, DIMENSION } from '../context';
import { generateQueries, storedChunk } from '../data';
import { benchBot, ourSearch } from '../methods/our-search';
import { percentile } from '../stats';
import { benchStreamTable, botTotalChunks } from '../stream-table';

const SEED_CHUNKS = 100;
const CHUNKS_PER_RUN = 1_000;
const TIMEOUT_MS = 120_000;

/**
 * Freshness through the local stream runner (tools/local/stream-runner.ts, settings read from serverless.yml,
 * the real handler): a bot with a current snapshot gets 1,000 new chunks through ChunkStore.put
 * (BatchWriteItem); the clock starts when the last BatchWrite returned and stops when BotCollections
 * (strongly consistent read) and the Redis snapshot both count them. Then the same workload with the
 * handler wired for the memory mode: the clock stops when a search answers from a held copy holding
 * them. Each runner reads its own table, so the chunks loaded for the latency suites are not replayed.
 */
export async function freshness(context: BenchContext, runs: number): Promise<void> {
  await redisFreshness(context, runs);
  await memoryFreshness(context, runs);
}

async function redisFreshness(context: BenchContext, runs: number): Promise<void> {
  const { env, progress } = context;
  const { tableName, runner, settings, close } = await benchStreamTable(
    env,
    'BenchFreshness_VectorEmbeddings',
  );
  const redis = createRedisClient(env.stack.redis.url);
  const store = new RedisSnapshotStore(redis, env.config.redisKeyPrefix);
  const chunks = new DynamoChunkStore(env.documents, { table: tableName, embeddingEncoding: 'binary' });
  const botId = 'bench-freshness';
  const dataset = context.dataset(SEED_CHUNKS + runs * CHUNKS_PER_RUN);
  const rows = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => storedChunk(dataset, botId, from + i, CREATED_AT));
  const totalChunks = () => botTotalChunks(env, botId);
  await runner.start();
  try {
    progress.note(`freshness: seeding ${SEED_CHUNKS} chunks and a current snapshot`);
    await chunks.put(rows(0, SEED_CHUNKS));
    await runner.drain(TIMEOUT_MS);
    const [query] = generateQueries({
      count: 0,
      dimension: DIMENSION,
      seed: context.options.seed,
      queries: 1,
    });
    const rebuild = ourSearch(
      {
        chunks,
        snapshots: store,
        cache: new SnapshotCache(store),
        bot: benchBot(botId, SEED_CHUNKS),
        warn: (message) => progress.note(`search warned: ${message}`),
      },
      'dynamodb',
    );
    // The stream handler starts a new bot's snapshot itself; a search rebuilds it if it did not.
    if ((await store.currentVersion(botId)) === null) await rebuild.search(query as Float32Array, 10);
    if ((await store.currentVersion(botId)) === null)
      throw new Error('freshness: the snapshot was not rebuilt');

    const countsMs: number[] = [];
    const snapshotMs: number[] = [];
    for (let run = 0; run < runs; run++) {
      const expected = SEED_CHUNKS + (run + 1) * CHUNKS_PER_RUN;
      await chunks.put(rows(expected - CHUNKS_PER_RUN, expected));
      const written = performance.now();
      let countsAt: number | undefined;
      let snapshotAt: number | undefined;
      let checkedVersion: string | undefined;
      while (countsAt === undefined || snapshotAt === undefined) {
        if (performance.now() - written > TIMEOUT_MS) {
          const rowsHeld = (await store.read(botId))?.rows.length ?? 'no snapshot';
          throw new Error(
            `freshness: not reflected after ${TIMEOUT_MS} ms (expected ${expected} chunks; counts ${await totalChunks()}, snapshot rows ${rowsHeld})`,
          );
        }
        if (countsAt === undefined && (await totalChunks()) === expected) countsAt = performance.now();
        if (snapshotAt === undefined) {
          const current = await store.currentVersion(botId);
          if (current !== null && current.version !== checkedVersion) {
            const snapshot = await store.read(botId);
            checkedVersion = snapshot?.version;
            if (snapshot?.rows.length === expected) snapshotAt = performance.now();
          }
        }
        await sleep(10);
      }
      countsMs.push(countsAt - written);
      snapshotMs.push(snapshotAt - written);
      progress.note(
        `freshness run ${run + 1}/${runs}: counts after ${(countsAt - written).toFixed(0)} ms, snapshot after ${(snapshotAt - written).toFixed(0)} ms`,
      );
      await runner.drain(TIMEOUT_MS);
    }
    const note = `runner: batch size ${settings.batchSize}, batching window ${settings.maximumBatchingWindow} s (serverless.yml), polls every 250 ms`;
    context.results.freshness.push(
      {
        what: 'counts (BotCollections.total_chunks)',
        chunks: CHUNKS_PER_RUN,
        runs,
        p50Ms: percentile(countsMs, 50),
        p95Ms: percentile(countsMs, 95),
        note,
      },
      {
        what: 'snapshot (Redis rows)',
        chunks: CHUNKS_PER_RUN,
        runs,
        p50Ms: percentile(snapshotMs, 50),
        p95Ms: percentile(snapshotMs, 95),
        note,
      },
    );
  } finally {
    await close();
    redis.disconnect();
  }
}

/**
 * The memory mode (SNAPSHOT_MODE=memory): the handler moves the bot's data_version with its change log,
 * and a search container holding the bot's copy (its MemorySnapshotStore and SnapshotCache) searches
 * over and over, each time reading the bot's item as the HTTP handler does for the owner check; the clock
 * stops when a search answered from a held copy with every chunk written (it caught up from the change
 * log, or read the bot whole).
 */
async function memoryFreshness(context: BenchContext, runs: number): Promise<void> {
  const { env, progress } = context;
  const { tableName, runner, settings, close } = await benchStreamTable(
    env,
    'BenchFreshnessMemory_VectorEmbeddings',
    'memory',
  );
  const chunks = new DynamoChunkStore(env.documents, { table: tableName, embeddingEncoding: 'binary' });
  const bots = new DynamoBotRegistry(env.documents, {
    table: env.config.tables.botCollections,
    defaultEmbeddingDimension: DIMENSION,
  });
  const warn = (message: string) => progress.note(`search warned: ${message}`);
  const store = new MemorySnapshotStore({
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
  const botId = 'bench-freshness-memory';
  const dataset = context.dataset(SEED_CHUNKS + runs * CHUNKS_PER_RUN);
  const rows = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => storedChunk(dataset, botId, from + i, CREATED_AT));
  const [query] = generateQueries({ count: 0, dimension: DIMENSION, seed: context.options.seed, queries: 1 });
  /** Rows of the copy a search just answered from, or null when it answered from DynamoDB. */
  const searchedRows = async (): Promise<number | null> => {
    const bot = await bots.get(botId);
    if (bot === undefined) return null;
    const answer = await search(botId, query as Float32Array, { limit: 10, bot });
    if (answer.source !== 'snapshot') return null;
    return cache.peek(botId, bot.snapshot_epoch ?? 0)?.snapshot.rows.length ?? null;
  };
  await runner.start();
  try {
    progress.note(`freshness (memory mode): seeding ${SEED_CHUNKS} chunks and a held copy`);
    await chunks.put(rows(0, SEED_CHUNKS));
    await runner.drain(TIMEOUT_MS);
    if ((await searchedRows()) !== SEED_CHUNKS) throw new Error('freshness (memory mode): no held copy');
    const searchMs: number[] = [];
    for (let run = 0; run < runs; run++) {
      const expected = SEED_CHUNKS + (run + 1) * CHUNKS_PER_RUN;
      await chunks.put(rows(expected - CHUNKS_PER_RUN, expected));
      const written = performance.now();
      let held = await searchedRows();
      while (held !== expected) {
        if (performance.now() - written > TIMEOUT_MS) {
          throw new Error(
            `freshness (memory mode): not reflected after ${TIMEOUT_MS} ms (expected ${expected} chunks; a search answered from ${held ?? 'DynamoDB'} rows)`,
          );
        }
        await sleep(10);
        held = await searchedRows();
      }
      searchMs.push(performance.now() - written);
      progress.note(
        `freshness (memory mode) run ${run + 1}/${runs}: a search answered with the change after ${(searchMs[run] as number).toFixed(0)} ms`,
      );
      await runner.drain(TIMEOUT_MS);
    }
    context.results.freshness.push({
      what: 'a search from a held copy (memory mode)',
      chunks: CHUNKS_PER_RUN,
      runs,
      p50Ms: percentile(searchMs, 50),
      p95Ms: percentile(searchMs, 95),
      note: `runner: batch size ${settings.batchSize}, batching window ${settings.maximumBatchingWindow} s (serverless.yml), polls every 250 ms`,
    });
  } finally {
    await close();
  }
}
