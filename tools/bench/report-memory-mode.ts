import type { CostTable as Table } from './cost/table';
import { count } from './format';
import type { BenchResults } from './results';

/** The memory snapshot mode beside the Redis mode (tools/bench/suites/memory-mode.ts). */
export function memoryModeTable(results: BenchResults): Table {
  return {
    title: 'Memory snapshot mode (SNAPSHOT_MODE=memory) beside the Redis mode',
    header: [
      'chunks',
      'cold load ms',
      'cold load RCU',
      'search reading DynamoDB ms',
      'warm search ms (median)',
      'Redis warm ms (median)',
      'RCU per warm search',
      'catch-up after 100 changed chunks: ms',
      'catch-up RCU',
    ],
    rows: (results.memoryMode ?? []).map((row) => [
      count(row.n),
      row.coldLoadMs.toFixed(0),
      row.coldLoadReadUnits.toFixed(1),
      row.tableSearchMs.toFixed(0),
      row.warmMedianMs.toFixed(3),
      row.redisWarmMedianMs.toFixed(3),
      row.warmReadUnitsPerSearch.toFixed(1),
      row.catchUpMs.toFixed(0),
      row.catchUpReadUnits.toFixed(1),
    ]),
    footnote:
      'Packed Binary chunks of 384 dimensions. The cold load reads the bot item and the bot in 8 chunk-id ranges at ' +
      'once (strongly consistent); a warm search checks the held copy against the data_version of the bot item the ' +
      'caller read for authorization, so it reads nothing more; a catch-up reads the change log item of each version ' +
      "since the held one and the changed chunks (BatchGetItem). Times are DynamoDB Local's.",
  };
}
