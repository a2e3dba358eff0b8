import { devEmbed } from '../../src/domain/dev-embedder';
import { embedOutput } from '../../tools/scripts/embed';

/** `npm run -s embed`: the dev embedder's vector, or a whole search or upload body, ready to pipe to curl. */
describe('npm run embed', () => {
  it("prints the dev embedder's vector for the text", () => {
    const vector = embedOutput(['how does the stream retry']) as number[];
    expect(vector).toEqual(devEmbed('how does the stream retry'));
    expect(vector).toHaveLength(384);
  });

  it('prints a search body with --search and an upload body with --document', () => {
    expect(embedOutput(['--search', '--limit', '3', 'retry', 'batches'])).toEqual({
      embedding: devEmbed('retry batches'),
      limit: 3,
    });
    expect(embedOutput(['--document', 'notes.md', 'first chunk', 'second'])).toEqual({
      filename: 'notes.md',
      file_size: Buffer.byteLength('first chunk\nsecond'),
      chunks: [
        { chunk_index: 0, text: 'first chunk', embedding: devEmbed('first chunk') },
        { chunk_index: 1, text: 'second', embedding: devEmbed('second') },
      ],
    });
  });

  it('names what is wrong with its arguments', () => {
    expect(() => embedOutput([])).toThrow('give the text to embed');
    expect(() => embedOutput(['--dimension', '0', 'x'])).toThrow(/--dimension must be an integer/);
    expect(() => embedOutput(['--search', '--limit', 'many', 'x'])).toThrow(/--limit/);
    expect(() => embedOutput(['--nope', 'x'])).toThrow(/--nope/);
  });
});
