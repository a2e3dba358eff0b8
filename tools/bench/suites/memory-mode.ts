import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoBotRegistry } from '../../../src/adapters/dynamodb/bot-registry';
import { changeLogIdOf, DynamoChangeLog } from '../../../src/adapters/dynamodb/change-log';
import { DynamoChunkStore } from '../../../src/adapters/dynamodb/chunk-store';
import { RedisSnapshotStore } from '../../../src/adapters/redis/snapshot-store';
import type { BotCollection } from '../../../src/domain/types';
import { createRedisClient } from '../../../src/redis-client';
import { MemorySnapshotStore } from '../../../src/use-cases/memory-snapshots';
import { SnapshotCache } from '../../../src/use-cases/snapshot-cache';
import { type BenchContext, CREATED_AT, DIMENSION } from '../context';
import { storedChunk } from '../data';
import { count } from '../format';
import { loadChunks } from '../load';
import { benchBot, ourSearch } from '../methods/our-search';
import type { MemoryModeRow } from '../results';
import { percentile } from '../stats';

/** Chunks one stream batch changes in the catch-up measure. */
const CHANGED = 100;
const READS = new Set(['GetItemCommand', 'QueryCommand', 'BatchGetItemCommand']);

/** Read units reported by DynamoDB Local for every read sent through `client` while `run` runs. */
async function readUnits<T>(
  client: DynamoDBClient,
  run: () => Promise<T>,
): Promise<{ result: T; units: number }> {
  let units = 0;
  const name = `benchReadUnits${Math.random()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!READS.has(context.commandName ?? '')) return next(args);
      const input = args.input as { ReturnConsumedCapacity?: string };
      const result = await next({ ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } });
      const consumed = (
        result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }
      ).ConsumedCapacity;
      for (const entry of Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]) {
        units += entry.CapacityUnits ?? 0;
      }
      return result;
    },
    { step: 'initialize', name },
  );
  try {
    return { result: await run(), units };
  } finally {
    client.middlewareStack.remove(name);
  }
}

/**
 * The memory snapshot mode (SNAPSHOT_MODE=memory) beside the Redis mode: a bot of n packed-Binary chunks,
 * a container's cold load (time and read units), its warm search against the Redis mode's warm search
 * over the same queries, and the read units and time to catch a held copy up after one stream batch that
 * changed 100 chunks (the change log item is written as the stream handler writes it).
 */
export async function memoryMode(context: BenchContext, sizes: number[]): Promise<void> {
  const { env } = context;
  const { config } = env;
  const chunks = new DynamoChunkStore(env.documents, {
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
      const memory = ourSearch({ chunks, snapshots: store, cache, bot, warn }, 'snapshot');
      const queries = generateQueries(context, 30);

      const cold = await readUnits(env.dynamodb, async () => {
        const started = performance.now();
        await memory.search(queries[0] as Float32Array, 10);
        return performance.now() - started;
      });
      const warm = await readUnits(env.dynamodb, () => timeEach(queries, (q) => memory.search(q, 10)));
      // The same bot read by a search without any snapshot (one sequential Query), for the cold load's scale.
      const table = ourSearch({ chunks, snapshots: null, cache: null, bot, warn }, 'dynamodb');
      const [tableMs = Number.NaN] = await timeEach([queries[2] as Float32Array], (q) => table.search(q, 10));

      const redisStore = new RedisSnapshotStore(redis, config.redisKeyPrefix);
      const redisBotId = await context.snapshotBot(redisStore, env.stack.redis.url, n);
      const redisWarm = ourSearch(
        {
          chunks,
          snapshots: redisStore,
          cache: new SnapshotCache(redisStore),
          bot: benchBot(redisBotId, n),
          warn,
        },
        'snapshot',
      );
      await redisWarm.search(queries[0] as Float32Array, 10);
      const redisMs = await timeEach(queries, (q) => redisWarm.search(q, 10));

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
      const catchUp = await readUnits(env.dynamodb, async () => {
        const started = performance.now();
        await moved.search(queries[1] as Float32Array, 10);
        return performance.now() - started;
      });
      const row: MemoryModeRow = {
        n,
        coldLoadMs: cold.result,
        coldLoadReadUnits: cold.units,
        tableSearchMs: tableMs,
        warmMedianMs: percentile(warm.result, 50),
        warmReadUnitsPerSearch: warm.units / queries.length,
        redisWarmMedianMs: percentile(redisMs, 50),
        catchUpChunks: CHANGED,
        catchUpMs: catchUp.result,
        catchUpReadUnits: catchUp.units,
      };
      context.results.memoryMode?.push(row);
      context.progress.note(
        `memory mode at ${count(n)}: cold load ${row.coldLoadMs.toFixed(0)} ms / ${row.coldLoadReadUnits.toFixed(1)} RCU ` +
          `(a search reading DynamoDB: ${row.tableSearchMs.toFixed(0)} ms), ` +
          `warm ${row.warmMedianMs.toFixed(3)} ms (Redis ${row.redisWarmMedianMs.toFixed(3)} ms), ` +
          `catch-up of ${CHANGED} chunks ${row.catchUpMs.toFixed(0)} ms / ${row.catchUpReadUnits.toFixed(1)} RCU`,
      );
    }
  } finally {
    redis.disconnect();
  }
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
