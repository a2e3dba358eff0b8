import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { FailedBatch } from '../../tools/local/stream-runner';
import {
  catalog,
  chunkStore,
  documents,
  expectMatchesTable,
  handler,
  makeChunk,
  rebuildSnapshot,
  registerBot,
  snapshots,
  startRunner,
  tables,
  useE2eWorld,
} from '../fixtures/e2e-world';
import { rng } from '../fixtures/random';

/** Real writes through the local stream runner (test/fixtures/e2e-world.ts), one shard as DynamoDB Local has it. */
useE2eWorld();

describe('stream sync end to end through the local stream runner', () => {
  it('keeps counts, documents and the snapshot equal to VectorEmbeddings for real writes', async () => {
    const runner = await startRunner(handler);
    try {
      const botId = await registerBot();
      expect(await rebuildSnapshot(botId)).toBe(true);
      const random = rng(7);
      const a = Array.from({ length: 12 }, (_, i) => makeChunk(botId, 'a.pdf', i, random));
      const b = Array.from({ length: 8 }, (_, i) => makeChunk(botId, 'b.pdf', i, random));
      await chunkStore.put([...a, ...b]);
      // Overwrite five chunks, move two to c.pdf (same chunk ids: MODIFY with a new filename), remove b.pdf.
      await chunkStore.put(a.slice(0, 5).map((c) => ({ ...c, text: `${c.text} v2`, metadata: { rev: 2 } })));
      await chunkStore.put(a.slice(5, 7).map((c) => ({ ...c, filename: 'c.pdf' })));
      await chunkStore.delete(
        botId,
        b.map((c) => c.chunk_id),
      );

      await runner.drain(30_000);

      expect(await expectMatchesTable(botId)).toBe('snapshot current');
      const listed = (await catalog.list(botId)).documents.map((d) => [d.filename, d.chunk_count]);
      expect(listed).toEqual([
        ['a.pdf', 10],
        ['c.pdf', 2],
      ]);
    } finally {
      await runner.stop();
    }
  });

  it('counts a chunk with a malformed embedding once, keeps it out of the snapshot and never retries it', async () => {
    const failed: FailedBatch[] = [];
    const runner = await startRunner(handler, {
      maximumRetryAttempts: 2,
      onFailure: (batch) => {
        failed.push(batch);
      },
    });
    try {
      const botId = await registerBot();
      expect(await rebuildSnapshot(botId)).toBe(true);
      const random = rng(11);
      const good = Array.from({ length: 6 }, (_, i) => makeChunk(botId, 'a.pdf', i, random));
      await chunkStore.put(good.slice(0, 3));
      // Written around the write path's validation: 5 bytes are not a float32 vector.
      await documents.send(
        new PutCommand({
          TableName: tables.vectorEmbeddings,
          Item: {
            bot_id: botId,
            chunk_id: 'bad.pdf#0',
            filename: 'bad.pdf',
            chunk_index: 0,
            text: 'unreadable',
            file_size: 10,
            created_at: new Date().toISOString(),
            metadata: { note: 'x' },
            embedding: new Uint8Array([1, 2, 3, 4, 5]),
          },
        }),
      );
      await chunkStore.put(good.slice(3));
      await runner.drain(30_000);

      // A retry could never make it servable: it is not reported, so nothing reaches the on-failure destination.
      expect(failed).toEqual([]);
      expect(runner.stats()).toMatchObject({ failedBatches: 0, failedRecords: 0 });
      const { Item: bot } = await documents.send(
        new GetCommand({ TableName: tables.botCollections, Key: { bot_id: botId }, ConsistentRead: true }),
      );
      // The chunk exists in VectorEmbeddings, so it counts; every record counted once despite the retries.
      expect(bot).toMatchObject({ total_chunks: 7, total_documents: 2 });
      const listed = (await catalog.list(botId)).documents.map((d) => [d.filename, d.chunk_count]);
      expect(listed).toEqual([
        ['a.pdf', 6],
        ['bad.pdf', 1],
      ]);
      expect((await snapshots.read(botId))?.rows.map((r) => r.chunk_id).sort()).toEqual(
        good.map((c) => c.chunk_id).sort(),
      );

      // The shard is not blocked: a later write still arrives.
      await chunkStore.put([makeChunk(botId, 'c.pdf', 0, random)]);
      await runner.drain(30_000);
      const { Item: after } = await documents.send(
        new GetCommand({ TableName: tables.botCollections, Key: { bot_id: botId }, ConsistentRead: true }),
      );
      expect(after).toMatchObject({ total_chunks: 8, total_documents: 3 });
    } finally {
      await runner.stop();
    }
  });
});
