import { type BenchContext, CREATED_AT } from '../context';
import { prefixOf, storedChunk } from '../data';
import { itemSize, writeUnits } from '../item-size';
import { itemOf } from '../load';

/**
 * Write capacity per chunk for each encoding: computed from the item-size rules over 100 sample items,
 * and as DynamoDB Local reported it (ReturnConsumedCapacity on the BatchWriteItem calls of ChunkStore.put
 * that loaded the 1k bots). The filename-index GSI projects ALL attributes, so each write is paid twice.
 */
export async function writeCost(context: BenchContext): Promise<void> {
  for (const encoding of ['list', 'binary'] as const) {
    const botId = await context.loaded(1_000, encoding);
    const sample = prefixOf(context.dataset(1_000), 100);
    let bytes = 0;
    let units = 0;
    for (let row = 0; row < sample.count; row++) {
      const size = itemSize(itemOf(storedChunk(sample, botId, row, CREATED_AT), encoding));
      bytes += size;
      units += writeUnits(size);
    }
    const reported = context.loadOf(botId)?.reportedWriteUnits;
    context.results.writeCost.push({
      encoding,
      itemBytes: bytes / sample.count,
      computedUnits: { table: units / sample.count, index: units / sample.count },
      reportedUnitsPerChunk: reported === undefined ? undefined : reported / 1_000,
    });
  }
  if (context.results.writeCost.some((row) => row.reportedUnitsPerChunk === undefined)) {
    context.note(
      'DynamoDB Local reported no ConsumedCapacity for some BatchWriteItem calls: those write costs are computed from item sizes only.',
    );
  }
}
