import '../local/quiet-sdk-notice';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { latencyChart } from './chart';
import { BenchContext, DIMENSION, K, type SizeContext } from './context';
import { generateDataset, generateQueries } from './data';
import { startBenchEnvironment } from './environment';
import { count } from './format';
import { type BenchOptions, parseOptions, type Suite, USAGE } from './options';
import { stderrProgress } from './progress';
import { renderMarkdown, renderText } from './report';
import { exactTopK } from './stats';
import { aliasCost } from './suites/alias-cost';
import { batchCost } from './suites/batch-cost';
import { concurrency } from './suites/concurrency';
import { cost } from './suites/cost';
import { freshness } from './suites/freshness';
import { memory } from './suites/memory';
import { memoryMode } from './suites/memory-mode';
import { outage } from './suites/outage';
import { patchCost } from './suites/patch-cost';
import { deployedFeatures, searchFeatures } from './suites/search-features';
import { dynamoMethods, inMemoryMethods, millionMethods, snapshotMethods } from './suites/search-latency';
import { writeCost } from './suites/write-cost';

async function runSuites(context: BenchContext): Promise<void> {
  const { options, progress } = context;
  const queries = generateQueries({
    count: 0,
    dimension: DIMENSION,
    seed: options.seed,
    queries: options.queries,
  });
  const sizes = [...new Set([...options.sizes, ...options.dynamoSizes, ...options.listSizes])].sort(
    (a, b) => a - b,
  );
  const runs = (suite: Suite) => options.suites.includes(suite);
  // (a) and (b, List) above 1k (--list-10k) run last: see dynamoMethods.
  const deferred: SizeContext[] = [];
  for (const n of runs('latency') ? sizes : []) {
    const dataset = context.dataset(n);
    progress.note(`exact top-${K} of ${queries.length} queries over ${count(n)} chunks (the reference)`);
    const exact = queries.map((query) =>
      exactTopK(dataset.vectors, DIMENSION, query, K).map((row) => dataset.chunkIds[row] as string),
    );
    const size: SizeContext = { n, dataset, queries, exact };
    if (options.sizes.includes(n)) {
      await inMemoryMethods(context, size);
      await snapshotMethods(context, size);
    }
    if (options.dynamoSizes.includes(n) || options.listSizes.includes(n)) await dynamoMethods(context, size);
    if (options.listSizes.includes(n) && n > 1_000) deferred.push(size);
  }
  if (runs('write')) {
    await writeCost(context);
    await patchCost(context);
    await aliasCost(context);
  }
  // Memory before batch cost: both use the shared snapshots, and a stream batch changes them.
  if (runs('memory')) await memory(context, options.memorySizes);
  if (runs('batch')) await batchCost(context, options.batchCostSizes);
  if (runs('freshness')) await freshness(context, options.freshnessRuns);
  if (runs('features')) await searchFeatures(context, options.featureSizes);
  if (runs('memory-mode')) await memoryMode(context, options.memoryModeSizes);
  for (const size of deferred) await dynamoMethods(context, size, 'slow-list');
  // After latency (its search times) and batch cost (bytes a record sends to Redis), when they ran.
  if (runs('cost')) await cost(context, options.costSize);
  for (const n of options.millionSizes) {
    if (runs('latency')) {
      const dataset = context.dataset(n);
      progress.note(`exact top-${K} of ${queries.length} queries over ${count(n)} chunks (the reference)`);
      const exact = queries.map((query) =>
        exactTopK(dataset.vectors, DIMENSION, query, K).map((row) => dataset.chunkIds[row] as string),
      );
      await millionMethods(context, { n, dataset, queries, exact });
    }
    // The deployed path's vector, keyword and hybrid search of a bot this large, held whole.
    if (runs('features')) await deployedFeatures(context, n);
  }
  if (runs('concurrency')) await concurrency(context, options.concurrency.n, options.concurrency.containers);
  // Last: it kills the bench's redis-server.
  if (runs('outage')) await outage(context);
}

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const progress = stderrProgress();
  const started = performance.now();
  progress.note(`bench (${options.mode}): starting DynamoDB Local and redis-server`);
  const env = await startBenchEnvironment((m) => progress.note(m));
  const largest = Math.max(
    ...options.sizes,
    // The 1M-chunk bot serves the latency and features suites only.
    ...(options.suites.includes('latency') || options.suites.includes('features')
      ? options.millionSizes
      : []),
    ...options.dynamoSizes,
    ...options.listSizes,
    ...(options.suites.includes('features') ? options.featureSizes : []),
    ...(options.suites.includes('concurrency') ? [options.concurrency.n] : []),
    ...(options.suites.includes('cost') ? [options.costSize] : []),
    ...(options.suites.includes('memory-mode') ? options.memoryModeSizes : []),
  );
  progress.note(`generating ${count(largest)} chunks (${DIMENSION}-d, seed ${options.seed})`);
  const data = generateDataset({ count: largest, dimension: DIMENSION, seed: options.seed });
  const context = new BenchContext(options, progress, env, data);
  try {
    await runSuites(context);
  } finally {
    await env.close();
  }
  const { results } = context;
  results.totalSeconds = (performance.now() - started) / 1000;
  // Only --publish replaces the committed copies; an ordinary run must not leave the work tree dirty.
  const outDir = options.publish ? __dirname : join(__dirname, 'out');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.md'), renderMarkdown(results));
  const title = `Search latency against N (${results.mode} run, ${results.machine.date.slice(0, 10)})`;
  writeFileSync(join(outDir, 'latency.svg'), latencyChart(results.latency, title));
  process.stdout.write(`\n${renderText(results)}`);
  const where = relative(process.cwd(), outDir) || '.';
  progress.note(
    `wrote ${join(where, 'results.md')} and ${join(where, 'latency.svg')} in ${results.totalSeconds.toFixed(0)} s` +
      (options.publish ? '' : ' (npm run bench -- --publish refreshes the committed tools/bench/results.md)'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
