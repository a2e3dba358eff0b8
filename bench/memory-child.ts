/**
 * Child process of the memory suite: runs only the search path (snapshot store, process cache, search
 * use case) against a snapshot the parent published, and prints its peak RSS as JSON on stdout. It
 * generates no data set, so its RSS is what the search path costs plus Node and the modules.
 */
import { DynamoChunkStore } from '../src/adapters/dynamodb/chunk-store';
import { RedisSnapshotStore } from '../src/adapters/redis/snapshot-store';
import { createDocumentClient, createDynamoDbClient, createRedisClient } from '../src/clients';
import { loadConfig } from '../src/config';
import { SnapshotCache } from '../src/use-cases/snapshot-cache';
import { generateQueries } from './data';
import { benchBot, ourSearch } from './methods/our-search';

export type MemoryChildInput = { botId: string; n: number; seed: number; queries: number; dimension: number };
export type MemoryChildOutput = { idleMaxRssKiB: number; peakMaxRssKiB: number; searches: number };

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as MemoryChildInput;
  const config = loadConfig(process.env);
  const redis = createRedisClient(config.redisUrl ?? '');
  const dynamodb = createDynamoDbClient(config);
  const store = new RedisSnapshotStore(redis, config.redisKeyPrefix);
  const queries = generateQueries({
    count: 0,
    dimension: input.dimension,
    seed: input.seed,
    queries: input.queries,
  });
  const search = ourSearch(
    {
      chunks: new DynamoChunkStore(createDocumentClient(dynamodb), {
        table: config.tables.vectorEmbeddings,
        embeddingEncoding: 'binary',
      }),
      snapshots: store,
      cache: new SnapshotCache(store),
      bot: benchBot(input.botId, input.n),
      warn: (message) => process.stderr.write(`${message}\n`),
    },
    'snapshot',
  );
  await redis.ping();
  const idleMaxRssKiB = process.resourceUsage().maxRSS;
  // The first search reads and decodes the snapshot (cold); the rest reuse the cached one (warm).
  for (const query of queries) await search.search(query, 10);
  const peakMaxRssKiB = process.resourceUsage().maxRSS;
  redis.disconnect();
  dynamodb.destroy();
  const output: MemoryChildOutput = { idleMaxRssKiB, peakMaxRssKiB, searches: queries.length };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`memory child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
