import type { SnapshotStore } from '../../src/snapshot';
import { type BenchDataset, storedChunk } from './data';

/**
 * Publishes a bot's snapshot straight from generated rows through the store's own rebuild protocol
 * (beginRebuild, commitRebuild), as a search that missed would, without reading DynamoDB: at 100k chunks
 * the bench builds snapshots this way instead of writing 100k items to DynamoDB Local first.
 * @throws Error when the store refuses the rebuild.
 */
export async function buildSnapshot(
  store: SnapshotStore,
  botId: string,
  dataset: BenchDataset,
  createdAt: string,
): Promise<void> {
  const chunks = Array.from({ length: dataset.count }, (_, row) =>
    storedChunk(dataset, botId, row, createdAt),
  );
  const byId = new Map(chunks.map((chunk) => [chunk.chunk_id, chunk]));
  const ticket = await store.beginRebuild(botId, 0);
  if (ticket === null) throw new Error(`could not start a snapshot rebuild of ${botId}`);
  // Nothing else writes this bot, so no chunk should need a re-read; answer from the same rows if asked.
  const published = await store.commitRebuild(ticket, chunks, async (ids) =>
    ids.flatMap((id) => {
      const chunk = byId.get(id);
      return chunk === undefined ? [] : [chunk];
    }),
  );
  if (!published) throw new Error(`the snapshot rebuild of ${botId} gave up`);
}
