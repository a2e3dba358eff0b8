import type { ChunkVersion, StoredChunk } from '../../src/domain/types';
import { DocumentBusyError } from '../../src/errors';
import { findLeftovers, type LeftoverDeps, removeLeftovers } from '../../src/use-cases/doctor-versions';
import { DEFAULT_LEASE_POLICY } from '../../src/use-cases/document-lease';
import { FakeChunkStore, FakeDocumentLeases } from '../fixtures/fake-ports';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * 3_600_000).toISOString();

function store(): FakeChunkStore {
  return new FakeChunkStore();
}

/** Chunks `indices` of a version of `filename` of `chunks` chunks, written `hours` ago. */
function write(
  into: FakeChunkStore,
  filename: string,
  id: string,
  chunks: number,
  hours: number,
  indices?: number[],
) {
  const version: ChunkVersion = { id, chunks, at: hoursAgo(hours) };
  const stored: StoredChunk[] = (indices ?? Array.from({ length: chunks }, (_, i) => i)).map((index) => ({
    bot_id: 'b1',
    chunk_id: `${filename}:${index}~${id}`,
    embedding: Float32Array.from([1, index]),
    text: `${id} ${index}`,
    filename,
    file_size: 1,
    chunk_index: index,
    created_at: hoursAgo(hours),
    metadata: {},
    version,
  }));
  return into.put(stored);
}

function deps(chunks: FakeChunkStore, leases = new FakeDocumentLeases()): LeftoverDeps {
  return { chunks, leases, leasePolicy: { ...DEFAULT_LEASE_POLICY, waitMs: 0 }, now: () => NOW };
}

describe('the doctor and leftover versions', () => {
  it('finds chunks of versions not shown once their last write is past the grace period', async () => {
    const chunks = store();
    await write(chunks, 'a.md', 'old', 3, 5); // superseded: shown is 'new'
    await write(chunks, 'a.md', 'new', 2, 4);
    await write(chunks, 'b.md', 'cut', 4, 3, [0, 1]); // a first upload cut short, never sent again
    await write(chunks, 'c.md', 'whole', 2, 9);
    await write(chunks, 'c.md', 'arriving', 3, 0.1, [0]); // a split version whose parts are on their way

    expect(await findLeftovers(deps(chunks), 'b1')).toEqual([
      { filename: 'a.md', chunks: 3 },
      { filename: 'b.md', chunks: 2 },
    ]);
  });

  it('removes them under the document lease, leaving the shown version and young versions whole', async () => {
    const chunks = store();
    await write(chunks, 'a.md', 'old', 3, 5);
    await write(chunks, 'a.md', 'new', 2, 4);
    await write(chunks, 'a.md', 'arriving', 3, 0.1, [1]);

    const removed = await removeLeftovers(deps(chunks), 'b1', 'a.md');

    expect(removed).toBe(3);
    expect(
      chunks
        .chunksOf('b1')
        .map((chunk) => chunk.text)
        .sort(),
    ).toEqual(['arriving 1', 'new 0', 'new 1']);
  });

  it('leaves a document alone while a writer holds its lease', async () => {
    const chunks = store();
    await write(chunks, 'a.md', 'old', 3, 5);
    await write(chunks, 'a.md', 'new', 2, 4);
    const leases = new FakeDocumentLeases();
    await leases.acquire('b1', 'a.md', { request: 'writer', token: 't' }, 1000);

    await expect(removeLeftovers(deps(chunks, leases), 'b1', 'a.md')).rejects.toBeInstanceOf(
      DocumentBusyError,
    );
    expect(chunks.chunksOf('b1')).toHaveLength(5);
  });
});
