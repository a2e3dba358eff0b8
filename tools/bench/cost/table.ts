import type { BenchResults, CostMode } from '../results';

/** A table of the report (report.ts renders it as text and Markdown). */
export type CostTable = { title: string; header: string[]; rows: string[][]; footnote?: string };

const MODE_LABELS: Record<CostMode, string> = {
  serverless: 'this project, snapshot on ElastiCache Serverless (Valkey)',
  node: 'this project, snapshot on one ElastiCache node (Valkey, no replica)',
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
      `plus ${u.handlerOverheadMs} ms assumed per search for the handler's own work. Prices marked 'not verified' ` +
      'in prices.json are commonly published figures this project could not confirm (S3 Vectors: the per-TB query ' +
      'rate). S3 Vectors and turbopuffer answer approximately (ANN), this project exactly; S3 Vectors and the ' +
      'alternatives are priced for the store alone (no Lambda). turbopuffer: its per-GB rates were not captured, so ' +
      "only the plan's monthly minimum is shown. Qdrant Cloud: free while int8 vectors (about 550 bytes of RAM a " +
      'chunk) fit its one free 1 GB cluster, which pauses after 7 idle days; above that it is priced by its ' +
      'calculator, with no published rate.',
  };
}
