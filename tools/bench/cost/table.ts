import { count } from '../format';
import type { BenchResults, CostMode } from '../results';
import { DYNAMO_ROUND_TRIP_MS, itemReadUnits, LEVERS, type Lever, leverBill, leverUnits } from './levers';
import {
  CONTAINER_BUDGET_BYTES,
  dynamoOnlyBill,
  type ModeBill,
  memoryModeBill,
  monthlyFloor,
  nodeBill,
  perMillionSearches,
  serverlessBill,
  type Workload,
} from './model';

/** A table of the report (report.ts renders it as text and Markdown). */
export type CostTable = { title: string; header: string[]; rows: string[][]; footnote?: string };

const MODE_LABELS: Record<CostMode, string> = {
  serverless: 'this project, snapshot on ElastiCache Serverless (Valkey)',
  node: 'this project, snapshot on one ElastiCache node (Valkey, no replica)',
  memory: 'this project, memory mode (no Redis; each search container holds its bots)',
  dynamoOnly: 'this project without Redis (every search reads the bot from DynamoDB)',
  s3Vectors: 'Amazon S3 Vectors (store only)',
  turbopuffer: 'turbopuffer (Launch plan)',
  qdrant: 'Qdrant Cloud',
};

const dollars = (usd: number): string =>
  usd >= 100 ? `$${Math.round(usd).toLocaleString('en-US')}` : `$${usd.toFixed(2)}`;

/** The monthly bill of each reference workload, a row per mode (docs/cost.md explains the model). */
export function costTable(results: BenchResults): CostTable {
  const cost = results.cost;
  if (cost === undefined) return { title: 'Cost a month', header: [], rows: [] };
  const modes = Object.keys(MODE_LABELS) as CostMode[];
  const rows = modes.map((mode) => [
    MODE_LABELS[mode],
    ...cost.bills.map(({ modes: bills }) => {
      const bill = bills[mode];
      const total = bill.total === null ? 'no published rate' : dollars(bill.total);
      return bill.note === undefined ? total : `${total} (${bill.note})`;
    }),
  ]);
  // DynamoDB's vector index is approximate (TopK <= 100) and its units' price was not found: no dollars.
  rows.push(['DynamoDB vector index (approximate)', ...cost.bills.map(() => 'no published rate found')]);
  const u = cost.units;
  return {
    title: 'Cost a month of the reference workloads (USD, us-east-1, on-demand; tools/bench/prices.json)',
    header: ['mode', ...cost.bills.map(({ workload: w }) => w.name)],
    rows,
    footnote:
      'Workloads: (i) 5 bots of 2k chunks, 50k searches and 10k chunk changes a month; (ii) 1,000 bots of 10k ' +
      'chunks, 10M searches, 2M chunk changes; (iii) one bot of 1M chunks, 1M searches. Measured in this run: ' +
      `${u.redisBytesPerChunk.toFixed(0)} Redis bytes a chunk at ${cost.measuredAt.toLocaleString('en-US')} chunks ` +
      `(snapshot and keyword index, ${cost.keywordBytesPerChunk.toFixed(0)} of it the keyword index), ` +
      `${u.wcuPerChange.toFixed(2)} WCU a chunk change (batches of one document), ` +
      `${u.redisBytesInPerChange.toFixed(0)} bytes a stream record sends to Redis, ` +
      `${u.streamMsPerChange.toFixed(1)} ms of stream handler a record; search times from ${cost.searchTimesFrom} ` +
      `plus ${u.handlerOverheadMs} ms assumed per search for the handler's own work. ` +
      `${memoryModeAssumptions(results)} ` +
      "Prices marked 'not verified' " +
      'in prices.json are commonly published figures this project could not confirm (S3 Vectors: the per-TB query ' +
      'rate). S3 Vectors and turbopuffer answer approximately (ANN), this project exactly; S3 Vectors and the ' +
      'alternatives are priced for the store alone (no Lambda). turbopuffer: its per-GB rates were not captured, so ' +
      "only the plan's monthly minimum is shown. Qdrant Cloud: free while int8 vectors (about 550 bytes of RAM a " +
      'chunk) fit its one free 1 GB cluster, which pauses after 7 idle days; above that it is priced by its ' +
      'calculator, with no published rate.',
  };
}

/** How the memory mode's row is priced, with the units it was priced from. */
function memoryModeAssumptions(results: BenchResults): string {
  const m = results.cost?.units.memoryMode;
  if (m === undefined) return '';
  return (
    `Memory mode, measured at ${m.measuredAt.toLocaleString('en-US')} chunks (memory-mode suite): ` +
    `${m.coldLoadRcuPerChunk.toFixed(3)} RCU and ${m.coldLoadMsPerChunk.toFixed(3)} ms a chunk for a cold load ` +
    "(the time with no read in flight, plus DynamoDB's floor for its reads at 3,000 RCU/s a partition; " +
    "DynamoDB Local's own pace is not priced), " +
    `${m.heldBytesPerChunk.toFixed(0)} bytes a chunk held against the ` +
    `${CONTAINER_BUDGET_BYTES / 2 ** 20} MiB budget (at ${m.heldBytesMeasuredAt.toLocaleString('en-US')} chunks, texts ` +
    `included), ${m.catchUpRcuPerChange.toFixed(2)} RCU a changed chunk to ` +
    'catch a held copy up; a warm search reads only the bot item and takes the ' +
    "Redis mode's warm time (d) (the memory-mode table compares the two in one run). Assumed: one search " +
    'container at a time, replaced once an hour, so each searched bot is loaded once an hour (at most 730 ' +
    'cold loads a bot a month); searches spread evenly over the bots, so when fewer bots fit the budget than ' +
    'there are, a search finds its bot held only in that share and otherwise reads it whole; each change is ' +
    'caught up by one held copy. More concurrent containers multiply the cold loads.'
  );
}

const DEPLOY_MODES: { mode: string; bill: ModeBill }[] = [
  { mode: '`none` (every search reads the bot from DynamoDB)', bill: dynamoOnlyBill },
  { mode: '`none` with `snapshots=memory`', bill: memoryModeBill },
  { mode: '`create` (ElastiCache Serverless, Valkey)', bill: serverlessBill },
  { mode: '`url` with one ElastiCache node (Valkey, no replica)', bill: nodeBill },
];

/** Bot sizes the cost of a million searches is given at. */
export const DEPLOY_MODE_BOT_SIZES = [1_000, 10_000, 100_000];

/** docs/deploy.md's modes by their cost: the monthly floor, and a million searches of one bot. */
export function deployModesTable(results: BenchResults): CostTable {
  const cost = results.cost;
  if (cost === undefined) return { title: 'Deploy modes', header: [], rows: [] };
  return {
    title: 'Deploy modes (docs/deploy.md): monthly floor and a million searches a month (USD, cost model)',
    header: [
      'mode',
      'monthly floor',
      ...DEPLOY_MODE_BOT_SIZES.map((n) => `a million searches of one ${count(n)}-chunk bot`),
    ],
    rows: DEPLOY_MODES.map(({ mode, bill }) => [
      mode,
      dollars(monthlyFloor(bill, cost.units)),
      ...DEPLOY_MODE_BOT_SIZES.map((n) => dollars(perMillionSearches(bill, cost.units, n))),
    ]),
    footnote:
      'From the cost model and the units of the table above. Monthly floor: the bill with nothing stored or ' +
      "searched (ElastiCache Serverless's 100 MB minimum, the smallest node). A million searches: what they add " +
      "to the bill of one bot of that size searched steadily all month, nothing changed (a node's price is in " +
      "the floor; the memory mode's cold loads of the month are in). The node row assumes the bot fits the " +
      'smallest node; `url` otherwise costs what your cache costs.',
  };
}

const LEVER_LABELS: Record<Lever, string> = {
  asBuilt: 'as built: float32 vectors, int8 codes, rows, texts and keyword index in Redis',
  float32Out: "float32 vectors out of Redis: a search reads its candidates' items from DynamoDB",
  textsOut: "texts out of Redis: a search reads its hits' items from DynamoDB",
  bothOut: "both out: a search reads its candidates' items from DynamoDB",
};

/**
 * docs/snapshot.md's levers priced from this run's units: the ElastiCache Serverless bill of each reference
 * workload with a part of the snapshot kept out of Redis and read from DynamoDB instead.
 */
export function leversTable(results: BenchResults): CostTable {
  const cost = results.cost;
  if (cost === undefined) return { title: 'Levers weighed', header: [], rows: [] };
  const { units, levers } = cost;
  const workloads = cost.bills.map(({ workload }) => workload);
  const rescored = levers.candidatesPerSearch
    .map(([chunks, rows]) => {
      const widened = levers.widenedShare.find(([at]) => at === chunks)?.[1] ?? 0;
      return `${rows.toFixed(1)} at ${count(chunks)} (${(100 * widened).toFixed(0)}% widened)`;
    })
    .join(', ');
  return {
    title:
      'Levers weighed (not built): the ElastiCache Serverless bill with a part of the snapshot kept out of Redis (USD a month, cost model)',
    header: ['snapshot', 'Redis bytes a chunk', ...workloads.map((w) => w.name)],
    rows: LEVERS.map((lever) => [
      LEVER_LABELS[lever],
      leverUnits(workloads[0] as Workload, units, levers, lever).redisBytesPerChunk.toFixed(0),
      ...workloads.map((workload) => {
        const reads = leverUnits(workload, units, levers, lever).rruPerSnapshotSearch;
        const total = leverBill(workload, units, levers, lever).total as number;
        return `${dollars(total)} (${reads.toFixed(0)} read unit${reads === 1 ? '' : 's'} a search)`;
      }),
    ]),
    footnote:
      `Measured in this run: at ${cost.measuredAt.toLocaleString('en-US')} chunks the float32 vectors take ` +
      `${levers.vectorBytesPerChunk.toFixed(0)} Redis bytes a chunk and the texts ${units.textBytesPerChunk.toFixed(0)}; ` +
      `a top-10 search re-scores from float32, after its int8 scan, ${rescored} rows on average (the cold ` +
      `search's re-score over ${levers.searches} queries at each workload's bot size, or the largest this run generated); ` +
      `a ${units.dynamoItemBytes.toFixed(0)}-byte item costs ${itemReadUnits(units)} read ` +
      'unit in a consistent BatchGetItem. ' +
      `Assumed: ${DYNAMO_ROUND_TRIP_MS} ms of DynamoDB round trip a search, on top of the handler's own time; ` +
      'every search reads its items (no container keeps them). Priced as the first row of the table above ' +
      "otherwise. What the bill leaves out: without float32 vectors in Redis, a small bot's held copy and " +
      "hybrid search's dense pass, which hold every vector, would read the bot whole from DynamoDB (the " +
      "memory mode's cold load); without texts, a keyword query on a bot whose keyword index Redis lost would " +
      'too.',
  };
}
