import type { UpsertDocumentMessage } from '../../src/contracts/ingestion-messages';
import { isShown, visibleVersions } from '../../src/domain/document-version';
import { ItemRefusedError, ValidationError, WriteIncompleteError } from '../../src/errors';
import { type UpsertDocumentDeps, upsertDocument } from '../../src/use-cases/upsert-document';
import { FakeBotAliases, FakeBotRegistry, FakeChunkStore, FakeDocumentLeases } from '../fixtures/fake-ports';

/**
 * A replacement that DynamoDB stops halfway (throttling past the retries) leaves the old version shown
 * and whole, says so, gives its lease back, and the same request sent again completes it exactly.
 * A chunk DynamoDB refuses outright is a 400 naming it, and the write is undone: no new chunk stays, the
 * old version is whole.
 */
const DIMENSION = 4;

function world(failPutAfter: number | undefined) {
  const chunks = new FakeChunkStore();
  const bots = new FakeBotRegistry(DIMENSION);
  bots.add('b1', { user_id: 'u1' });
  const leases = new FakeDocumentLeases();
  // DynamoDB throttling past the retries: the first `failPutAfter` chunks of the next put land, the rest not.
  let budget = failPutAfter;
  const put = chunks.put.bind(chunks);
  chunks.put = async (batch) => {
    const landed = budget === undefined ? batch : batch.slice(0, budget);
    const unwritten = batch.slice(landed.length).map((chunk) => `${chunk.bot_id}/${chunk.chunk_id}`);
    budget = undefined;
    await put(landed);
    if (unwritten.length > 0) throw new WriteIncompleteError('left items unwritten', unwritten);
  };
  const deps: UpsertDocumentDeps = {
    bots,
    chunks,
    leases,
    aliases: new FakeBotAliases(),
    defaultEmbeddingDimension: DIMENSION,
    embeddingEncoding: 'binary',
  };
  const versions = () =>
    [...new Set([...chunks.items.values()].map((chunk) => chunk.text.split(' ')[0]))].sort();
  const shown = () => {
    const stored = [...chunks.items.values()];
    const visible = visibleVersions(stored);
    return stored
      .filter((chunk) => isShown(chunk, visible))
      .map((chunk) => chunk.text)
      .sort((a, b) => Number(a.split(' ')[1]) - Number(b.split(' ')[1]));
  };
  return { deps, items: chunks.items, held: leases.held, versions, shown };
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
  it('shows nothing of a first upload stopped halfway', async () => {
    const failing = world(5);

    await expect(upsertDocument(failing.deps, version('first', 10))).rejects.toBeInstanceOf(
      WriteIncompleteError,
    );

    expect(failing.items.size).toBe(5);
    expect(failing.shown()).toEqual([]);
  });

  it('keeps the old version shown and whole, frees its lease, and a resend ends as exactly the new version', async () => {
    const { deps, items, held, versions } = world(undefined);
    await upsertDocument(deps, version('old', 30));
    const failing = world(12);
    for (const [id, chunk] of items) failing.items.set(id, chunk);

    const error = await upsertDocument(failing.deps, version('new', 20)).catch((e) => e);

    expect(error).toBeInstanceOf(WriteIncompleteError);
    expect(error.message).toMatch(/"doc\.md" of bot b1 is only partly written/);
    expect(error.message).toMatch(/sent again/);
    expect(failing.versions()).toEqual(['new', 'old']);
    expect(failing.shown()).toEqual(Array.from({ length: 30 }, (_, i) => `old ${i}`));
    expect(failing.held.size).toBe(0);

    await upsertDocument(failing.deps, version('new', 20));

    expect(failing.versions()).toEqual(['new']);
    expect(failing.items.size).toBe(20);
    expect(failing.shown()).toEqual(Array.from({ length: 20 }, (_, i) => `new ${i}`));
    expect(held.size).toBe(0);
    expect(versions()).toEqual(['old']);
  });
});

/** A chunk store whose next put writes every chunk but those at `refusedIndexes`, which DynamoDB refuses. */
function refusing(refusedIndexes: number[]) {
  const { deps, items, held, versions } = world(undefined);
  const chunks = deps.chunks as FakeChunkStore;
  const put = chunks.put.bind(chunks);
  let armed = false;
  chunks.put = async (batch) => {
    if (!armed) return put(batch);
    armed = false;
    const refused = batch.filter((chunk) => refusedIndexes.includes(chunk.chunk_index));
    await put(batch.filter((chunk) => !refused.includes(chunk)));
    if (refused.length > 0) {
      throw new ItemRefusedError(
        'refused',
        refused.map((chunk) => ({
          chunkId: chunk.chunk_id,
          reason: 'Item size has exceeded the maximum allowed size',
        })),
      );
    }
  };
  return { deps, items, held, versions, arm: () => (armed = true) };
}

describe('a chunk DynamoDB refuses after every check passed', () => {
  it('answers a ValidationError naming the chunk, and keeps none of a new document', async () => {
    const world = refusing([59]);
    world.arm();

    const error = await upsertDocument(world.deps, version('new', 60)).catch((e) => e);

    expect(error).toBeInstanceOf(ValidationError);
    expect(error.field).toBe('chunks[59]');
    expect(error.message).toMatch(
      /^chunks\[59\] \(chunk_id "[0-9a-f]{32}:000059~[0-9a-f]{16}"\) was refused by DynamoDB: Item size has exceeded/,
    );
    expect(world.items.size).toBe(0);
    expect(world.held.size).toBe(0);
  });

  it('leaves a replaced document exactly as its old version, however many chunks the new one has', async () => {
    const world = refusing([25]);
    await upsertDocument(world.deps, version('old', 30));
    const before = new Map([...world.items].map(([id, chunk]) => [id, { ...chunk }]));
    world.arm();

    const error = await upsertDocument(world.deps, version('new', 40)).catch((e) => e);

    expect(error).toMatchObject({ name: 'ValidationError', field: 'chunks[25]' });
    expect(world.versions()).toEqual(['old']);
    expect(new Map(world.items)).toEqual(before);
    expect(world.held.size).toBe(0);
  });
});
