import { deterministicChunkId, documentChunkIdPrefix } from '../../src/domain/chunk-id';

describe('deterministic chunk ids', () => {
  it('gives the same chunk of the same document the same id every time', () => {
    expect(deterministicChunkId('guide.pdf', 3)).toBe(deterministicChunkId('guide.pdf', 3));
  });

  it('gives different chunks and different documents different ids', () => {
    const ids = new Set([
      deterministicChunkId('guide.pdf', 0),
      deterministicChunkId('guide.pdf', 1),
      deterministicChunkId('guide2.pdf', 0),
      deterministicChunkId('Guide.pdf', 0),
    ]);

    expect(ids.size).toBe(4);
  });

  it('starts every id of a document with the document prefix, and sorts chunks in order', () => {
    const ids = [0, 1, 2, 10, 999].map((i) => deterministicChunkId('guide.pdf', i));

    expect(ids.every((id) => id.startsWith(documentChunkIdPrefix('guide.pdf')))).toBe(true);
    expect([...ids].sort()).toEqual(ids);
  });

  it('stays short whatever the filename length', () => {
    expect(deterministicChunkId('a'.repeat(5000), 12).length).toBe(39);
  });
});
