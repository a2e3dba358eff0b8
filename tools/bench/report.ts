import { type CostTable, costTable, deployModesTable, leversTable } from './cost/table';
import { count, markdownTable, ms, textTable, times } from './format';
import { memoryBudgetTable, memoryModeTable } from './report-memory-mode';
import {
  aliasCostTable,
  batchCostTable,
  bookkeepingTable,
  metadataPatchTable,
  writeCostTable,
} from './report-writes';
import { type BenchResults, type LatencyRow, METHOD_KEYS, METHODS } from './results';

type Table = CostTable;

function measured(rows: LatencyRow[], method: string, n: number) {
  const row = rows.find((r) => r.method === method && r.n === n);
  return row !== undefined && 'summary' in row ? row : undefined;
}

function latencyTable(results: BenchResults): Table {
  const rows: string[][] = [];
  const sizes = [...new Set(results.latency.map((r) => r.n))].sort((a, b) => a - b);
  for (const n of sizes) {
    for (const method of METHOD_KEYS) {
      const row = results.latency.find((r) => r.method === method && r.n === n);
      if (row === undefined) continue;
      const label = METHODS[method].label;
      if (!('summary' in row)) {
        rows.push([label, count(n), '–', '–', '–', '–', '–', '–', `skipped: ${row.skipped}`]);
        continue;
      }
      const baseline = measured(results.latency, 'a', n);
      const reference = measured(results.latency, 'e', n);
      rows.push([
        label,
        count(n),
        String(row.summary.samples),
        ms(row.summary.median),
        ms(row.summary.p95),
        baseline === undefined ? '–' : times(baseline.summary.median / row.summary.median),
        reference === undefined ? '–' : times(row.summary.median / reference.summary.median),
        row.recall.toFixed(3),
        row.note ?? '',
      ]);
    }
  }
  return {
    title: `Search latency (top-${results.k}, ${results.dimension}-d, one query at a time)`,
    header: [
      'method',
      'N',
      'runs',
      'median ms',
      'p95 ms',
      '(a) ÷ this',
      'this ÷ (e)',
      `recall@${results.k}`,
      '',
    ],
    rows,
    footnote:
      '(a) ÷ this: how many times faster than the design document baseline at the same N. ' +
      'this ÷ (e): how many times the time of a native brute-force scan over the same vectors.',
  };
}

function kernelTable(results: BenchResults): Table {
  return {
    title: 'Scoring kernel (g): how often the error bound had to widen the candidates',
    header: ['N', 'searches', 'widened', 'extra scans', 're-scored every row'],
    rows: results.kernel.map((row) => [
      count(row.n),
      String(row.searches),
      `${row.widened} (${((100 * row.widened) / Math.max(1, row.searches)).toFixed(1)}%)`,
      String(row.widenings),
      String(row.exhaustive),
    ]),
    footnote:
      'The int8 scan returns candidates; the bound (docs/api.md, "Scoring") proves no other row can enter the top k, ' +
      'or the scan is repeated with 4x the candidates. Every answer of (g) is exact (recall@10 = 1.000).',
  };
}

function dynamoShareTable(results: BenchResults): Table {
  return {
    title: 'Where the DynamoDB methods spend their time (same calls as the latency table)',
    header: ['method', 'N', 'searches', 'median ms', 'in DynamoDB Local calls ms', 'ours ms', 'ours %'],
    rows: results.dynamoShare.map((row) => [
      METHODS[row.method].label,
      count(row.n),
      String(row.calls),
      ms(row.medianMs),
      ms(row.medianDynamoMs),
      ms(row.medianMs - row.medianDynamoMs),
      `${(((row.medianMs - row.medianDynamoMs) / row.medianMs) * 100).toFixed(1)}%`,
    ]),
    footnote:
      'In DynamoDB Local calls: time from sending each Query / BatchGetItem to its parsed response, summed per ' +
      'search (DynamoDB Local serving the pages, loopback transfer, the SDK parsing and unmarshalling them). ' +
      'Ours: everything else in the search (decoding embeddings, scoring, sorting, building results). ' +
      'Medians of the same searches, warm-ups included.',
  };
}

function freshnessTable(results: BenchResults): Table {
  return {
    title:
      'Freshness: last BatchWrite returned -> counts, the Redis snapshot and a memory-mode search reflect it (local stream runner)',
    header: ['reflected in', 'chunks written', 'runs', 'p50 ms', 'p95 ms', ''],
    rows: results.freshness.map((row) => [
      row.what,
      String(row.chunks),
      String(row.runs),
      ms(row.p50Ms),
      ms(row.p95Ms),
      row.note ?? '',
    ]),
    footnote:
      'The same workload in both modes, their runs alternating (the mode that goes first swaps every run) so both see ' +
      "the same DynamoDB Local load and the same spread of the runner's batching window: a bot of 100 chunks gets 1,000 " +
      'new ones. Each mode has its own table, runner and bot, and a search container holding the bot that searches every ' +
      "10 ms, reading the bot's item as the HTTP handler does, until it answers from a held copy with all of them. Redis " +
      'mode: the stream handler writes the change into the shared snapshot and the container re-reads it at the new ' +
      "version. Memory mode (the handler wired with SNAPSHOT_MODE=memory): the handler moves the bot's data_version with " +
      'its change log, and the container catches up from that log. Counts: until BotCollections counts them (Redis mode).',
  };
}

function outageTable(results: BenchResults): Table {
  const up = results.outage[0]?.recordsPerSecond;
  return {
    title: 'Outage: the stream pipeline with Redis up and with redis-server killed (local stream runner)',
    header: [
      'Redis',
      'records',
      'records/s',
      'vs up',
      'counts p50 ms',
      'counts p95 ms',
      'Redis calls sent',
      'refused at once',
    ],
    rows: results.outage.map((row) => [
      row.what,
      String(row.records),
      row.recordsPerSecond.toFixed(0),
      up === undefined ? '' : `${(row.recordsPerSecond / up).toFixed(2)}x`,
      ms(row.p50Ms),
      ms(row.p95Ms),
      String(row.redisCallsSent),
      String(row.redisCallsRefused),
    ]),
    footnote:
      'The same workload twice (40 BatchWrites of 25 new chunks to 4 bots with current snapshots, back to back), after a warm-up; the ' +
      "second time the bench's redis-server was killed first and the run starts once the handler's circuit breaker " +
      'is open. Counts freshness: from a BatchWrite returning to BotCollections counting it. While Redis is down ' +
      'every snapshot is marked stale (snapshot_epoch + 1 in the counts transaction) instead of updated.',
  };
}

function concurrencyTable(results: BenchResults): Table {
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2);
  return {
    title: 'Concurrency: cold containers starting together, each answering its first search from Redis',
    header: [
      'chunks',
      'containers',
      'Redis MiB each',
      'Redis MiB in all',
      'vs float32 vectors',
      'first answer p50 ms',
      'p99 ms',
    ],
    rows: (results.concurrency ?? []).map((row) => [
      count(row.n),
      String(row.containers),
      mib(row.bytesPerContainer),
      mib(row.totalBytes),
      `${(row.bytesPerContainer / row.vectorBytes).toFixed(2)}x`,
      ms(row.p50Ms),
      ms(row.p99Ms),
    ]),
    footnote:
      "Each container has its own Redis connection, snapshot cache and native scan, as a Lambda container has; the bytes are its socket's bytes read for its first answer. " +
      "A cold container reads the int8 codes and its candidates' rows (a quarter of the float32 vectors and no row hash), " +
      'so N containers cost N quarter-reads; within one container, concurrent searches share one read.',
  };
}

function memoryTable(results: BenchResults): Table {
  return {
    title: 'Memory of the search path (a fresh child process, peak RSS)',
    header: ['N', 'RSS before first search MiB', 'peak RSS MiB', 'growth MiB', ''],
    rows: results.memory.map((row) => [
      count(row.n),
      row.idleRssMiB.toFixed(0),
      row.peakRssMiB.toFixed(0),
      (row.peakRssMiB - row.idleRssMiB).toFixed(0),
      row.note ?? '',
    ]),
  };
}

function keywordIndexTable(results: BenchResults): Table {
  return {
    title: 'Keyword index of a snapshot: in process, and in Redis',
    header: [
      'N',
      'in-process build ms',
      'heap bytes per chunk',
      'Redis build ms (bulk)',
      'per-entry Lua build ms',
      'per-entry / bulk',
      'Redis bytes per chunk',
    ],
    rows: (results.keywordIndex ?? []).map((row) => [
      count(row.n),
      ms(row.buildMs),
      row.heapBytesPerChunk.toFixed(0),
      row.redisBuildMs === undefined ? '–' : ms(row.redisBuildMs),
      row.redisPerEntryBuildMs === undefined ? '–' : ms(row.redisPerEntryBuildMs),
      row.redisBuildMs === undefined || row.redisPerEntryBuildMs === undefined
        ? '–'
        : `${(row.redisPerEntryBuildMs / row.redisBuildMs).toFixed(1)}×`,
      row.redisBytesPerChunk === undefined ? '–' : row.redisBytesPerChunk.toFixed(0),
    ]),
    footnote:
      "In process: built from the snapshot's own texts (read once per version, tokenised, postings made); " +
      'heap bytes include those texts. In Redis (docs/snapshot.md, "The keyword index"): packed postings by ' +
      'document number, chunk ids and lengths once per chunk, per-chunk term lists, by MEMORY USAGE of every ' +
      "key; built once, then kept by the stream handler in O(batch), and a query reads only its terms' " +
      'postings. Bulk: numbered and packed in process, written as whole hash fields (what every snapshot ' +
      'rebuild does); per entry: the same index built through stream updates of 500 new chunks each, timed ' +
      'in the same run on the same chunks.',
  };
}

function featuresTable(results: BenchResults): Table {
  return {
    title: `Search features against plain search (top-${results.k}, warm snapshot, in process)`,
    header: ['variant', 'N', 'median ms', 'p95 ms', 'x unfiltered', 'results', ''],
    rows: results.features.map((row) => [
      row.variant,
      count(row.n),
      ms(row.summary.median),
      ms(row.summary.p95),
      `${row.ratio.toFixed(2)}x`,
      String(row.results),
      row.note ?? '',
    ]),
    footnote:
      "The product's search use case over a snapshot already decoded in process, with an in-memory stand-in " +
      'for Redis (version check and texts answered at once), so the ratios show the work that differs: the ' +
      'filter mask (evaluated before top-k), scoring, grouping, MMR. Groups: limit counts groups. Rows ' +
      'marked "native" search with the kernel a deployed container builds (src/wiring/search-kernel.ts: ' +
      'the native int8 scan and dense float32 pass) and are divided by native unfiltered vector search; ' +
      'their note says ' +
      'how many hybrid answers were proven from the vector head, how many needed a wider head, and of ' +
      'those not proven, how many a dense pass answered (every row scored by the native float32 pass, ' +
      'within its bound) and how many scored every candidate. Rows "postings read from the Redis index" ' +
      "take the query terms' postings from the bot's keyword index in the bench's Redis, as a deployed " +
      'search does whenever the index is stored (every rebuild stores it): read once per term and ' +
      'snapshot version, then held with the copy (the note says for how many queries they were held; ' +
      "each query's text is two words of its topic's list, so terms recur); the other keyword and hybrid " +
      'rows score with the index built in process. The native ones among them run in a round robin of ' +
      'their own, divided by its own runs of native vector search. Rows marked "deployed" are the whole ' +
      "deployed path: the bench's shared snapshot and its keyword index in the bench's Redis, the copy " +
      'held warm in the search cache, every round trip paid (version checks, postings, texts), in a round ' +
      "robin of their own divided by its own vector search. Their container has the search function's " +
      'default 1,769 MB of memory up to 100k chunks; at 1M (--million, the deployed rows only) it has ' +
      '8,192 MB, whose snapshot budget holds the bot whole (docs/deploy.md, "Large bots").',
  };
}

/** Drops columns with neither a header nor any value (the note column when no row has a note). */
function withoutEmptyColumns(table: Table): Table {
  const keep = table.header.map((h, c) => h !== '' || table.rows.some((r) => (r[c] ?? '') !== ''));
  return {
    ...table,
    header: table.header.filter((_, c) => keep[c]),
    rows: table.rows.map((r) => r.filter((_, c) => keep[c])),
  };
}

function tables(results: BenchResults): Table[] {
  return [
    latencyTable(results),
    kernelTable(results),
    dynamoShareTable(results),
    writeCostTable(results),
    bookkeepingTable(results),
    metadataPatchTable(results),
    aliasCostTable(results),
    batchCostTable(results),
    freshnessTable(results),
    outageTable(results),
    concurrencyTable(results),
    memoryTable(results),
    memoryModeTable(results),
    memoryBudgetTable(results),
    featuresTable(results),
    keywordIndexTable(results),
    costTable(results),
    deployModesTable(results),
    leversTable(results),
  ]
    .filter((table) => table.rows.length > 0)
    .map(withoutEmptyColumns);
}

function machineLines(results: BenchResults): string[] {
  const m = results.machine;
  return [
    `date: ${m.date} (\`${results.command}\`, ${results.totalSeconds.toFixed(0)} s)`,
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB`,
    `Node ${m.node}; redis-server ${m.redisServer} with MALLOC_CONF=${m.redisMallocConf}`,
    `DynamoDB Local ${m.dynamoDbLocal} on ${m.java}`,
    `usearch ${m.usearch}; @lancedb/lancedb ${m.lancedb}`,
  ];
}

/** The results as plain text for the terminal. */
export function renderText(results: BenchResults): string {
  const parts = [machineLines(results).join('\n')];
  for (const table of tables(results)) {
    parts.push(`${table.title}\n${textTable(table.header, table.rows)}`);
  }
  if (results.notes.length > 0) parts.push(`Notes:\n${results.notes.map((n) => `- ${n}`).join('\n')}`);
  return `${parts.join('\n\n')}\n`;
}

/** Markdown would read `<Number>` as an HTML tag and drop it. */
function mdText(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The results as tools/bench/results.md. */
export function renderMarkdown(results: BenchResults): string {
  const parts = [
    '# Benchmark results',
    'Generated by `npm run bench` (do not edit by hand). How to run it and what each figure means: ' +
      '[docs/benchmark.md](../../docs/benchmark.md).',
    machineLines(results)
      .map((line) => `- ${line}`)
      .join('\n'),
    '![Search latency against N](latency.svg)',
  ];
  for (const table of tables(results)) {
    const header = table.header.map((h) => mdText(h === '' ? 'note' : h));
    const rows = table.rows.map((r) => r.map(mdText));
    parts.push(`## ${mdText(table.title)}\n\n${markdownTable(header, rows)}`);
    if (table.footnote !== undefined) parts.push(mdText(table.footnote));
  }
  const methods = METHOD_KEYS.filter((key) => results.latency.some((r) => r.method === key));
  if (methods.length > 0) {
    parts.push(
      `## Methods\n\n${methods.map((key) => `- **${mdText(METHODS[key].label)}**: ${mdText(METHODS[key].what)}`).join('\n')}`,
    );
  }
  if (results.notes.length > 0) {
    parts.push(`## Notes\n\n${results.notes.map((n) => `- ${mdText(n)}`).join('\n')}`);
  }
  return `${parts.join('\n\n')}\n`;
}
