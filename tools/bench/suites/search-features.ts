import { DEFAULT_TOKENISER, tokenise } from '../../../src/domain/keyword-text';
import { ScoreBuffer } from '../../../src/domain/ranking/scoring';
import { createRedisClient } from '../../../src/redis-client';
import type { Snapshot, SnapshotStore } from '../../../src/snapshot';
import {
  containerBudgets,
  DEFAULT_SEARCH_MEMORY_MB,
  RedisKeywordIndexStore,
  RedisSnapshotStore,
  SnapshotCache,
} from '../../../src/snapshot';
import { makeSearch } from '../../../src/use-cases/search';

import { searchKernel } from '../../../src/wiring/search-kernel';
import type { BenchContext } from '../context';
import { count } from '../format';
import { BENCH_KEYWORD_VERSION, storeKeywordIndex } from '../keyword-index-bytes';
import { benchBot } from '../methods/our-search';
import { patientRedisClient } from '../patient-redis';
import { type GroupSearch, queryTextFor, timeGroup } from './feature-round-robin';
import { BUCKETS, DEPLOYED, NATIVE_BASELINE, VARIANTS, type Variant } from './feature-variants';

/**
 * The search features against plain search, as ratios: the product's search use case on a warm snapshot,
 * in process. The snapshot store is an in-memory stand-in that answers the version check and texts at
 * once, so Redis round trips (the same for every variant) do not dilute the ratios of the work that
 * differs: the filter mask, scoring, grouping and MMR.
 */
export async function searchFeatures(context: BenchContext, sizes: number[]): Promise<void> {
  const { progress } = context;
  for (const n of sizes) {
    const dataset = context.dataset(n);
    const snapshot: Snapshot = {
      botId: 'bench-features',
      version: BENCH_KEYWORD_VERSION,
      epoch: 0,
      dimension: dataset.dimension,
      // The generated vectors are unit length already, as the snapshot keeps them.
      vectors: dataset.vectors,
      rows: dataset.chunkIds.map((chunkId, row) => ({
        chunk_id: chunkId,
        filename: dataset.filenames[row] as string,
        chunk_index: dataset.chunkIndexes[row] as number,
        metadata: { bucket: row % BUCKETS },
        created_at: '2026-01-01T00:00:00.000Z',
      })),
    };
    const textOf = new Map(dataset.chunkIds.map((id, row) => [id, dataset.texts[row] as string]));
    const store: SnapshotStore = {
      versionOf: () => undefined,
      // The whole snapshot in process, as a warm container holds it: no scan form.
      scans: false,
      readScan: async () => null,
      candidates: async () => null,
      currentVersion: async () => ({ version: BENCH_KEYWORD_VERSION, epoch: 0 }),
      read: async () => snapshot,
      texts: async (_botId, ids) => ids.map((id) => textOf.get(id) ?? ''),
      textsAt: async (_botId, ids, version) =>
        version === BENCH_KEYWORD_VERSION ? ids.map((id) => textOf.get(id) ?? '') : 'moved',
      applyChanges: async () => {},
      beginRebuild: async () => null,
      commitRebuild: async () => false,
      stageRebuild: () => {
        throw new Error('the features bench never rebuilds');
      },
      drop: async () => {},
    };
    const deps = {
      bots: { get: async () => undefined },
      chunks: {
        readBot: () => {
          throw new Error('the features bench never reads DynamoDB');
        },
        get: async () => [],
      },
      snapshots: store,
      cache: new SnapshotCache(store, { maxBytes: 2 ** 31 }),
      scores: new ScoreBuffer(),
      logger: { warn: (m: string) => progress.note(`search warned: ${m}`), info: () => {} },
    };
    const search = makeSearch(deps);
    const bot = {
      bot_id: 'bench-features',
      total_chunks: n,
      total_documents: 0,
      embedding_dimension: dataset.dimension,
      created_at: '',
      updated_at: '',
      status: 'active' as const,
    };
    // The first keyword query builds the snapshot's keyword index (once per snapshot version): timed apart.
    const heapBefore = process.memoryUsage().heapUsed;
    const buildStarted = performance.now();
    await search('bench-features', undefined, { limit: 10, bot, queryText: queryTextFor(dataset.texts, 0) });
    const buildMs = performance.now() - buildStarted;
    const heapAfter = process.memoryUsage().heapUsed;
    progress.note(
      `keyword index at ${count(n)}: built in process in ${buildMs.toFixed(0)} ms, ~${((heapAfter - heapBefore) / n).toFixed(0)} heap bytes per chunk (texts included)`,
    );
    const redis = createRedisClient(context.env.stack.redis.url);
    const stored = await storeKeywordIndex(
      redis,
      context.env.config.redisKeyPrefix,
      'bench-features',
      dataset.chunkIds.slice(0, n),
      dataset.texts.slice(0, n),
    );
    // The same search with the stored index: a keyword query reads its terms' postings from Redis.
    const searchStored = makeSearch({
      ...deps,
      cache: new SnapshotCache(store, { maxBytes: 2 ** 31 }),
      keywords: stored.store,
    });
    progress.note(
      `keyword index in Redis at ${count(n)}: built in ${stored.buildMs.toFixed(0)} ms in bulk (${stored.perEntryBuildMs.toFixed(0)} ms per entry), ${stored.bytesPerChunk.toFixed(0)} Redis bytes per chunk`,
    );
    context.results.keywordIndex?.push({
      n,
      buildMs,
      heapBytesPerChunk: (heapAfter - heapBefore) / n,
      redisBuildMs: stored.buildMs,
      redisPerEntryBuildMs: stored.perEntryBuildMs,
      redisBytesPerChunk: stored.bytesPerChunk,
    });
    // The variants reading Redis make much garbage; they run in groups of their own (each with its own
    // interleaved baseline) so that the collector pauses they cause land in their own timings.
    const kernel = nativeKernel();
    const searchNative = makeSearch({ ...deps, kernel });
    // The deployed path once a bot's keyword index is in Redis: the native kernel, postings from Redis.
    const searchStoredNative = makeSearch({
      ...deps,
      cache: new SnapshotCache(store, { maxBytes: 2 ** 31 }),
      keywords: stored.store,
      kernel,
    });
    const deployed = await deployedSearch(context, n, kernel);
    const baseline = VARIANTS[0] as Variant;
    const inProcess = { botId: 'bench-features', bot };
    const searchOf = (variant: Variant): GroupSearch =>
      variant.deployed === true
        ? deployed
        : {
            ...inProcess,
            search:
              variant.stored === true
                ? variant.native === true
                  ? searchStoredNative
                  : searchStored
                : variant.native === true
                  ? searchNative
                  : search,
          };
    const groups = [
      VARIANTS.filter((v) => v.stored !== true && v.native !== true),
      [baseline, ...VARIANTS.filter((v) => v.stored && v.native !== true)],
      [NATIVE_BASELINE, ...VARIANTS.filter((v) => v.native && v.stored !== true)],
      [NATIVE_BASELINE, ...VARIANTS.filter((v) => v.native && v.stored)],
      DEPLOYED,
    ];
    for (const [g, group] of groups.entries()) {
      // Each baseline is listed once: the later groups divide by their own interleaved runs of it.
      const listed = (variant: Variant) =>
        !((g > 0 && variant === baseline) || (g > 2 && variant === NATIVE_BASELINE));
      await timeGroup(context, n, group, searchOf, listed);
    }
    await stored.remove();
    await deployed.close();
    redis.disconnect();
  }
}

/**
 * Only the deployed round robin, at a size the in-process variants are not timed at (1M chunks): the
 * shared snapshot and its keyword index in the bench's Redis, held by a container of the memory that
 * holds the bot whole (docs/deploy.md, "Large bots").
 */
export async function deployedFeatures(context: BenchContext, n: number): Promise<void> {
  const deployed = await deployedSearch(context, n, nativeKernel());
  try {
    await timeGroup(
      context,
      n,
      DEPLOYED,
      () => deployed,
      () => true,
    );
  } finally {
    await deployed.close();
  }
}

/** The deployed search's kernel, as the HTTP wiring builds it; the bench fails loudly rather than time the portable loop under a native row's name. */
function nativeKernel(): ReturnType<typeof searchKernel> {
  const kernel = searchKernel(
    {
      error: (message) => {
        throw new Error(message);
      },
    },
    { addMetric: () => {} },
  );
  kernel.scanner();
  return kernel;
}

/** Memory of the deployed container above 100k chunks: what holds a 1M-chunk bot whole (docs/deploy.md). */
const LARGE_BOT_SEARCH_MEMORY_MB = 8192;

/**
 * The search a deployed container runs over the bench's shared n-chunk snapshot in Redis (published once
 * per run) with its keyword index built at the snapshot's version, as every rebuild stores it; the snapshot
 * is read into the container's cache by the warm-up queries, as a warm Lambda holds it. The container has
 * the search function's default memory up to 100k chunks, and LARGE_BOT_SEARCH_MEMORY_MB above, with the
 * budgets the wiring derives from it.
 */
async function deployedSearch(
  context: BenchContext,
  n: number,
  kernel: ReturnType<typeof searchKernel>,
): Promise<GroupSearch & { close: () => Promise<void> }> {
  const large = n > 100_000;
  const budgets = containerBudgets(large ? LARGE_BOT_SEARCH_MEMORY_MB : DEFAULT_SEARCH_MEMORY_MB);
  const { url } = context.env.stack.redis;
  // Reading a 1M-chunk bot whole (a warm-up) can outlast the product's client timeout on a busy machine.
  const client = large ? patientRedisClient(url) : createRedisClient(url);
  const prefix = context.env.config.redisKeyPrefix;
  const snapshots = new RedisSnapshotStore(client, prefix);
  const botId = await context.snapshotBot(snapshots, url, n);
  const version = await snapshots.currentVersion(botId);
  if (version === null) throw new Error(`the shared snapshot of ${botId} is not in Redis`);
  const dataset = context.dataset(n);
  const keywords = new RedisKeywordIndexStore(client, prefix, { heldIdBytes: budgets.keywordIdBytes });
  const documents = dataset.chunkIds.map((chunkId, row) => ({
    chunkId,
    terms: tokenise(dataset.texts[row] as string, DEFAULT_TOKENISER),
  }));
  if (!(await keywords.build(botId, version.version, documents))) {
    throw new Error(`the keyword index of ${botId} did not publish at ${version.version}`);
  }
  const search = makeSearch({
    bots: { get: async () => undefined },
    chunks: {
      readBot: () => {
        throw new Error('the features bench never reads DynamoDB');
      },
      get: async () => [],
    },
    snapshots,
    cache: new SnapshotCache(snapshots, { maxBytes: budgets.snapshotCacheBytes }),
    keywords,
    kernel,
    scores: new ScoreBuffer(),
    logger: { warn: (m: string) => context.progress.note(`search warned: ${m}`), info: () => {} },
    // The same warm-up read against the search deadline: timed searches stay far under it.
    ...(large ? { deadlineMs: 120_000 } : {}),
  });
  return {
    search,
    botId,
    bot: benchBot(botId, n),
    close: async () => {
      await keywords.drop(botId);
      client.disconnect();
    },
  };
}
