import type { MachineInfo } from './machine';
import type { LatencySummary } from './stats';

/** The search methods compared, in the order the tables list them. */
export const METHOD_KEYS = ['a', 'b-list', 'b-binary', 'c', 'c-stock', 'd', 'e', 'f'] as const;
export type MethodKey = (typeof METHOD_KEYS)[number];

export type MethodInfo = { label: string; what: string; color: string };

export const METHODS: Record<MethodKey, MethodInfo> = {
  a: {
    label: '(a) design Strategy 1',
    what: 'Query all items from DynamoDB Local (List<Number>), JS object per item, cosine, sort',
    color: '#d62728',
  },
  'b-list': {
    label: '(b) our DynamoDB fallback, List',
    what: 'our search with no snapshot: paginated projected Query, List<Number> embeddings',
    color: '#ff7f0e',
  },
  'b-binary': {
    label: '(b) our DynamoDB fallback, Binary',
    what: 'our search with no snapshot: paginated projected Query, packed float32 Binary embeddings',
    color: '#bcbd22',
  },
  c: {
    label: '(c) snapshot, cold',
    what: 'our search, empty process cache: read the Redis snapshot, decode, score, fetch texts',
    color: '#1f77b4',
  },
  'c-stock': {
    label: "(c') snapshot, cold, stock Redis",
    what: '(c) against a redis-server started without MALLOC_CONF',
    color: '#9467bd',
  },
  d: {
    label: '(d) snapshot, warm',
    what: 'our search, snapshot cached in process: version check, score, fetch texts',
    color: '#2ca02c',
  },
  e: {
    label: '(e) usearch exactSearch',
    what: 'usearch brute-force inner product over the same in-memory vectors, 1 thread, ids only',
    color: '#7f7f7f',
  },
  f: {
    label: '(f) LanceDB flat',
    what: 'LanceDB embedded, no index (exact scan), ids and texts, its own thread pool',
    color: '#8c564b',
  },
};

/** One method at one size: measured, or skipped with the reason. */
export type LatencyRow =
  | { method: MethodKey; n: number; summary: LatencySummary; recall: number; note?: string }
  | { method: MethodKey; n: number; skipped: string };

export type WriteCostRow = {
  encoding: 'list' | 'binary';
  /** Item size by DynamoDB's sizing rules, bytes (mean over the sample). */
  itemBytes: number;
  /** Write units per chunk by the rounding rules: table + filename-index (projection ALL). */
  computedUnits: { table: number; index: number };
  /** What DynamoDB Local reported through ReturnConsumedCapacity for BatchWriteItem, per chunk. */
  reportedUnitsPerChunk: number | undefined;
};

export type BatchCostRow = {
  botSize: number;
  records: number;
  redisBytesIn: number;
  /** As DynamoDB Local reported it. */
  dynamoWriteUnits: number | undefined;
  /** By DynamoDB's rules for the same requests. */
  ruleWriteUnits: number;
  writeRequests: number;
  note?: string;
};

export type FreshnessRow = {
  what: string;
  chunks: number;
  runs: number;
  p50Ms: number;
  p95Ms: number;
  note?: string;
};

/**
 * How a method's time splits between waiting on DynamoDB Local (its calls, from send to parsed response)
 * and everything else, measured within the same calls.
 */
export type DynamoShareRow = {
  method: MethodKey;
  n: number;
  calls: number;
  medianMs: number;
  medianDynamoMs: number;
};

/** One search feature at one size, against plain search in the same run. */
export type FeatureRow = {
  variant: string;
  n: number;
  summary: LatencySummary;
  /** Median over the unfiltered median. */
  ratio: number;
  /** Results the last timed search returned (a filter's `limit` is met whatever its selectivity). */
  results: number;
};

export type MemoryRow = { n: number; idleRssMiB: number; peakRssMiB: number; note?: string };

export type BenchResults = {
  machine: MachineInfo;
  mode: 'quick' | 'full';
  /** The command line that produced the results. */
  command: string;
  dimension: number;
  queries: number;
  k: number;
  totalSeconds: number;
  latency: LatencyRow[];
  dynamoShare: DynamoShareRow[];
  writeCost: WriteCostRow[];
  batchCost: BatchCostRow[];
  freshness: FreshnessRow[];
  memory: MemoryRow[];
  features: FeatureRow[];
  /** Anything a reader should know about this run (skips, fallbacks, what was not measured). */
  notes: string[];
};
