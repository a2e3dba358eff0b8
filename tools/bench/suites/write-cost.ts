import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import definitions from '../../../infra/tables.json';
import { createLambdaContext } from '../../local/lambda-context';
import { type BenchContext, CREATED_AT } from '../context';
import { prefixOf, storedChunk } from '../data';
import { itemSize, writeUnits } from '../item-size';
import { itemOf } from '../load';
import { insertEvent, newChunks } from './batch-cost';

/** The non-key attributes filename-index carries as infra/tables.json defines it (undefined: ALL). */
function indexAttributes(): string[] | undefined {
  const projection = definitions.VectorEmbeddings.GlobalSecondaryIndexes[0]?.Projection as {
    ProjectionType: string;
    NonKeyAttributes?: string[];
  };
  return projection.ProjectionType === 'ALL' ? undefined : (projection.NonKeyAttributes ?? []);
}

/** The item a GSI stores for a table item: the table's and the index's keys plus the projected attributes. */
function indexItem(item: Record<string, unknown>, attributes: string[] | undefined): Record<string, unknown> {
  if (attributes === undefined) return item;
  const keep = ['bot_id', 'chunk_id', 'filename', ...attributes];
  return Object.fromEntries(Object.entries(item).filter(([name]) => keep.includes(name)));
}

/**
 * The full write cost of one chunk change: the client's write (table + filename-index as defined, and
 * what ALL would cost), computed from the item-size rules over 100 sample items and as DynamoDB Local
 * reported it for the 1k loads; then the stream handler's bookkeeping for a 100-record batch of one bot,
 * through the real handler on a metered client (write units by the rules, transactions, round trips).
 */
export async function writeCost(context: BenchContext): Promise<void> {
  const attributes = indexAttributes();
  for (const encoding of ['list', 'binary'] as const) {
    const botId = await context.loaded(1_000, encoding);
    const sample = prefixOf(context.dataset(1_000), 100);
    let bytes = 0;
    let units = 0;
    let indexUnits = 0;
    for (let row = 0; row < sample.count; row++) {
      const item = itemOf(storedChunk(sample, botId, row, CREATED_AT), encoding);
      const size = itemSize(item);
      bytes += size;
      units += writeUnits(size);
      indexUnits += writeUnits(itemSize(indexItem(item, attributes)));
    }
    const reported = context.loadOf(botId)?.reportedWriteUnits;
    context.results.writeCost.push({
      encoding,
      itemBytes: bytes / sample.count,
      computedUnits: {
        table: units / sample.count,
        index: indexUnits / sample.count,
        indexAll: units / sample.count,
      },
      reportedUnitsPerChunk: reported === undefined ? undefined : reported / 1_000,
    });
  }
  if (context.results.writeCost.some((row) => row.reportedUnitsPerChunk === undefined)) {
    context.note(
      'DynamoDB Local reported no ConsumedCapacity for some BatchWriteItem calls: those write costs are computed from item sizes only.',
    );
  }
  await bookkeeping(context);
}

async function bookkeeping(context: BenchContext): Promise<void> {
  const { base, streamSync: handler } = context.env;
  let requests = 0;
  let transactions = 0;
  let ruleUnits = 0;
  // Every request the handler's client sends; items under 1 KB (claims, bot and document items): 1 WCU a
  // written item, 2 inside TransactWriteItems.
  base.dynamodb.middlewareStack.add(
    (next, command) => async (args) => {
      requests += 1;
      const input = args.input as { TransactItems?: unknown[] };
      if (command.commandName === 'TransactWriteItemsCommand') {
        transactions += 1;
        ruleUnits += 2 * (input.TransactItems?.length ?? 0);
      } else if (/^(Put|Update|Delete)ItemCommand$/.test(command.commandName ?? '')) {
        ruleUnits += 1;
      }
      return next(args);
    },
    { step: 'initialize', name: 'benchBookkeepingMeter' },
  );
  const table = await context.env.dynamodb.send(
    new DescribeTableCommand({ TableName: context.env.config.tables.vectorEmbeddings }),
  );
  const streamArn = table.Table?.LatestStreamArn ?? 'unknown';
  for (const documents of [1, 4, 100]) {
    const botId = `bench-bookkeeping-${documents}-${Date.now()}`;
    const chunks = newChunks(context, botId, 0).map((chunk, i) => ({
      ...chunk,
      filename: `doc-${i % documents}.pdf`,
    }));
    requests = 0;
    transactions = 0;
    ruleUnits = 0;
    const started = performance.now();
    const response = await handler(
      insertEvent(chunks, streamArn),
      createLambdaContext({ functionName: 'streamSync', region: 'us-east-1', timeoutSeconds: 60 }),
    );
    const handlerMs = performance.now() - started;
    if (response.batchItemFailures.length > 0) throw new Error('the stream handler failed records');
    context.results.bookkeeping.push({
      documents,
      records: chunks.length,
      ruleWriteUnits: ruleUnits,
      transactions,
      roundTrips: requests,
      handlerMs,
    });
    context.progress.note(
      `stream bookkeeping, ${documents} document(s): ${ruleUnits} WCU, ${requests} round trips per 100 records`,
    );
  }
}
