import type { Socket } from 'node:net';
import { DynamoChunkStore } from '../../../src/adapters/dynamodb/chunk-store';
import { loadUsearchInt8Scan } from '../../../src/adapters/native/usearch-scan';
import { QuantisedScanner } from '../../../src/domain/ranking/quantised-scan';
import { createRedisClient } from '../../../src/redis-client';
import { RedisSnapshotStore, SnapshotCache } from '../../../src/snapshot';
import type { BenchContext } from '../context';
import { count } from '../format';
import { benchBot, ourSearch } from '../methods/our-search';
import { percentile } from '../stats';

/**
 * A spike on AWS: `containers` cold containers start together and each answers its first search of one
 * bot (its own Redis connection, snapshot cache and native scan, as a Lambda container has). Measures the
 * Redis bytes each container reads for that first answer (the socket's bytes read: the snapshot's int8
 * codes and its candidates' rows, not the float32 vectors), their total, and the first answers' p99.
 */
export async function concurrency(
  context: BenchContext,
  n: number,
  containerCounts: number[],
): Promise<void> {
  const { env, progress } = context;
  const loaded = loadUsearchInt8Scan();
  if (loaded.scan === null) throw loaded.error;
  const scan = loaded.scan;
  const publisher = createRedisClient(env.stack.redis.url);
  const botId = await context.snapshotBot(
    new RedisSnapshotStore(publisher, env.config.redisKeyPrefix),
    env.stack.redis.url,
    n,
  );
  publisher.disconnect();
  const bot = benchBot(botId, n);
  const chunks = new DynamoChunkStore(env.documents, {
    table: env.config.tables.vectorEmbeddings,
    embeddingEncoding: 'binary',
  });
  const queries = context.dataset(n);
  for (const containers of containerCounts) {
    progress.note(`concurrency: ${containers} cold containers searching ${botId} at once`);
    const clients = Array.from({ length: containers }, () => createRedisClient(env.stack.redis.url));
    try {
      await Promise.all(clients.map((client) => client.ping()));
      const before = clients.map((client) => (client.stream as Socket).bytesRead);
      const latencies = await Promise.all(
        clients.map(async (client, i) => {
          const store = new RedisSnapshotStore(client, env.config.redisKeyPrefix);
          const search = ourSearch(
            {
              chunks,
              snapshots: store,
              cache: new SnapshotCache(store),
              kernel: new QuantisedScanner(scan),
              bot,
              warn: (message) => progress.note(`concurrency: search warned: ${message}`),
            },
            'snapshot',
          );
          const query = queries.vectors.subarray((i % 50) * 384, (i % 50) * 384 + 384);
          const started = performance.now();
          await search.search(query, 10);
          return performance.now() - started;
        }),
      );
      const bytes = clients.map((client, i) => (client.stream as Socket).bytesRead - (before[i] as number));
      const total = bytes.reduce((sum, b) => sum + b, 0);
      context.results.concurrency ??= [];
      context.results.concurrency.push({
        n,
        containers,
        bytesPerContainer: percentile(bytes, 50),
        totalBytes: total,
        vectorBytes: n * 384 * 4,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
      });
      progress.note(
        `concurrency: ${containers} containers over ${count(n)} chunks read ${(total / 2 ** 20).toFixed(1)} MiB from Redis ` +
          `(${(percentile(bytes, 50) / 2 ** 20).toFixed(2)} MiB each), first answer p99 ${percentile(latencies, 99).toFixed(0)} ms`,
      );
    } finally {
      for (const client of clients) client.disconnect();
    }
  }
}
