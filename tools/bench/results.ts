import type { LeverUnits } from './cost/levers';
import type { Bill, MeasuredUnits, Workload } from './cost/model';
import type { MachineInfo } from './machine';
import type { LatencySummary } from './stats';

/** The search methods compared, in the order the tables list them. */
export const METHOD_KEYS = [
  'a',
  'b-list',
  'b-binary',
  'c',
  'c-first',
  'c-stock',
  'r',
  'd',
  'e',
  'e-i8',
  'g',
  'g-js',
  'f',
] as const;
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
    what: "our search, empty process cache: read the int8 codes, scan, fetch the candidates' vectors and rows, re-score, fetch texts",
    color: '#1f77b4',
  },
  'c-first': {
    label: '(c1) snapshot, cold, first read at a version',
    what: '(c) with no kept visibility, as the first cold read after each change: the rows are read too, to learn which slots search hides, and kept for the next reader',
    color: '#17becf',
  },
  'c-stock': {
    label: "(c') snapshot, cold, stock Redis",
    what: '(c) against a redis-server started without MALLOC_CONF',
    color: '#9467bd',
  },
  r: {
    label: '(r) raw GET of the float32 vectors',
    what: "one ioredis getBuffer of the bot's float32 vectors stored as one string (a naive design's read); no search, so no recall",
    color: '#e377c2',
  },
  d: {
    label: '(d) snapshot, warm',
    what: 'our search, snapshot cached in process: score, then fetch the texts of the hits with the version check in the same round trip',
    color: '#2ca02c',
  },
  e: {
    label: '(e) usearch exactSearch',
    what: 'usearch brute-force inner product over the same in-memory vectors, 1 thread, ids only',
    color: '#7f7f7f',
  },
  'e-i8': {
    label: '(e, i8) usearch exactSearch, int8',
    what: 'usearch brute-force inner product over the int8 copy (g) scans, 1 thread, ids only, no re-score',
    color: '#bdbdbd',
  },
  g: {
    label: '(g) our scoring kernel',
    what: 'topKByDotProduct with the native int8 scan, exact float re-score and proof, in memory, ids only',
    color: '#17becf',
  },
  'g-js': {
    label: '(g, JS) our portable scoring loop',
    what: 'topKByDotProduct without the native kernel (the fallback), in memory, ids only',
    color: '#98df8a',
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
  /**
   * Write units per chunk by the rounding rules: the table, filename-index as infra/tables.json projects it
   * (INCLUDE by default), and what the design's ALL projection would cost instead.
   */
  computedUnits: { table: number; index: number; indexAll: number };
  /** What DynamoDB Local reported through ReturnConsumedCapacity for BatchWriteItem, per chunk. */
  reportedUnitsPerChunk: number | undefined;
};

/** The stream handler's bookkeeping for one 100-record batch of one bot, through the real handler. */
export type BookkeepingRow = {
  /** Documents the 100 INSERTs are spread over. */
  documents: number;
  records: number;
  /** Write units by DynamoDB's rules (2 per item inside TransactWriteItems), for the whole batch. */
  ruleWriteUnits: number;
  transactions: number;
  /** Every DynamoDB request the handler made for the batch (reads and writes). */
  roundTrips: number;
  /** How long the handler took for the batch (no snapshot cache involved), ms. */
  handlerMs: number;
};

/** The memory snapshot mode at one bot size: a container's cold load, its warm search, a catch-up. */
export type MemoryModeRow = {
  n: number;
  coldLoadMs: number;
  /** Read units DynamoDB Local reported for the cold load (the bot item and the ranged Queries). */
  coldLoadReadUnits: number;
  /** Wall time of the cold load with a read in flight (DynamoDB Local, the transfer, the SDK's parsing). */
  coldLoadInReadsMs?: number;
  /**
   * One search of the same bot with no snapshot at all (the DynamoDB read, one sequential Query); not
   * timed above `WHOLE_READS_MAX_CHUNKS`, where one more whole read takes minutes on DynamoDB Local.
   */
  tableSearchMs?: number;
  /** What the held copy counts against the container's budget (SnapshotCache.bytes). */
  heldBytes: number;
  warmMedianMs: number;
  /** Read units per warm search beyond the bot item the caller read (0: the version check is free). */
  warmReadUnitsPerSearch: number;
  /** The Redis mode's warm search over the same queries and size, in the same run. */
  redisWarmMedianMs: number;
  catchUpChunks: number;
  catchUpMs: number;
  /** Read units of the search that caught the held copy up: the change log and the changed chunks. */
  catchUpReadUnits: number;
  /** The same bot searched by a container whose budget is below its held bytes (up to `WHOLE_READS_MAX_CHUNKS`). */
  overBudget?: OverBudgetResult;
};

/** Searches of a bot larger than the container's snapshot budget (read whole, answered, not kept). */
export type OverBudgetResult = {
  /** The container's snapshot cache budget (half the bot's held bytes). */
  budgetBytes: number;
  searches: number;
  medianMs: number;
  readUnitsPerSearch: number;
  /** Against the exact top k of the generated vectors: 1 when every answer is exact. */
  recall: number;
};

/** `PUT /aliases/{alias}` creating and moving aliases, and resolving them (per write or lookup). */
export type AliasCostRow = {
  writes: number;
  createMs: number;
  createRequests: number;
  moveMs: number;
  moveRequests: number;
  /** A name the container has not read within the alias TTL: one read of BotAliases. */
  resolveMissMs: number;
  resolveMissRequests: number;
  /** A name read within the TTL: served from the container's cache. */
  resolveHitMs: number;
  resolveHitRequests: number;
  /** `DELETE /aliases/{alias}` of the caller's alias. */
  removeMs: number;
  removeRequests: number;
};

/** `PATCH /bots/{botId}/documents` of one document, and the stream batch of its MODIFY records. */
export type MetadataPatchRow = {
  chunks: number;
  /** The larger of the item before and after, on average (what DynamoDB charges an update on). */
  itemBytes: number;
  /** Write units per chunk by DynamoDB's rules (1 per started KB of that item). */
  writeUnitsPerChunk: number;
  /** The use case's time per chunk updated (documentChunkKeys, a consistent read, the lease, UpdateItems). */
  patchMsPerChunk: number;
  /** The stream handler's time per MODIFY record (counts, claims, snapshot row changes). */
  streamMsPerRecord: number;
  /** Bytes the handler sent to Redis per record (INFO stats total_net_input_bytes). */
  redisBytesPerRecord: number;
};

/** What the cost suite measured and the monthly bills it priced from it (docs/cost.md). */
export type CostResult = {
  /** The snapshot size the Redis bytes were measured at. */
  measuredAt: number;
  keywordBytesPerChunk: number;
  /**
   * The units the levers of docs/snapshot.md are priced from: the vector bytes at `measuredAt` chunks, the
   * re-score counts at each workload's bot size.
   */
  levers: LeverUnits & {
    /** Share of the searches whose proof asked the scan for more candidates: [chunks, share]. */
    widenedShare: [number, number][];
    /** Searches counted at each size. */
    searches: number;
  };
  searchTimesFrom: string;
  units: MeasuredUnits;
  bills: { workload: Workload; modes: Record<CostMode, Bill> }[];
};

export type CostMode =
  | 'serverless'
  | 'node'
  | 'memory'
  | 'dynamoOnly'
  | 's3Vectors'
  | 'turbopuffer'
  | 'qdrant';

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

/** How the scoring kernel's proof went over the timed queries of (g) at one size. */
export type KernelRow = {
  n: number;
  searches: number;
  /** Searches whose first candidate set could not be proved to hold the top k. */
  widened: number;
  /** Extra scans in all. */
  widenings: number;
  /** Searches that fell back to re-scoring every row. */
  exhaustive: number;
};

/** The stream pipeline with Redis up and with it killed (tools/bench/suites/outage.ts). */
export type OutageRow = {
  what: string;
  records: number;
  recordsPerSecond: number;
  /** Counts freshness per write. */
  p50Ms: number;
  p95Ms: number;
  /** Snapshot-store calls sent to Redis, and refused at once by the circuit breaker. */
  redisCallsSent: number;
  redisCallsRefused: number;
};

/** Cold containers starting together, each answering its first search (tools/bench/suites/concurrency.ts). */
export type ConcurrencyRow = {
  n: number;
  containers: number;
  /** Median Redis bytes one container read for its first answer. */
  bytesPerContainer: number;
  totalBytes: number;
  /** The bot's float32 vectors, what a container reading the whole snapshot would read at least. */
  vectorBytes: number;
  p50Ms: number;
  p99Ms: number;
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
  /** Hybrid on the native kernel: how often the fused top was proven from the vector head. */
  note?: string;
};

/** The snapshot keyword index's one-off build (per snapshot version, per warm container). */
export type KeywordIndexRow = {
  n: number;
  buildMs: number;
  heapBytesPerChunk: number;
  /** The Redis keyword index: its one-off build (after which the stream handler keeps it) and its size. */
  redisBuildMs?: number;
  /** The same build the way it ran before (per-entry Lua), in the same run. */
  redisPerEntryBuildMs?: number;
  redisBytesPerChunk?: number;
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
  bookkeeping: BookkeepingRow[];
  /** Absent from runs made before the suite measured it. */
  metadataPatch?: MetadataPatchRow[];
  aliases?: AliasCostRow[];
  /** The memory snapshot mode beside the Redis mode (--only=memory-mode); absent when that suite did not run. */
  memoryMode?: MemoryModeRow[];
  /** The bill of the reference workloads (--only=cost), absent when the cost suite did not run. */
  cost?: CostResult;
  batchCost: BatchCostRow[];
  freshness: FreshnessRow[];
  outage: OutageRow[];
  concurrency?: ConcurrencyRow[];
  memory: MemoryRow[];
  kernel: KernelRow[];
  features: FeatureRow[];
  keywordIndex?: KeywordIndexRow[];
  /** Anything a reader should know about this run (skips, fallbacks, what was not measured). */
  notes: string[];
};
