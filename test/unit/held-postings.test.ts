import { describe, expect, it } from '@jest/globals';
import { DEFAULT_BM25 } from '../../src/domain/ranking/bm25';
import type { KeywordQuery } from '../../src/domain/ranking/keyword-query';
import type { CachedSnapshot, KeywordIndexStore, KeywordPostings, KeywordRead } from '../../src/snapshot';
import { HELD_POSTINGS_SHARE } from '../../src/use-cases/search/sources/held-postings';
import { peekedBm25 } from '../../src/use-cases/search/sources/keyword-scores';

const ROWS = 30_000;
const ids = Array.from({ length: ROWS }, (_, row) => `chunk-${String(row).padStart(5, '0')}`);

/** A copy of `ROWS` chunks at `version`, counting `bytes` against the cache (all a keyword query reads of it). */
function copyAt(version: string, bytes: number): CachedSnapshot {
  return {
    snapshot: { botId: 'bot', version },
    ids,
    bytes,
    texts: undefined,
  } as unknown as CachedSnapshot;
}

/**
 * A keyword index whose term `t<k>` is held by every k-th chunk, once (so a term's postings take 12 bytes
 * for each chunk it matches when held), counting the reads and the terms asked.
 */
class CountingIndex implements Pick<KeywordIndexStore, 'read'> {
  readonly asked: string[][] = [];

  async read(_botId: string, _version: string, terms: readonly string[]): Promise<KeywordRead> {
    this.asked.push([...terms]);
    const postings = terms.map((term) => {
      const every = Number(term.slice(1));
      const numbers = Uint32Array.from({ length: Math.ceil(ROWS / every) }, (_, i) => i * every);
      return { numbers, tfs: numbers.map(() => 1), lengths: numbers.map((n) => 5 + (n % 7)) };
    });
    const read: KeywordPostings = {
      docCount: ROWS,
      totalLength: ROWS * 8,
      ids: { bucketSize: ROWS, buckets: [ids] },
      postings,
    };
    return read;
  }
}

const query = (...terms: string[]): KeywordQuery => ({
  terms,
  fusion: { method: 'rrf', k: 60 },
  bm25: DEFAULT_BM25,
});

async function scores(index: CountingIndex, copy: CachedSnapshot, asked: KeywordQuery) {
  const scorer = await peekedBm25(index as unknown as KeywordIndexStore, copy, asked);
  if (scorer === undefined) throw new Error('no scores');
  const { scores: byRow, matched } = scorer();
  return { scores: Array.from(byRow), matched: [...matched] };
}

describe('postings held with the copy they were read for', () => {
  it('score a query whose terms were all read at that version without a read, equal to the first', async () => {
    const index = new CountingIndex();
    const copy = copyAt('v1', 64 * 1024 * 1024);
    const first = await scores(index, copy, query('t3', 't5'));
    expect(index.asked).toEqual([['t3', 't5']]);
    // The same terms in another order, repeated, or a subset: no read, the same scores as a read gives.
    const again = await scores(index, copy, query('t3', 't5'));
    expect(again).toEqual(first);
    const reordered = await scores(index, copy, query('t5', 't3', 't5'));
    const subset = await scores(index, copy, query('t5'));
    expect(index.asked).toHaveLength(1);
    expect(reordered).toEqual(await scores(new CountingIndex(), copyAt('fresh', 1), query('t5', 't3', 't5')));
    expect(subset).toEqual(await scores(new CountingIndex(), copyAt('fresh', 1), query('t5')));
  });

  it('read only the terms not held, score them with the held ones as one read of all would, and serve no other copy', async () => {
    const index = new CountingIndex();
    const copy = copyAt('v1', 64 * 1024 * 1024);
    await scores(index, copy, query('t3'));
    const mixed = await scores(index, copy, query('t4', 't3', 't6'));
    expect(index.asked).toEqual([['t3'], ['t4', 't6']]);
    expect(mixed).toEqual(await scores(new CountingIndex(), copyAt('fresh', 1), query('t4', 't3', 't6')));
    await scores(index, copy, query('t6', 't4'));
    expect(index.asked).toHaveLength(2);
    // The next version's copy holds nothing yet.
    await scores(index, copyAt('v2', 64 * 1024 * 1024), query('t3'));
    expect(index.asked).toEqual([['t3'], ['t4', 't6'], ['t3']]);
  });

  it('are dropped when a read at their version counts other lengths, and that read is not used', async () => {
    const index = new CountingIndex();
    const copy = copyAt('v1', 64 * 1024 * 1024);
    await scores(index, copy, query('t3'));
    // An index that disagrees with what was read before at this version: no scores from it.
    const disagreeing = {
      read: async (...args: Parameters<CountingIndex['read']>) => {
        const read = (await index.read(...args)) as KeywordPostings;
        return { ...read, totalLength: read.totalLength + 1 };
      },
    };
    expect(
      await peekedBm25(disagreeing as unknown as KeywordIndexStore, copy, query('t3', 't4')),
    ).toBeUndefined();
    // Nothing is held any more: the next query reads all of its terms.
    await scores(index, copy, query('t3'));
    expect(index.asked).toEqual([['t3'], ['t4'], ['t3']]);
  });

  it('take at most their share of the copy, least recently used terms out first', async () => {
    const index = new CountingIndex();
    // A share of 300 KB: a term held by every chunk (360 KB when held) never fits; one held by every third
    // chunk (120 KB) fits, and one held by every second (180 KB) fits only by pushing it out.
    const copy = copyAt('v1', 300_000 / HELD_POSTINGS_SHARE);
    await scores(index, copy, query('t1'));
    await scores(index, copy, query('t1'));
    expect(index.asked).toHaveLength(2);
    await scores(index, copy, query('t3'));
    await scores(index, copy, query('t2'));
    expect(index.asked).toHaveLength(4);
    // t2 is held; t3, pushed out, is read again.
    await scores(index, copy, query('t2'));
    expect(index.asked).toHaveLength(4);
    await scores(index, copy, query('t3'));
    expect(index.asked).toHaveLength(5);
  });
});
