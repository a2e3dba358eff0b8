import type { StoredChunk } from '../../src/domain/types';
import { DocumentBusyError } from '../../src/errors';
import { deleteBot } from '../../src/use-cases/delete-bot';
import { DEFAULT_LEASE_POLICY } from '../../src/use-cases/document-lease';
import { FakeBotRegistry, FakeChunkStore, FakeDocumentLeases } from '../fixtures/fake-ports';

/**
 * Deleting a bot fences its writes: it marks the bot `deleting` first, waits for every write that holds a
 * lease of one of its documents, and only then removes the chunks, so a write that was running when the
 * delete began cannot leave a chunk behind.
 */
function chunk(botId: string, i: number): StoredChunk {
  return {
    bot_id: botId,
    chunk_id: `c${i}`,
    embedding: Float32Array.from([1, i]),
    text: `t${i}`,
    filename: 'doc.md',
    file_size: 1,
    chunk_index: i,
    created_at: '',
    metadata: {},
  };
}

function world() {
  const chunks = new FakeChunkStore();
  const bots = new FakeBotRegistry(2);
  const leases = new FakeDocumentLeases();
  bots.add('b1', { user_id: 'alice' });
  return { chunks, bots, leases };
}

describe('deleteBot', () => {
  it('removes the chunks a write still running adds, by waiting for its lease before reading the keys', async () => {
    const { chunks, bots, leases } = world();
    await chunks.put([chunk('b1', 0)]);
    await leases.acquire('b1', 'doc.md', { request: 'writer', token: 'w' });
    const policy = {
      ...DEFAULT_LEASE_POLICY,
      // The running write lands its chunk and gives its lease back while the delete waits.
      sleep: async () => {
        expect(bots.bots.get('b1')?.status).toBe('deleting');
        await chunks.put([chunk('b1', 1)]);
        await leases.release('b1', 'doc.md', 'w');
      },
    };

    const result = await deleteBot({ chunks, bots, leases, leasePolicy: policy }, { bot_id: 'b1' });

    expect(result.deleted).toBe(2);
    expect(chunks.items.size).toBe(0);
    expect(bots.bots.get('b1')).toMatchObject({ status: 'deleted', snapshot_epoch: 1 });
  });

  it('answers DocumentBusyError while writes keep their leases, leaving the bot deleting; sent again, it finishes', async () => {
    const { chunks, bots, leases } = world();
    await chunks.put([chunk('b1', 0)]);
    await leases.acquire('b1', 'doc.md', { request: 'writer', token: 'w' });
    const policy = { ...DEFAULT_LEASE_POLICY, waitMs: 100, retryAfterSeconds: 3, sleep: async () => {} };

    const error = await deleteBot({ chunks, bots, leases, leasePolicy: policy }, { bot_id: 'b1' }).catch(
      (e) => e,
    );

    expect(error).toBeInstanceOf(DocumentBusyError);
    expect(error.retryAfterSeconds).toBe(3);
    expect(error.message).toMatch(/"doc\.md"/);
    expect(bots.bots.get('b1')?.status).toBe('deleting');
    expect(chunks.items.size).toBe(1);

    await leases.release('b1', 'doc.md', 'w');
    await deleteBot({ chunks, bots, leases, leasePolicy: policy }, { bot_id: 'b1' });
    expect(bots.bots.get('b1')?.status).toBe('deleted');
    expect(chunks.items.size).toBe(0);
  });
});
