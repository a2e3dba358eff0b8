/** What one run of the benchmark measures, from its command-line flags. */
export const SUITES = [
  'latency',
  'write',
  'batch',
  'freshness',
  'memory',
  'outage',
  'features',
  'concurrency',
  'cost',
  'memory-mode',
] as const;
export type Suite = (typeof SUITES)[number];

export type BenchOptions = {
  mode: 'quick' | 'full';
  /** The flags as given. */
  argv: string[];
  /** The suites to run (all unless --only names some). */
  suites: Suite[];
  /** Sizes for the in-memory and Redis methods. */
  sizes: number[];
  /** --million: sizes timed by (e), (g), (c), (d) and the deployed features, with a snapshot built directly in Redis. */
  millionSizes: number[];
  /** Sizes loaded into DynamoDB Local (packed Binary). */
  dynamoSizes: number[];
  /** Sizes loaded into DynamoDB Local with List<Number> embeddings, for (a) and (b, List). */
  listSizes: number[];
  /** Sizes at which (c) is also timed against a stock redis-server (no MALLOC_CONF). */
  stockRedisSizes: number[];
  /** Distinct query vectors (timed queries cycle through them). */
  queries: number;
  runs: {
    inMemory: number;
    snapshotCold: number;
    snapshotWarm: number;
    dynamoBinary: number;
    dynamoList: number;
  };
  /** Sizes of the memory and stream-batch-cost suites. */
  memorySizes: number[];
  /**
   * Bot sizes of the memory-mode suite, loaded into DynamoDB Local. 100k only with --million: DynamoDB
   * Local's reads slow down more than linearly with a bot's size, so its cold load takes minutes there.
   */
  memoryModeSizes: number[];
  batchCostSizes: number[];
  /** Sizes of the search-features suite (filters, groups, MMR as ratios to plain search). */
  featureSizes: number[];
  /** The concurrency suite: the bot's size and how many cold containers start together. */
  concurrency: { n: number; containers: number[] };
  /** Snapshot size the cost suite measures Redis bytes at (its bill scales them to the workloads). */
  costSize: number;
  /** Timing of one method at one size stops after this much (once it has its minimum runs). */
  budgetMsPerMethod: number;
  freshnessRuns: number;
  seed: number;
  /** --publish: refresh the committed tools/bench/results.md and tools/bench/latency.svg instead of tools/bench/out/. */
  publish: boolean;
};

export const USAGE = `usage: npm run bench -- [--quick] [--list-10k] [--million] [--publish] [--only=latency,write,batch,freshness,memory,outage,features,concurrency,cost,memory-mode]
  --quick     smaller sizes and fewer queries (under two minutes)
  --only=...  run only the named suites (results.md then holds only their tables); cost prices the
              reference workloads of docs/cost.md from measured units and tools/bench/prices.json
  --million   also time (e), (g), (c) and (d) at 1M chunks (1.5 GB of vectors in the bench and in Redis
              each: run it once, on a machine with about 10 GB free), the deployed vector, keyword and
              hybrid search of a 1M-chunk bot held whole, and the memory mode's cold load of a
              100k-chunk bot (minutes on DynamoDB Local)
  --list-10k  also time (a) and (b, List) at 10k chunks: one run each, several minutes,
              all of it DynamoDB Local parsing List<Number> items
  --publish   write tools/bench/results.md and tools/bench/latency.svg (the committed copies); without it a run
              writes to tools/bench/out/ (git-ignored)`;

/** @throws Error naming an unknown flag. */
export function parseOptions(argv: string[]): BenchOptions {
  const flags = new Set(argv);
  let suites: Suite[] = [...SUITES];
  for (const flag of flags) {
    if (flag.startsWith('--only=')) {
      const named = flag.slice('--only='.length).split(',');
      const unknown = named.filter((name) => !(SUITES as readonly string[]).includes(name));
      if (unknown.length > 0 || named.length === 0) throw new Error(`unknown suite in ${flag}\n${USAGE}`);
      suites = named as Suite[];
      flags.delete(flag);
    } else if (flag !== '--quick' && flag !== '--list-10k' && flag !== '--publish' && flag !== '--million') {
      throw new Error(`unknown flag ${flag}\n${USAGE}`);
    }
  }
  const quick = flags.has('--quick');
  const publish = flags.has('--publish');
  const millionSizes = flags.has('--million') ? [1_000_000] : [];
  const listSizes = flags.has('--list-10k') ? [1_000, 10_000] : [1_000];
  if (quick) {
    return {
      mode: 'quick',
      argv,
      suites,
      sizes: [1_000, 10_000],
      millionSizes,
      dynamoSizes: [1_000],
      listSizes: [1_000],
      stockRedisSizes: [1_000],
      memorySizes: [10_000],
      memoryModeSizes: [1_000, 10_000, ...millionSizes.map(() => 100_000)],
      batchCostSizes: [1_000, 10_000],
      featureSizes: [10_000, 100_000],
      concurrency: { n: 20_000, containers: [1, 8, 32] },
      costSize: 10_000,
      queries: 20,
      runs: { inMemory: 40, snapshotCold: 8, snapshotWarm: 40, dynamoBinary: 5, dynamoList: 1 },
      budgetMsPerMethod: 3_000,
      freshnessRuns: 2,
      seed: 20_241_124,
      publish,
    };
  }
  return {
    mode: 'full',
    argv,
    suites,
    sizes: [1_000, 10_000, 100_000],
    millionSizes,
    dynamoSizes: [1_000, 10_000],
    listSizes,
    stockRedisSizes: [1_000, 10_000],
    memorySizes: [10_000, 100_000],
    memoryModeSizes: [1_000, 10_000, ...millionSizes.map(() => 100_000)],
    batchCostSizes: [1_000, 10_000, 100_000],
    featureSizes: [10_000, 100_000],
    concurrency: { n: 20_000, containers: [1, 16, 64] },
    costSize: 100_000,
    queries: 100,
    runs: { inMemory: 200, snapshotCold: 30, snapshotWarm: 200, dynamoBinary: 10, dynamoList: 5 },
    budgetMsPerMethod: 20_000,
    freshnessRuns: 6,
    seed: 20_241_124,
    publish,
  };
}
