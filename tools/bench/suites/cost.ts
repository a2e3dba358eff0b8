import { quantiseMatrix } from '../../../src/domain/ranking/int8-codes';
import { remoteTopK } from '../../../src/domain/ranking/remote-rescore';
import { normalise } from '../../../src/domain/ranking/scoring';
import { createRedisClient } from '../../../src/redis-client';
import { RedisSnapshotStore } from '../../../src/snapshot';
import { type BenchContext, DIMENSION, K } from '../context';
import {
  dynamoOnlyBill,
  type MeasuredUnits,
  type MemoryModeUnits,
  memoryModeBill,
  nodeBill,
  PARTITION_RCU_PER_SECOND,
  qdrantBill,
  s3VectorsBill,
  serverlessBill,
  turbopufferBill,
  WORKLOADS,
} from '../cost/model';
import { generateQueries } from '../data';
import { count } from '../format';
import { storeKeywordIndex } from '../keyword-index-bytes';
import { nativeScanner } from '../methods/native-scanner';
import type { BenchResults, LatencyRow, MethodKey } from '../results';
import { batchCost } from './batch-cost';
import { memoryMode } from './memory-mode';
import { snapshotBytes } from './search-latency';
import { writeCost } from './write-cost';

/**
 * Search times of the committed full run (tools/bench/results.md, npm run bench -- --publish --million,
 * 2026-12-07): used when this run did not time searches itself (--only=cost). Medians, ms.
 */
const COMMITTED_WARM_MS: [number, number][] = [
  [1_000, 0.338],
  [10_000, 0.613],
  [100_000, 6.96],
  [1_000_000, 42.0],
];
const COMMITTED_FALLBACK_MS: [number, number][] = [
  [1_000, 109],
  [10_000, 2596],
];
/**
 * What a search spends besides scoring (assumed, not measured here): API Gateway's Lambda invocation,
 * the caller's token, the bot's record from DynamoDB, the texts' round trip to Redis, the JSON answer.
 */
const HANDLER_OVERHEAD_MS = 10;

/**
 * The bill (docs/cost.md): measures the units a chunk and a search cost (Redis bytes of a snapshot and
 * its keyword index at `n` chunks, write units a chunk change, bytes a stream record sends to Redis,
 * Lambda time of the stream handler), takes the search times of this run or the committed one, and prices
 * the reference workloads with tools/bench/prices.json for each mode beside the alternatives.
 */
export async function cost(context: BenchContext, n: number): Promise<void> {
  const { results } = context;
  if (results.writeCost.length === 0) await writeCost(context);
  if (results.batchCost.length === 0) await batchCost(context, [Math.min(n, 1_000)]);
  if ((results.memoryMode ?? []).length === 0) await memoryMode(context, [1_000]);
  const redis = createRedisClient(context.env.stack.redis.url);
  const store = new RedisSnapshotStore(redis, context.env.config.redisKeyPrefix);
  let snapshot: Awaited<ReturnType<typeof snapshotBytes>>;
  let keywordBytesPerChunk: number;
  try {
    await context.snapshotBot(store, context.env.stack.redis.url, n);
    snapshot = await snapshotBytes(context, n, redis);
    context.progress.note(`cost: building the keyword index of ${count(n)} chunks in Redis to measure it`);
    const dataset = context.dataset(n);
    const keywords = await storeKeywordIndex(
      redis,
      context.env.config.redisKeyPrefix,
      `bench-cost-keywords-${count(n)}`,
      dataset.chunkIds.slice(0, n),
      dataset.texts.slice(0, n),
    );
    keywordBytesPerChunk = keywords.bytesPerChunk;
    await keywords.remove();
  } finally {
    redis.disconnect();
  }
  const binary = results.writeCost.find((row) => row.encoding === 'binary');
  const oneDocument = results.bookkeeping.find((row) => row.documents === 1);
  const batch = results.batchCost[0];
  if (binary === undefined || oneDocument === undefined || batch === undefined) {
    throw new Error('cost: the write-cost and batch-cost measurements are missing');
  }
  const timed = (method: MethodKey) =>
    results.latency
      .filter(
        (row): row is Extract<LatencyRow, { summary: unknown }> => row.method === method && 'summary' in row,
      )
      .map((row): [number, number] => [row.n, row.summary.median])
      .sort((a, b) => a[0] - b[0]);
  const warm = timed('d');
  const fallback = timed('b-binary');
  const snapshotTotal = snapshot.vectors + snapshot.codes + snapshot.rows + snapshot.text;
  const units: MeasuredUnits = {
    redisBytesPerChunk: snapshotTotal / n + keywordBytesPerChunk,
    coldLoadBytesPerChunk: snapshot.codes / n,
    textBytesPerChunk: snapshot.text / n,
    redisBytesInPerChange: batch.redisBytesIn / batch.records,
    // The table item and its filename-index item (keys and the projected attributes: about 150 bytes).
    dynamoBytesPerChunk: binary.itemBytes + 150,
    dynamoItemBytes: binary.itemBytes,
    wcuPerChange:
      binary.computedUnits.table +
      binary.computedUnits.index +
      oneDocument.ruleWriteUnits / oneDocument.records,
    rruPerSnapshotSearch: 1,
    warmSearchMs: warm.length > 0 ? warm : COMMITTED_WARM_MS,
    fallbackSearchMs: fallback.length > 0 ? fallback : COMMITTED_FALLBACK_MS,
    handlerOverheadMs: HANDLER_OVERHEAD_MS,
    streamMsPerChange: oneDocument.handlerMs / oneDocument.records,
    memoryMode: memoryModeUnits(results),
  };
  const rescored: RescoreCount[] = [];
  for (const size of rescoreSizes(context)) rescored.push(await candidatesPerSearch(context, size));
  results.cost = {
    measuredAt: n,
    keywordBytesPerChunk,
    levers: {
      vectorBytesPerChunk: snapshot.vectors / n,
      candidatesPerSearch: rescored.map((count) => [count.chunks, count.candidates]),
      widenedShare: rescored.map((count) => [count.chunks, count.widenedShare]),
      searches: rescored[0]?.searches ?? 0,
    },
    searchTimesFrom: warm.length > 0 ? 'this run' : 'the committed run (2026-12-07)',
    units,
    bills: WORKLOADS.map((workload) => ({
      workload,
      modes: {
        serverless: serverlessBill(workload, units),
        node: nodeBill(workload, units),
        dynamoOnly: dynamoOnlyBill(workload, units),
        memory: memoryModeBill(workload, units),
        s3Vectors: s3VectorsBill(workload, units),
        turbopuffer: turbopufferBill(),
        qdrant: qdrantBill(workload),
      },
    })),
  };
  context.progress.note(
    `cost: ${units.redisBytesPerChunk.toFixed(0)} Redis bytes a chunk at ${count(n)} (keyword index ${keywordBytesPerChunk.toFixed(0)}), ${units.wcuPerChange.toFixed(2)} WCU a chunk change`,
  );
}

/** Rows a search re-scored from float32 at one bot size, on average, and the share that widened. */
type RescoreCount = { chunks: number; candidates: number; widenedShare: number; searches: number };

/** The reference workloads' bot sizes the run generated chunks for, and the largest it did. */
function rescoreSizes(context: BenchContext): number[] {
  const generated = context.generatedChunks;
  const sizes = WORKLOADS.map((w) => Math.min(w.chunksPerBot, generated));
  return [...new Set(sizes)].sort((a, b) => a - b);
}

/**
 * How many rows' float32 vectors a search re-scores after its int8 scan of `n` chunks: the product's
 * remote re-score (src/domain/ranking/remote-rescore.ts, as the cold search runs it) over the run's
 * queries, the vectors handed over from memory. A search whose proof needs every row counts them all.
 */
async function candidatesPerSearch(context: BenchContext, n: number): Promise<RescoreCount> {
  context.progress.note(`cost: counting the rows a search re-scores at ${count(n)} chunks`);
  const dataset = context.dataset(n);
  const matrix = quantiseMatrix(dataset.vectors.subarray(0, n * DIMENSION), DIMENSION, n);
  const scan = nativeScanner().nativeScan(n);
  if (scan === null) throw new Error(`cost: the native int8 scan declined ${count(n)} rows`);
  const queries = generateQueries({
    count: 0,
    dimension: DIMENSION,
    seed: context.options.seed,
    queries: context.options.queries,
  });
  let candidates = 0;
  let widened = 0;
  for (const query of queries) {
    const unit = normalise(query) as Float64Array;
    const top = await remoteTopK(
      scan,
      matrix,
      unit,
      async (rows) => {
        const vectors = new Float32Array(rows.length * DIMENSION);
        rows.forEach((row, i) => {
          vectors.set(dataset.vectors.subarray(row * DIMENSION, (row + 1) * DIMENSION), i * DIMENSION);
        });
        return { vectors, ids: rows.map((row) => dataset.chunkIds[row] as string) };
      },
      { k: K },
    );
    candidates += top === null ? n : top.fetched;
    widened += top === null || top.widenings > 0 ? 1 : 0;
  }
  return {
    chunks: n,
    candidates: candidates / queries.length,
    widenedShare: widened / queries.length,
    searches: queries.length,
  };
}

/**
 * The memory mode's units per chunk: a cold load's and a catch-up's from the largest bot the memory-mode
 * suite loaded, the held bytes from the largest that holds its texts (an upper bound for larger bots). A
 * cold load's time is ours (the time with no read in flight) plus the least DynamoDB takes to serve its
 * read units from one partition.
 */
function memoryModeUnits(results: BenchResults): MemoryModeUnits {
  const rows = [...(results.memoryMode ?? [])].sort((a, b) => a.n - b.n);
  const largest = rows[rows.length - 1];
  if (largest === undefined) {
    throw new Error('cost: the memory-mode measurements are missing');
  }
  const { n } = largest;
  return {
    measuredAt: n,
    coldLoadRcuPerChunk: largest.coldLoadReadUnits / n,
    // Lambda waits out the reads: priced at DynamoDB's floor for them, not at DynamoDB Local's pace.
    coldLoadMsPerChunk:
      (largest.coldLoadMs - (largest.coldLoadInReadsMs ?? largest.coldLoadMs)) / n +
      (1000 * largest.coldLoadReadUnits) / PARTITION_RCU_PER_SECOND / n,
    heldBytesMeasuredAt: n,
    heldBytesPerChunk: largest.heldBytes / n,
    catchUpRcuPerChange: largest.catchUpReadUnits / largest.catchUpChunks,
    catchUpMsPerChange: largest.catchUpMs / largest.catchUpChunks,
  };
}
