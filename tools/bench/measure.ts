import type { SearchMethod } from './methods/method';

/** Wall-clock latencies of a method over a set of queries, with the answers kept for recall. */
export type Timing = { samplesMs: number[]; answers: string[][] };

/**
 * Runs `warmup` untimed queries, then times queries one at a time (query i mod queries.length), each
 * from call to resolved answer: at least `minRuns`, at most `runs`, and no more once the timed total
 * passed `budgetMs` (so a method that takes seconds a query does not hold the run for minutes).
 * `before` runs untimed before each query (a cold-cache method clears its cache there).
 */
export async function timeQueries(
  method: SearchMethod,
  queries: readonly Float32Array[],
  options: {
    runs: number;
    minRuns?: number;
    budgetMs?: number;
    warmup: number;
    k: number;
    before?: () => Promise<void> | void;
    onProgress?: (done: number, total: number) => void;
  },
): Promise<Timing> {
  const pick = (i: number) => queries[i % queries.length] as Float32Array;
  for (let i = 0; i < options.warmup; i++) {
    await options.before?.();
    await method.search(pick(i), options.k);
  }
  const samplesMs: number[] = [];
  const answers: string[][] = [];
  const minRuns = Math.min(options.minRuns ?? options.runs, options.runs);
  let spent = 0;
  for (let i = 0; i < options.runs; i++) {
    if (i >= minRuns && spent >= (options.budgetMs ?? Number.POSITIVE_INFINITY)) break;
    await options.before?.();
    const started = performance.now();
    const answer = await method.search(pick(i), options.k);
    const elapsed = performance.now() - started;
    spent += elapsed;
    samplesMs.push(elapsed);
    answers.push(answer);
    options.onProgress?.(i + 1, options.runs);
  }
  return { samplesMs, answers };
}
