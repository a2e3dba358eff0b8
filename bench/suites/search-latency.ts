import type Redis from 'ioredis';
import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import { RedisSnapshotStore } from '../../src/adapters/redis/snapshot-store';
import { createRedisClient } from '../../src/clients';
import { SnapshotCache } from '../../src/use-cases/snapshot-cache';
import { type BenchContext, DIMENSION, type SizeContext } from '../context';
import { count } from '../format';
import { lancedbFlat } from '../methods/lancedb-flat';
import { benchBot, ourSearch } from '../methods/our-search';
import { strategyOne } from '../methods/strategy-one';
import { usearchExact } from '../methods/usearch-exact';
import { buildSnapshot } from '../snapshot-builder';
import { startStockRedis } from '../stock-redis';

/** (e) and (f): the same vectors, already in this process's memory. */
export async function inMemoryMethods(context: BenchContext, size: SizeContext): Promise<void> {
  const { dataset } = size;
  const runs = context.options.runs.inMemory;
  await context.time('e', size, usearchExact(dataset.vectors, DIMENSION, dataset.chunkIds), runs, {
    warmup: 5,
  });
  context.progress.note(`building the LanceDB table (${count(size.n)} rows)`);
  const lance = await lancedbFlat(dataset);
  try {
    await context.time('f', size, lance, runs, { warmup: 5 });
  } finally {
    await lance.close?.();
  }
}

/** (c) cold and (d) warm against one Redis, snapshot published from the generated rows. */
async function snapshotPaths(
  context: BenchContext,
  size: SizeContext,
  redis: Redis,
  methods: { cold: 'c' | 'c-stock'; warm?: 'd' },
): Promise<void> {
  const botId = `bench-snapshot-${count(size.n)}`;
  const store = new RedisSnapshotStore(redis, context.env.config.redisKeyPrefix);
  context.progress.note(`publishing the ${count(size.n)}-chunk snapshot of ${botId}`);
  await store.drop(botId);
  await buildSnapshot(store, botId, size.dataset);
  const cache = new SnapshotCache(store);
  const search = ourSearch(
    {
      chunks: new DynamoChunkStore(context.env.documents, {
        table: context.env.config.tables.vectorEmbeddings,
        embeddingEncoding: 'binary',
      }),
      snapshots: store,
      cache,
      bot: benchBot(botId, size.n),
      warn: (message) => context.progress.note(`search warned: ${message}`),
    },
    'snapshot',
  );
  await context.time(methods.cold, size, search, context.options.runs.snapshotCold, {
    before: () => cache.forget(botId),
  });
  if (methods.warm !== undefined) {
    await context.time(methods.warm, size, search, context.options.runs.snapshotWarm, { warmup: 3 });
  }
  await store.drop(botId);
}

/** (c), (c') and (d). */
export async function snapshotMethods(context: BenchContext, size: SizeContext): Promise<void> {
  const redis = createRedisClient(context.env.stack.redis.url);
  try {
    await snapshotPaths(context, size, redis, { cold: 'c', warm: 'd' });
  } finally {
    redis.disconnect();
  }
  if (!context.options.stockRedisSizes.includes(size.n)) return;
  const stock = await startStockRedis();
  const stockClient = createRedisClient(stock.url);
  try {
    await snapshotPaths(context, size, stockClient, { cold: 'c-stock' });
  } finally {
    stockClient.disconnect();
    await stock.stop();
  }
}

/** (a) and (b): every search reads the bot's chunks from DynamoDB Local. */
export async function dynamoMethods(context: BenchContext, size: SizeContext): Promise<void> {
  const { env, options } = context;
  const table = env.config.tables.vectorEmbeddings;
  const chunks = new DynamoChunkStore(env.documents, { table, embeddingEncoding: 'binary' });
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
  if (options.listSizes.includes(size.n)) {
    const botId = await context.loaded(size.n, 'list');
    // One read of List<Number> items takes DynamoDB Local seconds at 1k and minutes at 10k: at 10k (and
    // in a quick run) one timed run and no warm-up.
    const single = size.n > 1_000 || options.runs.dynamoList === 1;
    const runs = single ? 1 : options.runs.dynamoList;
    const timing = { warmup: single ? 0 : 1, minRuns: 1, ...(single ? { note: 'one run, no warm-up' } : {}) };
    await context.time('a', size, strategyOne(env.documents, table, botId), runs, timing);
    await context.time('b-list', size, fallback(botId), runs, timing);
  } else {
    const reason = 'a List<Number> read takes DynamoDB Local minutes at this size (--list-10k runs it once)';
    context.skip('a', size.n, reason);
    context.skip('b-list', size.n, reason);
  }
  if (options.dynamoSizes.includes(size.n)) {
    const botId = await context.loaded(size.n, 'binary');
    await context.time('b-binary', size, fallback(botId), options.runs.dynamoBinary);
  }
}
