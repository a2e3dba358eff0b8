import type { UpsertDocumentMessage } from '../../src/domain/ingestion-messages';
import type { BotCollection, StoredChunk } from '../../src/domain/types';
import { WriteIncompleteError } from '../../src/errors';
import type { DocumentLeases, LeaseHolder } from '../../src/ports';
import { type UpsertDocumentDeps, upsertDocument } from '../../src/use-cases/upsert-document';

/**
 * A replacement that DynamoDB stops halfway (throttling past the retries) reports the mixed state it
 * leaves, gives its lease back, and the same request sent again completes it exactly.
 */
const DIMENSION = 4;

function world(failPutAfter: number | undefined) {
  const items = new Map<string, StoredChunk>();
  let budget = failPutAfter;
  const held = new Map<string, LeaseHolder>();
  const leases: DocumentLeases = {
    async acquire(botId, filename, holder) {
      const key = `${botId}/${filename}`;
      const current = held.get(key);
      if (current !== undefined && current.request !== holder.request) return false;
      held.set(key, holder);
      return true;
    },
    async release(botId, filename, token) {
      if (held.get(`${botId}/${filename}`)?.token === token) held.delete(`${botId}/${filename}`);
    },
  };
  const bot: BotCollection = {
    bot_id: 'b1',
    user_id: 'u1',
    total_chunks: 0,
    total_documents: 0,
    embedding_dimension: DIMENSION,
    created_at: '',
    updated_at: '',
    status: 'active',
  };
  const deps: UpsertDocumentDeps = {
    bots: { get: async () => bot, ensure: async () => bot, reactivate: async () => false },
    chunks: {
      async put(chunks) {
        const unwritten: string[] = [];
        for (const chunk of chunks) {
          if (budget !== undefined && budget-- <= 0) unwritten.push(`${chunk.bot_id}/${chunk.chunk_id}`);
          else items.set(chunk.chunk_id, chunk);
        }
        budget = undefined;
        if (unwritten.length > 0) throw new WriteIncompleteError('left items unwritten', unwritten);
      },
      async delete(_botId, chunkIds) {
        for (const id of chunkIds) items.delete(id);
      },
      async documentChunkKeys(_botId, filename) {
        return [...items.values()]
          .filter((chunk) => chunk.filename === filename)
          .map((chunk) => ({ chunk_id: chunk.chunk_id, chunk_index: chunk.chunk_index }));
      },
    },
    leases,
    defaultEmbeddingDimension: DIMENSION,
    embeddingEncoding: 'binary',
  };
  const versions = () => [...new Set([...items.values()].map((chunk) => chunk.text.split(' ')[0]))].sort();
  return { deps, items, held, versions };
}

function version(tag: string, count: number): UpsertDocumentMessage {
  return {
    type: 'upsert_document',
    bot_id: 'b1',
    filename: 'doc.md',
    file_size: 1,
    created_at: '2026-01-01T00:00:00Z',
    chunks: Array.from({ length: count }, (_, i) => ({
      chunk_index: i,
      text: `${tag} ${i}`,
      embedding: [1, i, 0, 0],
      metadata: {},
    })),
  };
}

describe('a replacement stopped halfway by DynamoDB', () => {
  it('names the partly replaced document, frees its lease, and a resend ends as exactly the new version', async () => {
    const { deps, items, held, versions } = world(undefined);
    await upsertDocument(deps, version('old', 30));
    const failing = world(12);
    for (const [id, chunk] of items) failing.items.set(id, chunk);

    const error = await upsertDocument(failing.deps, version('new', 20)).catch((e) => e);

    expect(error).toBeInstanceOf(WriteIncompleteError);
    expect(error.message).toMatch(/"doc\.md" of bot b1 is only partly replaced/);
    expect(error.message).toMatch(/sent again/);
    expect(failing.versions()).toEqual(['new', 'old']);
    expect(failing.held.size).toBe(0);

    await upsertDocument(failing.deps, version('new', 20));

    expect(failing.versions()).toEqual(['new']);
    expect(failing.items.size).toBe(20);
    expect(held.size).toBe(0);
    expect(versions()).toEqual(['old']);
  });
});
