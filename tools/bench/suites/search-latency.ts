import type { Redis } from 'ioredis';
import { DynamoChunkStore } from '../../../src/adapters/dynamodb/chunk-store';
import { createRedisClient } from '../../../src/redis-client';
import { RedisSnapshotStore, SnapshotCache } from '../../../src/snapshot';
import {
  bucketKey,
  codeSegmentKey,
  rowSegmentKey,
  segmentKey,
  snapshotKeys,
} from '../../../src/snapshot/redis/keys';
import { startRedisServer } from '../../local/stack';
import { type BenchContext, DIMENSION, type SizeContext } from '../context';
import { count } from '../format';
import { lancedbFlat } from '../methods/lancedb-flat';
import type { SearchMethod } from '../methods/method';
import { nativeScanner } from '../methods/native-scanner';
import { ourKernel, usearchExactI8 } from '../methods/our-kernel';
import { benchBot, ourSearch } from '../methods/our-search';
import { strategyOne } from '../methods/strategy-one';
import { usearchExact } from '../methods/usearch-exact';
import { patientRedisClient } from '../patient-redis';
import type { MethodKey } from '../results';
import { percentile } from '../stats';

/** (e), (e, i8), (g), (g, JS) and (f): the same vectors, already in this process's memory. */
export async function inMemoryMethods(context: BenchContext, size: SizeContext): Promise<void> {
  const { dataset } = size;
  const runs = context.options.runs.inMemory;
  const warm = { warmup: 5 };
  await context.time('e', size, usearchExact(dataset.vectors, DIMENSION, dataset.chunkIds), runs, warm);
  await context.time('e-i8', size, usearchExactI8(dataset.vectors, DIMENSION, dataset.chunkIds), runs, warm);
  const scanner = nativeScanner();
  // The quantised copy is made once per snapshot version, not per query: make it before the timing.
  scanner.quantised(dataset.vectors, DIMENSION, size.n);
  await context.time('g', size, ourKernel(dataset.vectors, DIMENSION, dataset.chunkIds, scanner), runs, warm);
  const { searches, widened, widenings, exhaustive } = scanner.stats;
  context.results.kernel.push({ n: size.n, searches, widened, widenings, exhaustive });
  await context.time(
    'g-js',
    size,
    ourKernel(dataset.vectors, DIMENSION, dataset.chunkIds, undefined),
    runs,
    warm,
  );
  context.progress.note(`building the LanceDB table (${count(size.n)} rows)`);
  const lance = await lancedbFlat(dataset);
  try {
    await context.time('f', size, lance, runs, { warmup: 5 });
  } finally {
    await lance.close?.();
  }
}

/**
 * Untimed runs before a cold method's timed ones: three, as for the warm search, so the JIT has compiled
 * the cold path as in a container that has searched other bots (a cold read empties the snapshot cache,
 * not the process); one at 1M, where each run reads 1.5 GB.
 */
const coldWarmup = (size: SizeContext) => (size.n >= 1_000_000 ? 1 : 3);

/**
 * (c) cold and (d) warm against one Redis. Returns false when a timing failed (for example, the snapshot
 * read outlasted the client's command timeout and search answered from DynamoDB instead).
 */
async function snapshotPaths(
  context: BenchContext,
  size: SizeContext,
  redis: { client: Redis; url: string },
  methods: { cold: 'c' | 'c-stock'; warm?: 'd'; note?: string },
): Promise<boolean> {
  const store = new RedisSnapshotStore(redis.client, context.env.config.redisKeyPrefix);
  const botId = await context.snapshotBot(store, redis.url, size.n);
  const cache = new SnapshotCache(store);
  const search = ourSearch(
    {
      chunks: new DynamoChunkStore(context.env.documents, {
        table: context.env.config.tables.vectorEmbeddings,
        embeddingEncoding: 'binary',
      }),
      snapshots: store,
      cache,
      kernel: nativeScanner(),
      bot: benchBot(botId, size.n),
      warn: (message) => context.progress.note(`search warned: ${message}`),
    },
    'snapshot',
  );
  const note = methods.note === undefined ? {} : { note: methods.note };
  const warmup = coldWarmup(size);
  const cold = await context.time(methods.cold, size, search, context.options.runs.snapshotCold, {
    before: () => cache.forget(botId),
    warmup,
    ...note,
  });
  if (!cold || methods.warm === undefined) return cold;
  // (c1): the same cold search once no reader has kept the visibility at this version.
  const { visibility } = snapshotKeys(context.env.config.redisKeyPrefix, botId);
  const first = await context.time('c-first', size, search, context.options.runs.snapshotCold, {
    before: async () => {
      cache.forget(botId);
      await redis.client.del(visibility);
    },
    warmup,
    ...note,
  });
  if (!first) return first;
  return context.time(methods.warm, size, search, context.options.runs.snapshotWarm, { warmup: 3, ...note });
}

/**
 * (r): what a naive design pays before it can score anything, one GET of the bot's float32 vectors as one
 * string; the cold search (c) should cost no more. Same client, same Redis.
 */
async function rawVectorGet(context: BenchContext, size: SizeContext, client: Redis): Promise<void> {
  const { dataset } = size;
  const key = `bench-raw-vectors:{${count(size.n)}}`;
  await client.set(
    key,
    Buffer.from(dataset.vectors.buffer, dataset.vectors.byteOffset, size.n * DIMENSION * 4),
  );
  try {
    const get: SearchMethod = {
      async search() {
        const blob = await client.getBuffer(key);
        if (blob === null || blob.byteLength !== size.n * DIMENSION * 4)
          throw new Error('raw vectors missing');
        return [];
      },
    };
    await context.time('r', size, get, context.options.runs.snapshotCold, { warmup: coldWarmup(size) });
  } finally {
    await client.unlink(key);
  }
  const median = (method: MethodKey) => {
    const row = context.results.latency.find((entry) => entry.method === method && entry.n === size.n);
    return row !== undefined && 'summary' in row ? row.summary.median : undefined;
  };
  const [cold, first, raw] = [median('c'), median('c-first'), median('r')];
  if (cold !== undefined && first !== undefined && raw !== undefined) {
    context.note(
      `Cold search (c) ÷ raw GET of the float32 vectors (r) at ${count(size.n)}: ${(cold / raw).toFixed(2)}x ` +
        `(the goal: at most 1.0x); the first cold read at a version (c1): ${(first / raw).toFixed(2)}x.`,
    );
  }
}

/** Redis bytes of a published snapshot by part (MEMORY USAGE ... SAMPLES 0 of each of its keys). */
export type SnapshotBytes = {
  vectors: number;
  codes: number;
  rows: number;
  text: number;
  largest: { key: string; bytes: number };
};

/** MEMORY USAGE of every key of the shared bench snapshot of `n` chunks, by part. */
export async function snapshotBytes(context: BenchContext, n: number, client: Redis): Promise<SnapshotBytes> {
  const botId = `bench-snapshot-${count(n)}`;
  const keys = snapshotKeys(context.env.config.redisKeyPrefix, botId);
  let largest = { key: '', bytes: 0 };
  const usage = async (key: string) => {
    const bytes = Number((await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
    if (bytes > largest.bytes) largest = { key: key.slice(key.lastIndexOf('}') + 2), bytes };
    return bytes;
  };
  let vectors = 0;
  let codes = 0;
  let rows = 0;
  for (let segment = 0; ; segment++) {
    const bytes = await usage(segmentKey(keys.vectors, segment));
    if (bytes === 0) break;
    vectors += bytes;
    codes += await usage(codeSegmentKey(keys.vectors, segment));
    rows += await usage(rowSegmentKey(keys.rows, segment));
  }
  const buckets = Number(await client.hget(keys.meta, 'bkz'));
  let text = 0;
  for (let b = 0; b < buckets; b++) {
    rows += await usage(bucketKey(keys.index, b));
    text += await usage(bucketKey(keys.texts, b));
  }
  rows += (await usage(keys.free)) + (await usage(keys.meta));
  return { vectors, codes, rows, text, largest };
}

/** Redis bytes per chunk of a published snapshot, by MEMORY USAGE of each of its keys. */
async function redisBytesPerChunk(context: BenchContext, size: SizeContext, client: Redis): Promise<void> {
  const { vectors, codes, rows, text, largest } = await snapshotBytes(context, size.n, client);
  const per = (bytes: number) => (bytes / size.n).toFixed(0);
  context.note(
    `Redis bytes per chunk at ${count(size.n)} (MEMORY USAGE ... SAMPLES 0): vectors ${per(vectors)}, int8 codes ${per(codes)}, ids and rows ${per(rows)}, text ${per(text)}, total ${per(vectors + codes + rows + text)}; largest key ${largest.key}, ${(largest.bytes / 2 ** 20).toFixed(1)} MiB (no key may exceed 64 MB).`,
  );
}

/** (c), (c') and (d), through the product's Redis client; again with a patient one if that failed. */
export async function snapshotMethods(context: BenchContext, size: SizeContext): Promise<void> {
  const { url } = context.env.stack.redis;
  const client = createRedisClient(url);
  let ok: boolean;
  try {
    ok = await snapshotPaths(context, size, { client, url }, { cold: 'c', warm: 'd' });
    if (ok) {
      await rawVectorGet(context, size, client);
      await redisBytesPerChunk(context, size, client);
    }
  } finally {
    client.disconnect();
  }
  if (!ok) {
    context.note(
      `At ${count(size.n)}, reading the snapshot took longer than the 5 s commandTimeout of the product's Redis client ` +
        '(src/clients.ts), so search fell back to DynamoDB; (c) and (d) at this size were measured again with a 60 s timeout.',
    );
    const patient = patientRedisClient(url);
    try {
      await snapshotPaths(
        context,
        size,
        { client: patient, url },
        { cold: 'c', warm: 'd', note: 'client commandTimeout 60 s (see notes)' },
      );
    } finally {
      patient.disconnect();
    }
  }
  if (!context.options.stockRedisSizes.includes(size.n)) return;
  // jemalloc's stock settings: the configuration most installations run.
  const stock = await startRedisServer({ mallocConf: null });
  const stockClient = patientRedisClient(stock.url);
  try {
    await snapshotPaths(context, size, { client: stockClient, url: stock.url }, { cold: 'c-stock' });
  } finally {
    stockClient.disconnect();
    await stock.stop();
  }
}

/**
 * (a) and (b): every search reads the bot's chunks from DynamoDB Local. `part` 'slow-list' is (a) and
 * (b, List) above 1k only: run last, because minutes of List<Number> parsing leave DynamoDB Local slower
 * for whatever is measured after them.
 */
export async function dynamoMethods(
  context: BenchContext,
  size: SizeContext,
  part: 'main' | 'slow-list' = 'main',
): Promise<void> {
  const { env, options } = context;
  const table = env.config.tables.vectorEmbeddings;
  const chunks = new DynamoChunkStore(env.documents, { table, embeddingEncoding: 'binary' });
  const dynamoTime = context.dynamoCallTime();
  const fallback = (botId: string) =>
    ourSearch(
      {
        chunks,
        snapshots: null,
        cache: null,
        bot: benchBot(botId, size.n),
        warn: (message) => context.progress.note(`search warned: ${message}`),
      },
      'dynamodb',
    );
  // Within each search: how much of it was spent waiting on DynamoDB Local, and how much was ours.
  const split = (key: MethodKey, method: SearchMethod): SearchMethod => ({
    async search(query, k) {
      const started = performance.now();
      const before = dynamoTime.totalMs();
      const answer = await method.search(query, k);
      totals.push({ key, ms: performance.now() - started, dynamoMs: dynamoTime.totalMs() - before });
      return answer;
    },
  });
  const totals: { key: MethodKey; ms: number; dynamoMs: number }[] = [];
  const recordSplit = (key: MethodKey) => {
    const calls = totals.filter((t) => t.key === key);
    if (calls.length === 0) return;
    context.results.dynamoShare.push({
      method: key,
      n: size.n,
      calls: calls.length,
      medianMs: percentile(
        calls.map((c) => c.ms),
        50,
      ),
      medianDynamoMs: percentile(
        calls.map((c) => c.dynamoMs),
        50,
      ),
    });
  };
  const slowList = size.n > 1_000;
  if (part === 'slow-list' && !slowList) return;
  if (options.listSizes.includes(size.n) && slowList === (part === 'slow-list')) {
    const botId = await context.loaded(size.n, 'list');
    // One read of List<Number> items takes DynamoDB Local seconds at 1k and minutes at 10k: at 10k one
    // timed run and no warm-up. At 1k one warm-up, so that neither method pays DynamoDB Local's JIT alone.
    const single = size.n > 1_000;
    const runs = single ? 1 : options.runs.dynamoList;
    const timing = {
      warmup: single ? 0 : 1,
      minRuns: 1,
      ...(runs === 1 ? { note: single ? 'one run, no warm-up' : 'one run' } : {}),
    };
    await context.time('a', size, split('a', strategyOne(env.documents, table, botId)), runs, timing);
    recordSplit('a');
    await context.time('b-list', size, split('b-list', fallback(botId)), runs, timing);
    recordSplit('b-list');
  } else if (!options.listSizes.includes(size.n)) {
    const reason = 'List<Number> reads take DynamoDB Local minutes at this size (--list-10k)';
    context.skip('a', size.n, reason);
    context.skip('b-list', size.n, reason);
  }
  if (part === 'main' && options.dynamoSizes.includes(size.n)) {
    const botId = await context.loaded(size.n, 'binary');
    await context.time('b-binary', size, split('b-binary', fallback(botId)), options.runs.dynamoBinary);
    recordSplit('b-binary');
  }
}

/**
 * The 1M row (--million): (e) and (g) in memory, then (c) and (d) against a snapshot built directly in
 * Redis (46 vector segments), through a client with a 60 s command timeout (a 1.5 GB cold read is slower
 * than the product's 5 s). Few cold runs: each reads 1.5 GB.
 */
export async function millionMethods(context: BenchContext, size: SizeContext): Promise<void> {
  const { dataset } = size;
  const warm = { warmup: 3 };
  await context.time('e', size, usearchExact(dataset.vectors, DIMENSION, dataset.chunkIds), 50, warm);
  const scanner = nativeScanner();
  scanner.quantised(dataset.vectors, DIMENSION, size.n);
  await context.time('g', size, ourKernel(dataset.vectors, DIMENSION, dataset.chunkIds, scanner), 50, warm);
  const { url } = context.env.stack.redis;
  const client = patientRedisClient(url);
  try {
    // Each cold run reads 1.5 GB: three of them (restored afterwards for any later suite).
    const { runs } = context.options;
    const saved = runs.snapshotCold;
    runs.snapshotCold = 3;
    try {
      await snapshotPaths(
        context,
        size,
        { client, url },
        {
          cold: 'c',
          warm: 'd',
          note: 'client commandTimeout 60 s; 3 cold runs',
        },
      );
    } finally {
      runs.snapshotCold = saved;
    }
    await redisBytesPerChunk(context, size, client);
  } finally {
    client.disconnect();
  }
}
