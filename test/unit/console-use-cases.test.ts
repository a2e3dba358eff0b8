import type { StoredChunk } from '../../src/domain/types';
import { ValidationError } from '../../src/errors';
import { documentChunks } from '../../src/use-cases/document-chunks';
import { listBots } from '../../src/use-cases/list-bots';
import { FakeBotRegistry, FakeChunkStore } from '../fixtures/fake-ports';
import { FakeSnapshotStore } from '../fixtures/fake-stream-ports';

describe('listing bots', () => {
  it("lists only the caller's bots, a page at a time, each with its snapshot state", async () => {
    const bots = new FakeBotRegistry(4);
    const snapshots = new FakeSnapshotStore();
    bots.add('a', { user_id: 'alice', snapshot_epoch: 2, total_chunks: 7 });
    bots.add('b', { user_id: 'alice', snapshot_epoch: 3 });
    bots.add('c', { user_id: 'alice' });
    bots.add('m', { user_id: 'bob' });
    bots.add('n');
    snapshots.publishEmpty('a', 2, 4);
    snapshots.publishEmpty('b', 1, 4);

    const first = await listBots({ bots, snapshots }, 'alice', { limit: 2 });
    expect(first.bots.map((bot) => [bot.bot_id, bot.snapshot, bot.total_chunks])).toEqual([
      ['a', 'current', 7],
      ['b', 'stale', 0],
    ]);
    expect(first.nextCursor).toBeDefined();
    const second = await listBots({ bots, snapshots }, 'alice', {
      limit: 2,
      cursor: first.nextCursor as string,
    });
    expect(second).toEqual({ bots: [expect.objectContaining({ bot_id: 'c', snapshot: 'absent' })] });
  });

  it('still lists when Redis fails or is not configured, naming the snapshots unavailable', async () => {
    const bots = new FakeBotRegistry(4);
    bots.add('a', { user_id: 'alice' });
    const snapshots = new FakeSnapshotStore();
    snapshots.fail = new Error('Connection is closed');
    expect((await listBots({ bots, snapshots }, 'alice', { limit: 5 })).bots[0]?.snapshot).toBe(
      'unavailable',
    );
    expect((await listBots({ bots, snapshots: null }, 'alice', { limit: 5 })).bots[0]?.snapshot).toBe(
      'unavailable',
    );
  });
});

describe("a document's chunks", () => {
  const chunk = (filename: string, index: number, id: string): StoredChunk => ({
    bot_id: 'bot',
    chunk_id: id,
    embedding: new Float32Array([index, 1]),
    text: `${filename} ${index}`,
    filename,
    file_size: 10,
    chunk_index: index,
    created_at: '2026-01-01T00:00:00.000Z',
    metadata: { n: index },
  });

  it('pages through them in chunk_index order, with vectors only when asked', async () => {
    const store = new FakeChunkStore();
    // Ids ordered against chunk_index, so id order would be the wrong order.
    await store.put([
      chunk('a.md', 0, 'z'),
      chunk('a.md', 1, 'y'),
      chunk('a.md', 2, 'x'),
      chunk('b.md', 0, 'w'),
    ]);
    const first = await documentChunks(store, 'bot', { filename: 'a.md', limit: 2, withVectors: false });
    expect(first.total).toBe(3);
    expect(first.chunks.map((c) => [c.chunk_index, c.text, c.metadata, c.vector])).toEqual([
      [0, 'a.md 0', { n: 0 }, undefined],
      [1, 'a.md 1', { n: 1 }, undefined],
    ]);
    const second = await documentChunks(store, 'bot', {
      filename: 'a.md',
      limit: 2,
      withVectors: true,
      cursor: first.nextCursor as string,
    });
    expect(second).toEqual({
      total: 3,
      chunks: [expect.objectContaining({ chunk_index: 2, vector: [2, 1] })],
    });
  });

  it('refuses a cursor it did not return', async () => {
    const request = { filename: 'a.md', limit: 2, withVectors: false, cursor: 'bm90IGEgY3Vyc29y' };
    await expect(documentChunks(new FakeChunkStore(), 'bot', request)).rejects.toThrow(ValidationError);
  });
});
