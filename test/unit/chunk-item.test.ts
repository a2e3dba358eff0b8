import { toStoredChunk } from '../../src/adapters/dynamodb/chunk-item';
import { parseStreamRecord, snapshotChangeOf } from '../../src/contracts/stream-record';
import { chunkItem, StreamEventFactory } from '../fixtures/stream-events';

/**
 * One rule decides which VectorEmbeddings items search may serve, on every path: the stream's snapshot
 * changes and the table reads behind rebuilds, the DynamoDB fallback and the doctor.
 */
const DIM = 4;
const events = new StreamEventFactory();

function judged(change: Record<string, unknown>): { table: string | null; stream: string | null } {
  const item = { ...chunkItem('bot', 'a.md', 0, { dimension: DIM, encoding: 'list' }), ...change };
  for (const [key, value] of Object.entries(change))
    if (value === undefined) delete item[key as keyof typeof item];
  let table: string | null = null;
  try {
    toStoredChunk(item);
  } catch (error) {
    table = (error as Error).message;
  }
  const parsed = parseStreamRecord(events.record('INSERT', { newImage: item }));
  const stream = snapshotChangeOf(parsed, DIM).invalid?.message ?? null;
  return { table, stream };
}

describe('which items search may serve', () => {
  it.each([
    ['chunk_index 1.5', { chunk_index: 1.5 }, /chunk_index must be an integer/],
    ['chunk_index as a string', { chunk_index: '3' }, /chunk_index must be an integer/],
    ['no chunk_index', { chunk_index: undefined }, /chunk_index must be an integer/],
    ['text as a number', { text: 12 }, /text must be a string/],
    ['metadata as a list', { metadata: [1] }, /metadata must be a map/],
    ['metadata as a string', { metadata: '{}' }, /metadata must be a map/],
  ])('refuses %s from the table and from the stream alike', (_name, change, reason) => {
    const { table, stream } = judged(change);
    expect(table).toMatch(reason);
    expect(stream).toMatch(reason);
  });

  it('serves a clean item, and one without metadata, on both paths', () => {
    expect(judged({})).toEqual({ table: null, stream: null });
    expect(judged({ metadata: undefined })).toEqual({ table: null, stream: null });
  });

  it('checks text only when the read brought it', () => {
    const { text: _, ...withoutText } = chunkItem('bot', 'a.md', 0, { dimension: DIM, encoding: 'list' });
    expect(toStoredChunk(withoutText, { textRead: false }).text).toBe('');
    expect(() => toStoredChunk(withoutText, { textRead: true })).toThrow(/text must be a string/);
  });
});
