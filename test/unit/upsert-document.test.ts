import type { UpsertDocumentMessage } from '../../src/contracts/ingestion-messages';
import { deterministicChunkId } from '../../src/domain/chunk-id';
import { isShown, versionedChunkId, visibleVersions } from '../../src/domain/document-version';
import { ConflictError, DocumentBusyError, NotFoundError, ValidationError } from '../../src/errors';
import { DEFAULT_LEASE_POLICY } from '../../src/use-cases/document-lease';
import { type UpsertDocumentDeps, upsertDocument } from '../../src/use-cases/upsert-document';
import { FakeBotAliases, FakeBotRegistry, FakeChunkStore, FakeDocumentLeases } from '../fixtures/fake-ports';

const DIM = 4;
const NOW = new Date('2026-03-04T05:06:07.000Z');

function fakes() {
  const chunks = new FakeChunkStore();
  const bots = new FakeBotRegistry(DIM);
  const leases = new FakeDocumentLeases();
  const aliases = new FakeBotAliases();
  const deps: UpsertDocumentDeps = {
    bots,
    chunks,
    leases,
    aliases,
    leasePolicy: { ...DEFAULT_LEASE_POLICY, waitMs: 0 },
    defaultEmbeddingDimension: DIM,
    embeddingEncoding: 'binary',
    now: () => NOW,
  };
  return { deps, chunks, bots, leases, aliases };
}

/** Chunks `from`..`to` of a document of `total` chunks, texts tagged with `tag` (its version). */
function document(
  tag: string,
  total: number,
  fields: Partial<UpsertDocumentMessage> = {},
  range: { from: number; to: number } = { from: 0, to: total - 1 },
): UpsertDocumentMessage {
  return {
    type: 'upsert_document',
    bot_id: 'b1',
    filename: 'guide.md',
    file_size: 2048,
    total_chunks: total,
    chunks: Array.from({ length: range.to - range.from + 1 }, (_, i) => ({
      chunk_index: range.from + i,
      text: `${tag} ${range.from + i}`,
      embedding: [1, range.from + i, 0.5, 0],
      metadata: { section: range.from + i },
    })),
    ...fields,
  };
}

/** The chunks of the version search shows, as `index: text`, in index order. */
function shownContents(chunks: FakeChunkStore): string[] {
  const stored = chunks.chunksOf('b1');
  const shown = visibleVersions(stored);
  return stored
    .filter((chunk) => isShown(chunk, shown))
    .sort((a, b) => a.chunk_index - b.chunk_index)
    .map((chunk) => `${chunk.chunk_index}: ${chunk.text}`);
}

/** The document's chunks as `index: text`, in index order. */
function contents(chunks: FakeChunkStore): string[] {
  return chunks
    .chunksOf('b1')
    .sort((a, b) => a.chunk_index - b.chunk_index)
    .map((chunk) => `${chunk.chunk_index}: ${chunk.text}`);
}

describe('upsertDocument', () => {
  it('writes every chunk under its deterministic id and creates the bot owned by owner_user_id', async () => {
    const { deps, chunks, bots } = fakes();

    const result = await upsertDocument(deps, document('v1', 3, { owner_user_id: 'alice' }));

    expect(result).toEqual({
      bot_id: 'b1',
      filename: 'guide.md',
      total_chunks: 3,
      written: 3,
      deleted: 0,
      created_bot: true,
    });
    const [version] = new Set(chunks.chunksOf('b1').map((chunk) => chunk.version?.id));
    expect(version).toMatch(/^[0-9a-f]{16}$/);
    expect(chunks.chunksOf('b1').map((chunk) => chunk.chunk_id)).toEqual(
      [0, 1, 2].map((index) => versionedChunkId(deterministicChunkId('guide.md', index), version as string)),
    );
    expect(chunks.chunksOf('b1')[1]).toMatchObject({
      filename: 'guide.md',
      file_size: 2048,
      chunk_index: 1,
      text: 'v1 1',
      created_at: NOW.toISOString(),
      metadata: { section: 1 },
      version: { id: version, chunks: 3, at: NOW.toISOString() },
    });
    expect(bots.bots.get('b1')).toMatchObject({ user_id: 'alice', status: 'active' });
  });

  it('replaces a longer version: every chunk of the old version is removed, created_at is kept', async () => {
    const { deps, chunks } = fakes();
    await upsertDocument(deps, document('v1', 4, { created_at: '2025-12-24T00:00:00.000Z' }));

    const result = await upsertDocument(deps, document('v2', 2));

    expect(result).toMatchObject({ written: 2, deleted: 4, created_bot: false });
    expect(contents(chunks)).toEqual(['0: v2 0', '1: v2 1']);
    expect(new Set(chunks.chunksOf('b1').map((chunk) => chunk.created_at))).toEqual(
      new Set(['2025-12-24T00:00:00.000Z']),
    );
  });

  it('keeps the old version whole and shown until the last part of a split version arrives', async () => {
    const { deps, chunks } = fakes();
    await upsertDocument(deps, document('v1', 6));
    const parts = [
      { from: 2, to: 3 },
      { from: 0, to: 1 },
      { from: 4, to: 5 },
    ].map((range) => document('v2', 6, { version: 'second' }, range));

    const first = await upsertDocument(deps, parts[0] as UpsertDocumentMessage);
    const second = await upsertDocument(deps, parts[1] as UpsertDocumentMessage);

    expect([first.deleted, second.deleted]).toEqual([0, 0]);
    expect(shownContents(chunks)).toEqual(['0: v1 0', '1: v1 1', '2: v1 2', '3: v1 3', '4: v1 4', '5: v1 5']);
    expect(chunks.chunksOf('b1')).toHaveLength(10);

    const last = await upsertDocument(deps, parts[2] as UpsertDocumentMessage);

    expect(last.deleted).toBe(6);
    expect(contents(chunks)).toEqual(['0: v2 0', '1: v2 1', '2: v2 2', '3: v2 3', '4: v2 4', '5: v2 5']);
  });

  it('shows nothing of a new document until its last part arrives', async () => {
    const { deps, chunks } = fakes();

    await upsertDocument(deps, document('v1', 4, { version: 'first' }, { from: 0, to: 1 }));

    expect(shownContents(chunks)).toEqual([]);
    await upsertDocument(deps, document('v1', 4, { version: 'first' }, { from: 2, to: 3 }));
    expect(shownContents(chunks)).toEqual(['0: v1 0', '1: v1 1', '2: v1 2', '3: v1 3']);
  });

  it('removes chunks with ids of their own that the new version of their range no longer has', async () => {
    const { deps, chunks } = fakes();
    const own = document('v1', 3);
    own.chunks = own.chunks.map((chunk) => ({ ...chunk, chunk_id: `custom-${chunk.chunk_index}` }));
    await upsertDocument(deps, own);

    const result = await upsertDocument(deps, document('v2', 3));

    expect(result.deleted).toBe(3);
    expect(chunks.chunksOf('b1').map((chunk) => chunk.chunk_id)).not.toContain('custom-0');
    expect(contents(chunks)).toEqual(['0: v2 0', '1: v2 1', '2: v2 2']);
  });

  it('leaves the same state when the same message is delivered twice', async () => {
    const { deps, chunks } = fakes();
    await upsertDocument(deps, document('v1', 3));
    const before = contents(chunks);

    const again = await upsertDocument(deps, document('v1', 3));

    expect(again).toMatchObject({ written: 3, deleted: 0, created_bot: false });
    expect(contents(chunks)).toEqual(before);
  });

  it('refuses a bot marked deleted with a NotFoundError, leaves it deleted, and writes nothing', async () => {
    const { deps, bots, chunks } = fakes();
    bots.add('b1', { status: 'deleted', user_id: 'alice' });

    await expect(upsertDocument(deps, document('v1', 1))).rejects.toThrow(NotFoundError);

    expect(bots.bots.get('b1')?.status).toBe('deleted');
    expect(chunks.items.size).toBe(0);
  });

  it('refuses a bot that a delete marks while the write waits for its lease, and writes nothing', async () => {
    const { deps, bots, chunks, leases } = fakes();
    bots.add('b1', { user_id: 'alice' });
    const other = { request: 'another', token: 't' };
    await leases.acquire('b1', 'guide.md', other);
    const waiting = {
      ...deps,
      leasePolicy: {
        ...DEFAULT_LEASE_POLICY,
        waitMs: 10_000,
        sleep: async () => {
          // The delete begins while this write waits; then the lease comes free.
          await bots.beginDelete('b1');
          await leases.release('b1', 'guide.md', 't');
        },
      },
    };

    const error = await upsertDocument(waiting, document('v1', 2)).catch((e) => e);

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toMatch(/being deleted/);
    expect(chunks.items.size).toBe(0);
    expect(leases.held.size).toBe(0);
  });

  it("refuses to create a bot under an alias's name, and writes nothing", async () => {
    const { deps, chunks, bots, aliases } = fakes();
    bots.add('real-bot', { user_id: 'alice' });
    await aliases.put('b1', 'real-bot', 'alice');

    const error = await upsertDocument(deps, document('v1', 2)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('bot_id');
    expect((error as ValidationError).message).toContain('alias of bot real-bot');
    expect(bots.bots.has('b1')).toBe(false);
    expect(chunks.items.size).toBe(0);
  });

  it('rejects a message naming another owner, and writes nothing', async () => {
    const { deps, chunks, bots } = fakes();
    bots.add('b1', { user_id: 'alice' });

    await expect(upsertDocument(deps, document('v1', 2, { owner_user_id: 'mallory' }))).rejects.toThrow(
      ConflictError,
    );
    expect(chunks.items.size).toBe(0);
  });

  it("checks embeddings against the bot's dimension before anything is written", async () => {
    const { deps, chunks, bots } = fakes();
    bots.add('b1', { embedding_dimension: 3 });

    const error = await upsertDocument(deps, document('v1', 2)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('chunks[0].embedding');
    expect(chunks.items.size).toBe(0);
    expect(bots.bots.get('b1')?.status).toBe('active');
  });

  it('gives up with DocumentBusyError while another request holds the document, and writes nothing', async () => {
    const { deps, chunks, leases } = fakes();
    await leases.acquire('b1', 'guide.md', { request: 'another request', token: 't' }, 60_000);

    await expect(upsertDocument(deps, document('v1', 2))).rejects.toThrow(DocumentBusyError);
    expect(chunks.items.size).toBe(0);
    expect(leases.held.get('b1/guide.md')?.request).toBe('another request');
  });

  it('gives the lease back when it is done', async () => {
    const { deps, leases } = fakes();

    await upsertDocument(deps, document('v1', 2));

    expect(leases.held.size).toBe(0);
  });
});
