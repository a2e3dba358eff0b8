import type { CostTable as Table } from './cost/table';
import { bytes, count } from './format';
import type { BenchResults } from './results';

/* The write side of the report: write units per chunk change, stream bookkeeping, batch cost. */

export function writeCostTable(results: BenchResults): Table {
  // The stream's bookkeeping per chunk change, from the one-document batch (the usual shape of an upload).
  const perChunk = (() => {
    const row = results.bookkeeping.find((b) => b.documents === 1) ?? results.bookkeeping[0];
    return row === undefined ? undefined : row.ruleWriteUnits / row.records;
  })();
  const total = (table: number, index: number) =>
    perChunk === undefined ? String(table + index) : (table + index + perChunk).toFixed(2);
  return {
    title: 'Write cost of one chunk change (client write + stream bookkeeping)',
    header: [
      'encoding',
      'item bytes',
      'WCU table',
      'WCU filename-index',
      'WCU stream bookkeeping',
      'WCU total',
      'total with index ALL',
      'reported by DynamoDB Local (client write)',
    ],
    rows: results.writeCost.map((row) => [
      row.encoding === 'list' ? 'List<Number> (design)' : 'packed float32 Binary',
      String(Math.round(row.itemBytes)),
      String(row.computedUnits.table),
      String(row.computedUnits.index),
      perChunk === undefined ? 'not measured' : perChunk.toFixed(2),
      total(row.computedUnits.table, row.computedUnits.index),
      total(row.computedUnits.table, row.computedUnits.indexAll),
      row.reportedUnitsPerChunk === undefined ? 'not reported' : row.reportedUnitsPerChunk.toFixed(2),
    ]),
    footnote:
      'Computed with DynamoDB item-size rules (1 WCU per started KB per write). filename-index as infra/tables.json ' +
      'defines it (INCLUDE: keys, chunk_index, file_size, created_at); ALL writes the whole item again. Stream ' +
      "bookkeeping: the record's share of its claim item (one per bot and creation second) and of the bot and " +
      'document updates, all inside ' +
      'TransactWriteItems (2 WCU per item under 1 KB), from a 100-record batch of one document (next table). ' +
      'An overwrite is charged on the larger of the old and new item.',
  };
}

export function bookkeepingTable(results: BenchResults): Table {
  // The client's write of a packed-Binary chunk (table + filename-index), to state each batch shape all in.
  const binary = results.writeCost.find((row) => row.encoding === 'binary');
  const client = binary === undefined ? undefined : binary.computedUnits.table + binary.computedUnits.index;
  return {
    title: 'Stream bookkeeping of one 100-record batch of one bot (handlers/stream-sync.ts)',
    header: [
      'documents',
      'records',
      'transactions',
      'round trips',
      'WCU (rules)',
      'WCU per record',
      'WCU per chunk change, all in (packed Binary)',
    ],
    rows: results.bookkeeping.map((row) => [
      String(row.documents),
      String(row.records),
      String(row.transactions),
      String(row.roundTrips),
      String(row.ruleWriteUnits),
      (row.ruleWriteUnits / row.records).toFixed(2),
      client === undefined ? 'not measured' : (client + row.ruleWriteUnits / row.records).toFixed(2),
    ]),
    footnote:
      "Round trips: GetItem of the bot, BatchGetItem of the records' claim items and of the documents, and " +
      'the transactions (at most 100 actions each: the bot, its documents, one claim item per creation second ' +
      'of its records). All in: the client write of an INSERT (table + filename-index, previous table) plus the ' +
      "record's bookkeeping. A claim item holding more than about 120 records (a bot changing more chunks " +
      'than that within one second) costs 1 WCU more per started KB on each later update.',
  };
}

export function batchCostTable(results: BenchResults): Table {
  return {
    title: 'Cost of one stream batch (handler writes, per batch)',
    header: [
      'bot size',
      'records',
      'Redis bytes in',
      'per record',
      'DynamoDB write requests',
      'WCU by DynamoDB rules',
      'WCU reported by DynamoDB Local',
    ],
    rows: results.batchCost.map((row) => [
      count(row.botSize),
      String(row.records),
      bytes(row.redisBytesIn),
      bytes(Math.round(row.redisBytesIn / row.records)),
      String(row.writeRequests),
      String(row.ruleWriteUnits),
      row.dynamoWriteUnits === undefined ? 'not reported' : row.dynamoWriteUnits.toFixed(1),
    ]),
    footnote:
      '100 INSERTs (4 new documents of 25 chunks) into a bot whose snapshot is present, after one earlier batch; ' +
      "the bots' snapshots were published directly through the snapshot store's beginRebuild/commitRebuild " +
      'from the generated rows, not through 100k DynamoDB writes. ' +
      'Redis bytes: INFO stats total_net_input_bytes before and after the handler ran. WCU by the rules: 1 a written ' +
      'item under 1 KB, 2 inside TransactWriteItems; DynamoDB Local reports transactions differently.',
  };
}

export function aliasCostTable(results: BenchResults): Table {
  return {
    title: 'Aliases (PUT /aliases/{alias}, and resolving one on a read or search route)',
    header: ['operation', 'ms each', 'DynamoDB requests each', 'units each (by the rules)'],
    rows: (results.aliases ?? []).flatMap((row) => [
      ['create', row.createMs.toFixed(2), row.createRequests.toFixed(1), '2 RCU + 2 WCU'],
      ['move to another bot', row.moveMs.toFixed(2), row.moveRequests.toFixed(1), '2 RCU + 3 WCU'],
      ['remove', row.removeMs.toFixed(2), row.removeRequests.toFixed(1), '2 WCU'],
      ['resolve, not held', row.resolveMissMs.toFixed(2), row.resolveMissRequests.toFixed(1), '1 RCU'],
      [
        'resolve, held (within the 5 s TTL)',
        row.resolveHitMs.toFixed(3),
        row.resolveHitRequests.toFixed(1),
        '0',
      ],
    ]),
    footnote:
      'A write reads the alias name as a bot id (an alias may not shadow a bot) and the target bot, each a ' +
      'strongly consistent GetItem of an item under 4 KB (1 RCU), then one conditional PutItem of an item under ' +
      '1 KB (1 WCU) plus its bot-index entry (KEYS_ONLY: 1 WCU to create; a move changes the index key, a ' +
      'delete and a put: 2 WCU). A removal is one conditional DeleteItem (1 WCU) and its index entry (1 WCU). A lookup is one strongly consistent GetItem per name per container per TTL. ' +
      "Times are DynamoDB Local's.",
  };
}

export function metadataPatchTable(results: BenchResults): Table {
  return {
    title: 'Metadata patch of one document (PATCH /bots/{botId}/documents, packed Binary chunks)',
    header: [
      'chunks',
      'item bytes',
      'WCU per chunk updated',
      'ms per chunk updated',
      'stream ms per record',
      'Redis bytes per record',
    ],
    rows: (results.metadataPatch ?? []).map((row) => [
      String(row.chunks),
      String(Math.round(row.itemBytes)),
      row.writeUnitsPerChunk.toFixed(2),
      row.patchMsPerChunk.toFixed(2),
      row.streamMsPerRecord.toFixed(2),
      bytes(Math.round(row.redisBytesPerRecord)),
    ]),
    footnote:
      'One conditional UpdateItem per chunk sends only the metadata, but DynamoDB charges an update on the ' +
      'larger of the old and new item: a 384-d packed chunk costs what rewriting it would, without sending its ' +
      'embedding. filename-index does not project metadata, so it is not written. The stream handler applies ' +
      'the MODIFY records as row changes (no vector decoded or written, keyword index untouched) and counts ' +
      "them (no count moves); the bot has a snapshot. Times are DynamoDB Local's, which applies one write at a " +
      'time (16 UpdateItems in flight do not go faster than 4 there): they bound the use case, not DynamoDB.',
  };
}
