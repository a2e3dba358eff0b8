import { chunksOf, parsePage } from '../../tools/scripts/relevance/manpages-set';
import { firstDocuments, ndcgAt, recallAt } from '../../tools/scripts/relevance/metrics';

describe('relevance metrics', () => {
  it('count a document once, at the rank of its first chunk', () => {
    const documentOf = (id: string) => id.split('#')[0] as string;
    expect(firstDocuments(['a#0', 'a#1', 'b#0', 'a#2', 'c#0', 'd#0'], documentOf, 3)).toEqual([
      'a',
      'b',
      'c',
    ]);
  });

  it('give nDCG 1 to an ideal list, and less the lower the relevant documents rank', () => {
    const relevant = new Set(['x', 'y']);
    expect(ndcgAt(['x', 'y', 'z'], relevant, 10)).toBeCloseTo(1, 12);
    // One of two found, at rank 3: (1 / log2 4) / (1 + 1 / log2 3).
    expect(ndcgAt(['p', 'q', 'y'], relevant, 10)).toBeCloseTo(0.5 / (1 + 1 / Math.log2(3)), 12);
    expect(ndcgAt(['p', 'q', 'y'], relevant, 2)).toBe(0);
    expect(ndcgAt(['x'], new Set(), 10)).toBe(0);
  });

  it('give recall as the share of relevant documents among the first k', () => {
    const relevant = new Set(['x', 'y', 'z', 'w']);
    expect(recallAt(['x', 'p', 'z'], relevant, 10)).toBe(0.5);
    expect(recallAt(['x', 'p', 'z'], relevant, 1)).toBe(0.25);
  });
});

describe('the man-pages set', () => {
  const rendered = [
    'open(2)      System Calls Manual      open(2)',
    '',
    'NAME',
    '       open, openat, creat \u2212 open and possibly create a file',
    '',
    'DESCRIPTION',
    '       The open() system call opens the file specified by pathname.',
    '',
    '       The return value of open() is a file descriptor.',
    '',
    'Linux man-pages 6.03      2023-02-05      open(2)',
    '',
  ].join('\n');

  it('takes the NAME line description as the query and keeps NAME, header and footer out of the text', () => {
    expect(parsePage(rendered)).toEqual({
      description: 'open and possibly create a file',
      body: [
        'The open() system call opens the file specified by pathname.',
        'The return value of open() is a file descriptor.',
      ],
    });
    expect(parsePage('x(3)\n\nDESCRIPTION\n       no name section\n\nfooter\n')).toBeNull();
  });

  it('packs paragraphs into chunks of about 600 characters and cuts a longer one at a space', () => {
    const word = 'abcdefghi ';
    const long = word.repeat(150).trim();
    const chunks = chunksOf(['short one', long, 'tail']);
    expect(chunks.every((chunk) => chunk.length <= 600)).toBe(true);
    expect(chunks.join(' ').replace(/\s+/g, ' ')).toBe(['short one', long, 'tail'].join(' '));
  });
});
