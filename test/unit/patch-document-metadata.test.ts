import type { StoredChunk } from '../../src/domain/types';
import { DocumentBusyError, NotFoundError, ValidationError } from '../../src/errors';
import { patchDocumentMetadata } from '../../src/use-cases/patch-document-metadata';
import { FakeBotRegistry, FakeChunkStore, FakeDocumentLeases } from '../fixtures/fake-ports';

/** patchDocumentMetadata over plain fakes of its ports. */
const BOT = 'bot-1';

function chunk(n: number, filename = 'a.md'): StoredChunk {
  return {
    bot_id: BOT,
    chunk_id: `${filename}#${n}`,
    embedding: new Float32Array([1, n, 0, 0]),
    text: `text ${n}`,
    filename,
    file_size: 10,
    chunk_index: n,
    created_at: '2026-01-01T00:00:00.000Z',
    metadata: { lang: 'en', n },
  };
}

async function world() {
  const bots = new FakeBotRegistry(4);
  bots.add(BOT);
  const chunks = new FakeChunkStore();
  await chunks.put([chunk(0), chunk(1), chunk(0, 'b.md')]);
  const leases = new FakeDocumentLeases();
  const deps = {
    bots,
    chunks,
    leases,
    embeddingEncoding: 'binary' as const,
    leasePolicy: { ttlMs: 1000, waitMs: 20, retryAfterSeconds: 1, sleep: async () => {} },
  };
  const metadataOf = (filename: string) =>
    chunks.chunksOf(BOT).flatMap((c) => (c.filename === filename ? [c.metadata] : []));
  return { deps, chunks, leases, metadataOf };
}

const request = (
  metadata: Record<string, unknown>,
  mode: 'merge' | 'replace' = 'merge',
  filename = 'a.md',
) => ({
  bot_id: BOT,
  filename,
  metadata,
  mode,
});

describe('patchDocumentMetadata', () => {
  it('merges top-level keys into every chunk of the document and no other', async () => {
    const { deps, metadataOf, leases } = await world();
    const result = await patchDocumentMetadata(deps, request({ lang: 'fr', tag: ['x'] }));
    expect(result).toEqual({ bot_id: BOT, filename: 'a.md', chunks_updated: 2 });
    expect(metadataOf('a.md')).toEqual([
      { lang: 'fr', n: 0, tag: ['x'] },
      { lang: 'fr', n: 1, tag: ['x'] },
    ]);
    expect(metadataOf('b.md')).toEqual([{ lang: 'en', n: 0 }]);
    expect(leases.held.size).toBe(0);
  });

  it('replaces the metadata, and leaves the same state when sent again', async () => {
    const { deps, metadataOf } = await world();
    await patchDocumentMetadata(deps, request({ topic: 't' }, 'replace'));
    await patchDocumentMetadata(deps, request({ topic: 't' }, 'replace'));
    expect(metadataOf('a.md')).toEqual([{ topic: 't' }, { topic: 't' }]);
  });

  it('waits for the document lease and gives up with DocumentBusyError, writing nothing', async () => {
    const { deps, leases, metadataOf } = await world();
    await leases.acquire(BOT, 'a.md', { request: 'a replacement', token: 't' });
    await expect(patchDocumentMetadata(deps, request({ lang: 'fr' }))).rejects.toBeInstanceOf(
      DocumentBusyError,
    );
    expect(metadataOf('a.md')).toEqual([
      { lang: 'en', n: 0 },
      { lang: 'en', n: 1 },
    ]);
  });

  it('refuses metadata an upsert refuses, and one that outgrows the item, writing nothing', async () => {
    const { deps, metadataOf } = await world();
    await expect(patchDocumentMetadata(deps, request({ a: { '': 1 } }))).rejects.toMatchObject({
      field: 'metadata.a',
    });
    const huge = await patchDocumentMetadata(deps, request({ blob: 'x'.repeat(420_000) })).catch((e) => e);
    expect(huge).toBeInstanceOf(ValidationError);
    expect((huge as ValidationError).field).toBe('metadata');
    expect(metadataOf('a.md')).toEqual([
      { lang: 'en', n: 0 },
      { lang: 'en', n: 1 },
    ]);
  });

  it('answers NotFoundError for a document without chunks and for a bot without a record', async () => {
    const { deps } = await world();
    await expect(patchDocumentMetadata(deps, request({}, 'merge', 'none.md'))).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(patchDocumentMetadata(deps, { ...request({}), bot_id: 'other' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});
