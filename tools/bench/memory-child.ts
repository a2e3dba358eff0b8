/**
 * Child process of the memory suite: runs only the search path (snapshot store, process cache, search
 * use case) against a snapshot the parent published, and prints its peak RSS as JSON on stdout. It
 * generates no data set, so its RSS is what the search path costs plus Node and the modules.
 */

import { readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import { loadUsearchInt8Scan } from '../../src/adapters/native/usearch-scan';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { QuantisedScanner } from '../../src/domain/ranking/quantised-scan';
import { RedisSnapshotStore, SnapshotCache } from '../../src/snapshot';
import { generateQueries } from './data';
import { benchBot, ourSearch } from './methods/our-search';

export type MemoryChildInput = { botId: string; n: number; seed: number; queries: number; dimension: number };
export type MemoryChildOutput = {
  idleMaxRssKiB: number;
  peakMaxRssKiB: number;
  searches: number;
  source: 'VmHWM' | 'maxRSS';
};

/**
 * Peak RSS of this process in KiB. On Linux, getrusage's ru_maxrss (process.resourceUsage().maxRSS)
 * survives execve, so a child spawned by a large parent starts out reporting the parent's size; /proc's
 * VmHWM belongs to the new address space and counts this process only. Elsewhere, maxRSS.
 */
function peakRssKiB(): { kib: number; source: 'VmHWM' | 'maxRSS' } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const match = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (match !== null) return { kib: Number(match[1]), source: 'VmHWM' };
  } catch {
    // not Linux: fall through
  }
  return { kib: process.resourceUsage().maxRSS, source: 'maxRSS' };
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as MemoryChildInput;
  const config = loadConfig(process.env);
  // The product's client settings but a patient command timeout: a 100k read on a busy machine can
  // outlast 5 s, and how long it takes does not change what it holds in memory.
  const redis = new Redis(config.redisUrl ?? '', { maxRetriesPerRequest: 1, commandTimeout: 60_000 });
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
      // The product's search path holds the kernel's int8 copy too (a quarter of the float32 vectors).
      kernel: new QuantisedScanner(loadUsearchInt8Scan().scan),
      bot: benchBot(input.botId, input.n),
      warn: (message) => process.stderr.write(`${message}\n`),
    },
    'snapshot',
  );
  await redis.ping();
  const idle = peakRssKiB();
  // The first search reads and decodes the snapshot (cold); the rest reuse the cached one (warm).
  for (const query of queries) await search.search(query, 10);
  const peak = peakRssKiB();
  redis.disconnect();
  dynamodb.destroy();
  const output: MemoryChildOutput = {
    idleMaxRssKiB: idle.kib,
    peakMaxRssKiB: peak.kib,
    searches: queries.length,
    source: peak.source,
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`memory child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
