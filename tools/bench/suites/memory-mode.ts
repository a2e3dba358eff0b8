import { CreateTableCommand, DeleteTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoBotRegistry } from '../../../src/adapters/dynamodb/bot-registry';
import { changeLogIdOf, DynamoChangeLog } from '../../../src/adapters/dynamodb/change-log';
import { DynamoChunkStore } from '../../../src/adapters/dynamodb/chunk-store';
import type { BotCollection } from '../../../src/domain/types';
import { createRedisClient } from '../../../src/redis-client';
import { MemorySnapshotStore, RedisSnapshotStore, SnapshotCache } from '../../../src/snapshot';
import { createTableInput } from '../../../src/tables/definition';
import { type BenchContext, CREATED_AT, DIMENSION, K } from '../context';
import { storedChunk } from '../data';
import { count } from '../format';
import { meterReads } from '../instrument';
import { loadChunks } from '../load';
import { nativeScanner } from '../methods/native-scanner';
import { benchBot, ourSearch } from '../methods/our-search';
import type { MemoryModeRow, OverBudgetResult } from '../results';
import { exactTopK, meanRecallAtK, percentile } from '../stats';

/** Chunks one stream batch changes in the catch-up measure. */
const CHANGED = 100;
/**
 * The searches that read a whole bot from DynamoDB Local run without the product's 24 s deadline: a
 * 100k-chunk bot takes longer than that there (DynamoDB Local's pace, not DynamoDB's).
 */
const DEADLINE_MS = 30 * 60_000;
/**
 * Largest bot read whole more than once (the over-budget searches, the search without a snapshot): above
 * it each whole read takes minutes on DynamoDB Local, and one such search costs what a cold load does.
 */
export const WHOLE_READS_MAX_CHUNKS = 10_000;

/**
 * The memory snapshot mode (SNAPSHOT_MODE=memory) beside the Redis mode: a bot of n packed-Binary chunks,
 * a container's cold load (time and read units), its warm search against the Redis mode's warm search
 * over the same queries, the same bot searched by a container whose budget it exceeds (exact, and how
 * much slower), and the read units and time to catch a held copy up after one stream batch that changed
 * 100 chunks (the change log item is written as the stream handler writes it).
 */
export async function memoryMode(context: BenchContext, sizes: number[]): Promise<void> {
  const { env } = context;
  const { config } = env;
  // The suite's bots live in a table of their own, without a stream, dropped at the end: DynamoDB Local
  // slows every later stream read after 100k more stream records, and holds the items until the table goes.
  const tableName = `bench-memory-mode-${Date.now()}`;
  const input = createTableInput('VectorEmbeddings', tableName);
  delete input.StreamSpecification;
  await env.dynamodb.send(new CreateTableCommand(input));
  await waitUntilTableExists(
    { client: env.dynamodb, maxWaitTime: 60, minDelay: 1 },
    { TableName: tableName },
  );
  const chunks = new DynamoChunkStore(env.documents, { table: tableName, embeddingEncoding: 'binary' });
  // The Redis mode's bot is the one the latency suites loaded into the shared table.
  const sharedChunks = new DynamoChunkStore(env.documents, {
    table: config.tables.vectorEmbeddings,
    embeddingEncoding: 'binary',
  });
  const registry = new DynamoBotRegistry(env.documents, {
    table: config.tables.botCollections,
    defaultEmbeddingDimension: DIMENSION,
  });
  const changes = new DynamoChangeLog(env.documents, { streamClaimsTable: config.tables.streamClaims });
  const redis = createRedisClient(env.stack.redis.url);
  const warn = (message: string) => context.progress.note(`memory mode: ${message}`);
  // Both modes score with the native int8 scan, as a deployed search container does.
  const kernel = nativeScanner();
  try {
    for (const n of sizes) {
      const dataset = context.dataset(n);
      const botId = `bench-memory-${count(n)}-${Date.now()}`;
      context.progress.note(`memory mode: loading ${count(n)} chunks`);
      await registry.ensure(botId, { embedding_dimension: DIMENSION, user_id: 'bench' });
      await loadChunks(
        chunks,
        context.writeCapacity(),
        n,
        (row) => storedChunk(dataset, botId, row, CREATED_AT),
        () => {},
      );
      const bot = (await registry.get(botId)) as BotCollection;
      const store = new MemorySnapshotStore({ bots: registry, chunks, changes, logger: { warn } });
      const cache = new SnapshotCache(store);
      const memory = ourSearch(
        { chunks, snapshots: store, cache, bot, warn, deadlineMs: DEADLINE_MS, kernel },
        'snapshot',
      );
      const queries = generateQueries(context, 30);

      context.progress.note(`memory mode: a cold load of ${count(n)} chunks`);
      const cold = await meterReads(env.dynamodb, async () => {
        const started = performance.now();
        await memory.search(queries[0] as Float32Array, 10);
        return performance.now() - started;
      });
      const redisStore = new RedisSnapshotStore(redis, config.redisKeyPrefix);
      const redisBotId = await context.snapshotBot(redisStore, env.stack.redis.url, n);
      const redisWarm = ourSearch(
        {
          chunks: sharedChunks,
          snapshots: redisStore,
          cache: new SnapshotCache(redisStore),
          bot: benchBot(redisBotId, n),
          warn,
          kernel,
        },
        'snapshot',
      );
      await redisWarm.search(queries[0] as Float32Array, 10);
      // The two modes' warm searches alternate query by query, so load on the machine falls on both alike.
      // The Redis mode's reads nothing from DynamoDB (its bot record is handed in): the units are the memory mode's.
      const memoryMs: number[] = [];
      const redisMs: number[] = [];
      const warm = await meterReads(env.dynamodb, async () => {
        for (const query of queries) {
          memoryMs.push(...(await timeEach([query], (q) => memory.search(q, 10))));
          redisMs.push(...(await timeEach([query], (q) => redisWarm.search(q, 10))));
        }
      });
      const heldBytes = cache.bytes;
      let overBudget: OverBudgetResult | undefined;
      let tableSearchMs: number | undefined;
      if (n <= WHOLE_READS_MAX_CHUNKS) {
        context.progress.note(`memory mode: searches of ${count(n)} chunks over the container's budget`);
        overBudget = await searchOverBudget(context, n, { store, chunks, bot, warn }, heldBytes, queries);
        context.progress.note(`memory mode: a search reading ${count(n)} chunks from DynamoDB`);
        // The same bot read by a search without any snapshot (one sequential Query), for the cold load's scale.
        const table = ourSearch(
          { chunks, snapshots: null, cache: null, bot, warn, deadlineMs: DEADLINE_MS },
          'dynamodb',
        );
        [tableSearchMs] = await timeEach([queries[2] as Float32Array], (q) => table.search(q, 10));
      }

      // One stream batch overwrites 100 chunks: new vectors in the table, one change-log item, the version.
      const version = (bot.data_version ?? 0) + 1;
      const changed = Array.from({ length: CHANGED }, (_, i) => {
        const chunk = storedChunk(dataset, botId, (i * 7) % n, CREATED_AT);
        return { ...chunk, embedding: chunk.embedding.map((x) => -x) };
      });
      await chunks.put(changed);
      await env.documents.send(
        new PutCommand({
          TableName: config.tables.streamClaims,
          Item: {
            claim_id: changeLogIdOf(botId, version),
            chunk_ids: new Set(changed.map((chunk) => chunk.chunk_id)),
            expires_at: Math.floor(Date.now() / 1000) + 3600,
          },
        }),
      );
      await env.documents.send(
        new UpdateCommand({
          TableName: config.tables.botCollections,
          Key: { bot_id: botId },
          UpdateExpression: 'SET data_version = :v',
          ExpressionAttributeValues: { ':v': version },
        }),
      );
      const moved = ourSearch(
        { chunks, snapshots: store, cache, bot: (await registry.get(botId)) as BotCollection, warn },
        'snapshot',
      );
      const catchUp = await meterReads(env.dynamodb, async () => {
        const started = performance.now();
        await moved.search(queries[1] as Float32Array, 10);
        return performance.now() - started;
      });
      const row: MemoryModeRow = {
        n,
        coldLoadMs: cold.result,
        coldLoadReadUnits: cold.units,
        coldLoadInReadsMs: cold.inReadsMs,
        ...(tableSearchMs === undefined ? {} : { tableSearchMs }),
        heldBytes,
        warmMedianMs: percentile(memoryMs, 50),
        warmReadUnitsPerSearch: warm.units / queries.length,
        redisWarmMedianMs: percentile(redisMs, 50),
        catchUpChunks: CHANGED,
        catchUpMs: catchUp.result,
        catchUpReadUnits: catchUp.units,
        ...(overBudget === undefined ? {} : { overBudget }),
      };
      context.results.memoryMode?.push(row);
      context.progress.note(
        `memory mode at ${count(n)}: cold load ${row.coldLoadMs.toFixed(0)} ms / ${row.coldLoadReadUnits.toFixed(1)} RCU ` +
          `(${cold.inReadsMs.toFixed(0)} ms of it in reads), warm ${row.warmMedianMs.toFixed(3)} ms ` +
          `(Redis ${row.redisWarmMedianMs.toFixed(3)} ms), catch-up of ${CHANGED} chunks ` +
          `${row.catchUpMs.toFixed(0)} ms / ${row.catchUpReadUnits.toFixed(1)} RCU` +
          (tableSearchMs === undefined ? '' : `; a search reading DynamoDB: ${tableSearchMs.toFixed(0)} ms`) +
          (overBudget === undefined
            ? ''
            : `; over a budget of ${(overBudget.budgetBytes / 2 ** 20).toFixed(1)} MiB: ${overBudget.medianMs.toFixed(0)} ms ` +
              `a search (${(overBudget.medianMs / row.warmMedianMs).toFixed(0)}x the held copy), recall@${K} ${overBudget.recall.toFixed(3)}`),
      );
    }
  } finally {
    redis.disconnect();
    await env.dynamodb.send(new DeleteTableCommand({ TableName: tableName }));
  }
}

/**
 * A bot larger than the container's budget: a container whose snapshot cache holds half the bytes the
 * bot's held copy takes reads the bot whole for every search, answers it, and keeps nothing. Its answers
 * are checked against the exact top k of the generated vectors.
 * @throws Error when the copy was kept, or an answer did not come from the snapshot path.
 */
async function searchOverBudget(
  context: BenchContext,
  n: number,
  parts: {
    store: MemorySnapshotStore;
    chunks: DynamoChunkStore;
    bot: BotCollection;
    warn: (message: string) => void;
  },
  heldBytes: number,
  queries: Float32Array[],
): Promise<OverBudgetResult> {
  const budgetBytes = Math.floor(heldBytes / 2);
  const cache = new SnapshotCache(parts.store, { maxBytes: budgetBytes });
  const search = ourSearch(
    { ...parts, snapshots: parts.store, cache, deadlineMs: DEADLINE_MS, kernel: nativeScanner() },
    'snapshot',
  );
  // Each search is a whole read of the bot: a few at the sizes where that takes seconds, one above.
  const asked = queries.slice(0, n <= 10_000 ? 3 : 1);
  const found: string[][] = [];
  const timed = await meterReads(context.env.dynamodb, () =>
    timeEach(asked, async (q) => {
      found.push(await search.search(q, K));
    }),
  );
  if (cache.bytes !== 0)
    throw new Error(`memory mode: a bot over the budget was kept (${cache.bytes} bytes)`);
  const vectors = context.dataset(n).vectors;
  const ids = context.dataset(n).chunkIds;
  const exact = asked.map((q) => exactTopK(vectors, DIMENSION, q, K).map((row) => ids[row] as string));
  return {
    budgetBytes,
    searches: asked.length,
    medianMs: percentile(timed.result, 50),
    readUnitsPerSearch: timed.units / asked.length,
    recall: meanRecallAtK(exact, found, K),
  };
}

async function timeEach(
  queries: Float32Array[],
  run: (query: Float32Array) => Promise<unknown>,
): Promise<number[]> {
  const samples: number[] = [];
  for (const query of queries) {
    const started = performance.now();
    await run(query);
    samples.push(performance.now() - started);
  }
  return samples;
}

/** Unit-length random queries of the bench's dimension, from the run's seed. */
function generateQueries(context: BenchContext, howMany: number): Float32Array[] {
  let state = context.options.seed >>> 0 || 1;
  const random = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
  return Array.from({ length: howMany }, () => Float32Array.from({ length: DIMENSION }, random));
}
