import { PARTITION_RCU_PER_SECOND } from './cost/model';
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
      'of it in DynamoDB Local reads ms',
      'cold load RCU',
      'cold load floor on DynamoDB s',
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
      row.coldLoadInReadsMs === undefined ? '–' : row.coldLoadInReadsMs.toFixed(0),
      row.coldLoadReadUnits.toFixed(1),
      (row.coldLoadReadUnits / PARTITION_RCU_PER_SECOND).toFixed(1),
      row.tableSearchMs === undefined ? '–' : row.tableSearchMs.toFixed(0),
      row.warmMedianMs.toFixed(3),
      row.redisWarmMedianMs.toFixed(3),
      row.warmReadUnitsPerSearch.toFixed(1),
      row.catchUpMs.toFixed(0),
      row.catchUpReadUnits.toFixed(1),
    ]),
    footnote:
      'Packed Binary chunks of 384 dimensions. The cold load reads the bot item and the bot in 8 chunk-id ranges at ' +
      'once (strongly consistent); "in DynamoDB Local reads" is the wall time with at least one of those reads in ' +
      "flight (DynamoDB Local serving pages, the loopback transfer, the SDK's parsing), the rest is ours (decoding " +
      'the embeddings into the held copy). DynamoDB Local serves a bot in one process and slows more than ' +
      'linearly with its size (compare the search reading DynamoDB, one sequential Query of the same items, ' +
      'timed up to 10k chunks); on ' +
      `DynamoDB one partition serves at most ${PARTITION_RCU_PER_SECOND.toLocaleString('en-US')} read units a ` +
      'second, so the floor column (cold load RCU over that rate) is the least a cold load takes there. A warm ' +
      'search checks the held copy against the data_version of the bot item the caller read for authorization, ' +
      'so it reads nothing more (the held copy keeps the texts its whole read brought). A catch-up reads the change log item of each version since the held one and ' +
      'the changed chunks (BatchGetItem). The two warm searches run over the same 30 queries, alternating query ' +
      'by query, both scored by the native int8 scan, as a deployed search container scores.',
  };
}

/** A bot larger than the container's snapshot budget, beside the same bot held (same run, same queries). */
export function memoryBudgetTable(results: BenchResults): Table {
  const rows = (results.memoryMode ?? []).flatMap((row) =>
    row.overBudget === undefined
      ? []
      : [
          [
            count(row.n),
            (row.heldBytes / 2 ** 20).toFixed(1),
            (row.overBudget.budgetBytes / 2 ** 20).toFixed(1),
            String(row.overBudget.searches),
            row.overBudget.medianMs.toFixed(0),
            row.warmMedianMs.toFixed(3),
            `${(row.overBudget.medianMs / row.warmMedianMs).toFixed(0)}x`,
            row.overBudget.readUnitsPerSearch.toFixed(1),
            row.overBudget.recall.toFixed(3),
          ],
        ],
  );
  return {
    title: "Memory mode: a bot larger than the container's snapshot budget",
    header: [
      'chunks',
      'held copy MiB',
      'budget MiB',
      'searches',
      'search ms (median)',
      'held warm ms (median)',
      'slower than held',
      'RCU per search',
      'recall@10',
    ],
    rows,
    footnote:
      "A container whose snapshot budget is half the bot's held copy (the default budget is 512 MiB) reads the " +
      'bot whole for every search, answers it exactly from what it read, and keeps nothing: each search costs a ' +
      'cold load, in time and read units (timed up to 10k chunks; above, a whole read takes minutes on DynamoDB ' +
      'Local, and the cold load column is what such a search costs). Recall against the exact top 10 of the ' +
      'generated vectors.',
  };
}
