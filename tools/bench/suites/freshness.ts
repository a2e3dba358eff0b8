import { DynamoChunkStore } from '../../../src/adapters/dynamodb/chunk-store';
import { RedisSnapshotStore } from '../../../src/adapters/redis/snapshot-store';
import { createRedisClient } from '../../../src/redis-client';
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
 * (strongly consistent read) and the Redis snapshot both count them. The runner reads its own table, so
 * the chunks loaded for the latency suites are not replayed.
 */
export async function freshness(context: BenchContext, runs: number): Promise<void> {
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
        await new Promise((resolve) => setTimeout(resolve, 10));
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
