import prices from '../prices.json';

/** One of the reference workloads of docs/cost.md: bots of equal size, a month of searches and changes. */
export type Workload = {
  name: string;
  bots: number;
  chunksPerBot: number;
  searchesPerMonth: number;
  chunkChangesPerMonth: number;
};

export const WORKLOADS: Workload[] = [
  {
    name: '(i) small app',
    bots: 5,
    chunksPerBot: 2_000,
    searchesPerMonth: 50_000,
    chunkChangesPerMonth: 10_000,
  },
  {
    name: '(ii) platform',
    bots: 1_000,
    chunksPerBot: 10_000,
    searchesPerMonth: 10_000_000,
    chunkChangesPerMonth: 2_000_000,
  },
  {
    name: '(iii) one big bot',
    bots: 1,
    chunksPerBot: 1_000_000,
    searchesPerMonth: 1_000_000,
    chunkChangesPerMonth: 0,
  },
];

/** What the bench measured (or, where named, took from the committed run), per unit of work. */
export type MeasuredUnits = {
  /** Redis bytes a chunk, all in: snapshot and keyword index (MEMORY USAGE). */
  redisBytesPerChunk: number;
  /** Redis bytes a chunk a cold load reads (the int8 codes it scans). */
  coldLoadBytesPerChunk: number;
  /** Bytes of a chunk's text in Redis: a search reads k of them. */
  textBytesPerChunk: number;
  /** Bytes a stream record sends to Redis. */
  redisBytesInPerChange: number;
  /** DynamoDB bytes a chunk: the table item and its filename-index item. */
  dynamoBytesPerChunk: number;
  /** DynamoDB item bytes a chunk (what a Query of the bot reads). */
  dynamoItemBytes: number;
  /** WCU a chunk change, all in (client write, index, stream bookkeeping), for batches of one document. */
  wcuPerChange: number;
  /** RRU of a search served from the snapshot (the bot's record, read strongly consistent). */
  rruPerSnapshotSearch: number;
  /** Milliseconds of a warm search from the snapshot at bot sizes: [chunks, ms], ascending. */
  warmSearchMs: [number, number][];
  /** Milliseconds of a search with no snapshot (the exact DynamoDB fallback): [chunks, ms], ascending. */
  fallbackSearchMs: [number, number][];
  /** Milliseconds every search spends besides scoring (the bot's record, auth, parsing, the texts' round trip). */
  handlerOverheadMs: number;
  /** Lambda milliseconds of the stream handler a record. */
  streamMsPerChange: number;
  /** The memory snapshot mode (SNAPSHOT_MODE=memory), from the memory-mode suite. */
  memoryMode: MemoryModeUnits;
};

/** What the memory-mode suite measured, per chunk of the largest bot it loaded. */
export type MemoryModeUnits = {
  /** The bot size the figures below were measured at. */
  measuredAt: number;
  /** RCU of a container's cold load (the bot item and the bot read whole, strongly consistent), a chunk. */
  coldLoadRcuPerChunk: number;
  /** Milliseconds of a cold load a chunk: decoding (measured) and DynamoDB's floor for the reads (3,000 RCU/s). */
  coldLoadMsPerChunk: number;
  /** The bot size the held bytes were measured at (the largest that holds its texts). */
  heldBytesMeasuredAt: number;
  /** Bytes a chunk of a held copy counts against the container's budget (SnapshotCache.bytes). */
  heldBytesPerChunk: number;
  /** RCU a held copy spends catching up, a changed chunk (its change log item and the chunk). */
  catchUpRcuPerChange: number;
  /** Milliseconds of that catch-up, a changed chunk. */
  catchUpMsPerChange: number;
};

/** The search container's snapshot budget (DEFAULT_SNAPSHOT_CACHE_BYTES, src/snapshot/cache.ts). */
export const CONTAINER_BUDGET_BYTES = 512 * 2 ** 20;
/** Read units a second one partition serves: all of a bot's items share one partition key. */
export const PARTITION_RCU_PER_SECOND = 3_000;
/** A search past this many seconds answers 503 (SEARCH_DEADLINE_MS). */
const SEARCH_DEADLINE_S = 24;
/** Memory of the functions (serverless.yml): httpSearch and streamSync. */
export const SEARCH_MEMORY_GB = 1769 / 1024;
export const STREAM_MEMORY_GB = 1024 / 1024;
/** Searches return k = 10 hits; every search also pays the handler's own work (auth, parsing, the bot's record). */
export const K = 10;
const HOURS_A_MONTH = 730;
const GIB = 2 ** 30;
const p = prices.prices;

/** Dollars a month by part; `note` says what a figure leaves out or assumes. */
export type Bill = { total: number | null; parts: Record<string, number>; note?: string };

/**
 * Milliseconds at `chunks` from measured points: linear between the two nearest, and beyond the ends in
 * proportion to the bot's size (the scan is linear in it).
 */
export function interpolateMs(points: readonly [number, number][], chunks: number): number {
  if (points.length === 0) throw new Error('no measured search times');
  const first = points[0] as [number, number];
  const last = points[points.length - 1] as [number, number];
  if (chunks <= first[0]) return (first[1] * chunks) / first[0];
  if (chunks >= last[0]) return (last[1] * chunks) / last[0];
  for (let i = 1; i < points.length; i++) {
    const [n1, ms1] = points[i] as [number, number];
    const [n0, ms0] = points[i - 1] as [number, number];
    if (chunks <= n1) return ms0 + ((ms1 - ms0) * (chunks - n0)) / (n1 - n0);
  }
  return last[1];
}

function dynamoAndLambda(
  w: Workload,
  u: MeasuredUnits,
  searchRru: number,
  searchMs: number,
): Record<string, number> {
  const storedGb = (w.bots * w.chunksPerBot * u.dynamoBytesPerChunk) / GIB;
  return {
    'DynamoDB storage':
      Math.max(0, storedGb - p.dynamodbStorageGbMonth.freeGb) * p.dynamodbStorageGbMonth.usd,
    'DynamoDB writes': w.chunkChangesPerMonth * u.wcuPerChange * p.dynamodbWriteRequestUnit.usd,
    'DynamoDB reads': w.searchesPerMonth * searchRru * p.dynamodbReadRequestUnit.usd,
    'Lambda search':
      w.searchesPerMonth *
      ((searchMs / 1000) * SEARCH_MEMORY_GB * p.lambdaGbSecond.usd + p.lambdaRequest.usd),
    'Lambda stream':
      w.chunkChangesPerMonth * (u.streamMsPerChange / 1000) * STREAM_MEMORY_GB * p.lambdaGbSecond.usd +
      (w.chunkChangesPerMonth / 100) * p.lambdaRequest.usd,
  };
}

const warmMs = (w: Workload, u: MeasuredUnits) =>
  u.handlerOverheadMs + interpolateMs(u.warmSearchMs, w.chunksPerBot);

/**
 * Cold loads a month (assumed): one search container at a time, replaced once an hour (Lambda recycles
 * containers), so a bot's snapshot is loaded at most once an hour it is searched.
 */
const coldLoads = (w: Workload) => w.bots * Math.min(w.searchesPerMonth / w.bots, HOURS_A_MONTH);

/** Redis data GB of the workload. */
export const redisGb = (w: Workload, u: MeasuredUnits) =>
  (w.bots * w.chunksPerBot * u.redisBytesPerChunk) / GIB;

/** This project with its snapshot on ElastiCache Serverless for Valkey. */
export function serverlessBill(w: Workload, u: MeasuredUnits): Bill {
  const gb = Math.max(redisGb(w, u), p.elasticacheServerlessValkeyGbHour.minimumGb);
  const ecpu =
    w.searchesPerMonth * (1 + (K * u.textBytesPerChunk) / 1024) +
    w.chunkChangesPerMonth * (u.redisBytesInPerChange / 1024) +
    coldLoads(w) * ((w.chunksPerBot * u.coldLoadBytesPerChunk) / 1024);
  const parts = {
    'Redis memory': gb * HOURS_A_MONTH * p.elasticacheServerlessValkeyGbHour.usd,
    'Redis requests': ecpu * p.elasticacheServerlessValkeyEcpu.usd,
    ...dynamoAndLambda(w, u, u.rruPerSnapshotSearch, warmMs(w, u)),
  };
  return { total: sum(parts), parts };
}

/** This project with its snapshot on the smallest on-demand ElastiCache node (no replica) that holds it. */
export function nodeBill(w: Workload, u: MeasuredUnits): Bill {
  const needGiB = redisGb(w, u);
  const nodes = p.elasticacheNodes.nodes;
  const largest = nodes[nodes.length - 1] as (typeof nodes)[number];
  const fit = nodes.find((node) => node.memoryGiB * 0.75 >= needGiB);
  const chosen = fit ?? largest;
  const count = fit === undefined ? Math.ceil(needGiB / (largest.memoryGiB * 0.75)) : 1;
  const parts = {
    'Redis memory': count * chosen.usdPerHour * HOURS_A_MONTH,
    ...dynamoAndLambda(w, u, u.rruPerSnapshotSearch, warmMs(w, u)),
  };
  return { total: sum(parts), parts, note: `${count} x ${chosen.type}` };
}

/**
 * This project in the memory mode (no Redis): each search container holds the bots it serves, loaded whole
 * from DynamoDB. As many bots as fit the container's budget are held (LRU); with searches spread evenly
 * over more bots than fit, a search finds its bot held only in the share that fits and otherwise reads it
 * whole; a bot larger than the budget is read whole by every search. A warm search reads nothing beyond
 * the bot's item, except k texts for bots too large to hold their texts; each chunk change costs the held
 * copy its catch-up (one container holding each bot, every change read once: at most).
 */
export function memoryModeBill(w: Workload, u: MeasuredUnits): Bill {
  const m = u.memoryMode;
  const heldBytes = w.chunksPerBot * m.heldBytesPerChunk;
  const fit = Math.floor(CONTAINER_BUDGET_BYTES / heldBytes);
  const heldShare = Math.min(1, fit / w.bots);
  const wholeReads = Math.max(coldLoads(w) * heldShare, w.searchesPerMonth * (1 - heldShare));
  const loadRcu = 1 + w.chunksPerBot * m.coldLoadRcuPerChunk;
  // Every search reads the bot's item and runs the handler; the held share also scores its held copy.
  const parts = dynamoAndLambda(
    w,
    u,
    u.rruPerSnapshotSearch,
    u.handlerOverheadMs + heldShare * interpolateMs(u.warmSearchMs, w.chunksPerBot),
  );
  parts['DynamoDB reads'] =
    (parts['DynamoDB reads'] ?? 0) +
    (wholeReads * loadRcu + w.chunkChangesPerMonth * m.catchUpRcuPerChange) * p.dynamodbReadRequestUnit.usd;
  parts['Lambda search'] =
    (parts['Lambda search'] ?? 0) +
    ((wholeReads * w.chunksPerBot * m.coldLoadMsPerChunk + w.chunkChangesPerMonth * m.catchUpMsPerChange) /
      1000) *
      SEARCH_MEMORY_GB *
      p.lambdaGbSecond.usd;
  const floorSeconds = loadRcu / PARTITION_RCU_PER_SECOND;
  const notes = [
    fit === 0
      ? 'over the 512 MiB budget: every search reads the bot'
      : fit < w.bots
        ? `${fit} of ${w.bots} bots fit a container: ${(100 * (1 - heldShare)).toFixed(0)}% of searches read their bot`
        : undefined,
    floorSeconds > SEARCH_DEADLINE_S
      ? `a whole read takes at least ${floorSeconds.toFixed(0)} s (3,000 RCU/s a partition), past the ${SEARCH_DEADLINE_S} s deadline`
      : undefined,
  ].filter((note): note is string => note !== undefined);
  return notes.length === 0
    ? { total: sum(parts), parts }
    : { total: sum(parts), parts, note: notes.join('; ') };
}

/** This project without Redis: every search reads the whole bot from DynamoDB (the exact fallback). */
export function dynamoOnlyBill(w: Workload, u: MeasuredUnits): Bill {
  // A strongly consistent Query is charged per 4 KB of the items it reads, summed over each page.
  const rru = Math.ceil((w.chunksPerBot * u.dynamoItemBytes) / 4096);
  const parts = dynamoAndLambda(
    w,
    u,
    u.rruPerSnapshotSearch + rru,
    u.handlerOverheadMs + interpolateMs(u.fallbackSearchMs, w.chunksPerBot),
  );
  return { total: sum(parts), parts };
}

/** Amazon S3 Vectors as the vector store (vector, key and text as metadata a chunk); store prices only. */
export function s3VectorsBill(w: Workload, u: MeasuredUnits): Bill {
  const bytesPerVector = 384 * 4 + 64 + u.textBytesPerChunk;
  const indexTb = (w.chunksPerBot * bytesPerVector) / 1e12;
  const parts = {
    storage: ((w.bots * w.chunksPerBot * bytesPerVector) / GIB) * p.s3VectorsStorageGbMonth.usd,
    writes: ((w.chunkChangesPerMonth * bytesPerVector) / GIB) * p.s3VectorsPutGb.usd,
    queries: w.searchesPerMonth * (p.s3VectorsQuery.usd + indexTb * p.s3VectorsQueryTb.usd),
  };
  return {
    total: sum(parts),
    parts,
    note: 'approximate; no keyword search',
  };
}

/** turbopuffer: its per-unit rates were not verified, so only its monthly minimum is shown. */
export function turbopufferBill(): Bill {
  return {
    total: p.turbopufferLaunchMinimumMonth.usd,
    parts: {},
    note: 'monthly minimum; usage rates not verified',
  };
}

/** Qdrant Cloud: free within its 1 GB cluster (int8 vectors in RAM, the rest on disk); no published rate above. */
export function qdrantBill(w: Workload): Bill {
  const ramGb = (w.bots * w.chunksPerBot * 550) / GIB;
  return ramGb <= p.qdrantCloudFreeTier.freeRamGb
    ? { total: 0, parts: {}, note: 'free 1 GB cluster' }
    : { total: null, parts: {}, note: `${ramGb.toFixed(1)} GB of RAM` };
}

function sum(parts: Record<string, number>): number {
  return Object.values(parts).reduce((a, b) => a + b, 0);
}

/** A bill of one of this project's modes. */
export type ModeBill = (w: Workload, u: MeasuredUnits) => Bill;

/** What a mode costs a month with nothing stored and nothing searched (the bill of an empty workload). */
export function monthlyFloor(bill: ModeBill, u: MeasuredUnits): number {
  return bill({ name: 'empty', bots: 1, chunksPerBot: 0, searchesPerMonth: 0, chunkChangesPerMonth: 0 }, u)
    .total as number;
}

/**
 * What a million searches a month of one bot of `chunks` chunks add to a mode's bill (nothing changed):
 * the bill with them less the bill of the same bot unsearched, so a node's fixed price is left out and
 * the memory mode's cold loads of that month are in.
 */
export function perMillionSearches(bill: ModeBill, u: MeasuredUnits, chunks: number): number {
  const idle: Workload = {
    name: 'one bot',
    bots: 1,
    chunksPerBot: chunks,
    searchesPerMonth: 0,
    chunkChangesPerMonth: 0,
  };
  return (bill({ ...idle, searchesPerMonth: 1e6 }, u).total as number) - (bill(idle, u).total as number);
}
