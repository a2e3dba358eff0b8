import fc from 'fast-check';
import { tokenise } from '../../src/domain/keyword-text';
import {
  DEFAULT_BM25,
  KeywordIndex,
  postingsByRow,
  type RowPostings,
  scoreFromPostings,
  type TermPostings,
} from '../../src/domain/ranking/bm25';
import { fuseScores } from '../../src/domain/ranking/fusion';
import { ScoreBuffer } from '../../src/domain/ranking/scoring';
import { bruteBm25, bruteFuse, randomText } from '../fixtures/brute-keywords';
import { rng, testSeed } from '../fixtures/random';

describe('tokenise', () => {
  it('keeps numbers and codes whole, lower-cases Unicode, drops stop words and stems English', () => {
    expect(tokenise('Error E-1042 in v2.3, see SKU_77/B.')).toEqual([
      'error',
      'e-1042',
      'v2.3',
      'see',
      'sku_77/b',
    ]);
    expect(tokenise('The RUNNING connections were running')).toEqual(['run', 'connect', 'run']);
    expect(tokenise('Crème Brûlée ŞİŞLİ')).toEqual(['crème', 'brûlée', 'şi̇şli̇']);
    expect(tokenise('東京都の天気')).not.toHaveLength(0);
    expect(tokenise('the and of')).toEqual([]);
    expect(tokenise('')).toEqual([]);
  });

  it('treats the same code the same way in a query and in a text', () => {
    const text = tokenise('Fault code (E-1042): reboot.');
    expect(text).toContain(tokenise('E-1042')[0]);
  });
});

describe('BM25 and fusion against brute force', () => {
  it('scores every chunk exactly as the brute-force formula does, for any k1 and b', () => {
    const seed = testSeed();
    console.log(`keyword BM25 property seed ${seed}`);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 3, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (textSeed, count, k1, b) => {
          const random = rng(textSeed);
          const texts = Array.from({ length: count }, () => randomText(random));
          const query = randomText(random, 4);
          const index = new KeywordIndex(texts.map((t) => tokenise(t)));
          const { scores, matched } = index.score(tokenise(query), { k1, b });
          const expected = bruteBm25(texts, query, k1, b);
          expect(Array.from(scores)).toEqual(expected);
          expect(Array.from(matched)).toEqual(expected.flatMap((s, i) => (s > 0 ? [i] : [])));
        },
      ),
      { seed, numRuns: 150 },
    );
  });

  it('scores from stored postings exactly as the in-process index does, whatever numbers the chunks hold', () => {
    const seed = testSeed();
    console.log(`stored postings property seed ${seed}`);
    // One buffer across every query: what one query leaves in it never shows in the next one's answer.
    const buffer = new ScoreBuffer();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.integer({ min: 1, max: 60 }),
        (textSeed, count) => {
          const random = rng(textSeed);
          const docs = Array.from({ length: count }, () => tokenise(randomText(random)));
          const index = new KeywordIndex(docs);
          // Document numbers as a store hands them out after stream changes: any order against the rows.
          const numberOf = Array.from({ length: count }, (_, row) => row).sort(() => random() - 0.5);
          const rowOf = new Map(numberOf.map((number, row) => [number, row]));
          for (let q = 0; q < 3; q++) {
            const query = tokenise(randomText(random, 4));
            const postings = [...new Set(query)].map((term) => storedPostings(docs, numberOf, term));
            const byRow = postingsByRow(postings, (number) => rowOf.get(number), count);
            if (byRow === null) throw new Error('every number names a row');
            const total = docs.reduce((sum, doc) => sum + doc.length, 0);
            const stored = scoreFromPostings(byRow, count, total, DEFAULT_BM25, buffer);
            const expected = index.score(query, DEFAULT_BM25);
            expect(Array.from(stored.scores)).toEqual(Array.from(expected.scores));
            expect(Array.from(stored.matched)).toEqual(Array.from(expected.matched));
          }
        },
      ),
      { seed, numRuns: 150 },
    );
  });

  it('refuses stored postings that name one chunk twice, and rows out of order', () => {
    const twice: TermPostings = { numbers: [0, 1], tfs: [1, 1], lengths: [3, 3] };
    expect(postingsByRow([twice], () => 4, 10)).toBeNull();
    const unordered: RowPostings = { rows: Int32Array.of(5, 2), tfs: [1, 1], lengths: [3, 3] };
    expect(() => scoreFromPostings([unordered], 10, 30, DEFAULT_BM25)).toThrow(/ascending/);
  });

  it('fuses full lists exactly (rrf and weighted), ties by chunk id', () => {
    const seed = testSeed();
    console.log(`fusion property seed ${seed}`);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: -4, max: 4 }), fc.integer({ min: 0, max: 3 })), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.oneof(
          fc.record({ method: fc.constant('rrf' as const), k: fc.integer({ min: 0, max: 100 }) }),
          fc.record({
            method: fc.constant('weighted' as const),
            alpha: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
        ),
        (pairs, fusion) => {
          // Coarse scores so ties happen and the id tie-break matters.
          const vector = pairs.map(([v]) => v / 4);
          const keyword = pairs.map(([, k]) => k * 1.5);
          const ids = pairs.map((_, i) => `c${(i * 7919) % 101}`);
          const fused = fuseScores(
            Float64Array.from(vector),
            Float64Array.from(keyword),
            (i) => ids[i] as string,
            fusion,
          );
          expect(Array.from(fused)).toEqual(bruteFuse(vector, keyword, ids, fusion));
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});

/** A term's postings as the Redis index returns them: by ascending document number, with tf and length. */
function storedPostings(docs: readonly string[][], numberOf: readonly number[], term: string): TermPostings {
  const entries = docs
    .map((doc, row) => ({
      number: numberOf[row] as number,
      tf: doc.filter((t) => t === term).length,
      length: doc.length,
    }))
    .filter((entry) => entry.tf > 0)
    .sort((a, b) => a.number - b.number);
  return {
    numbers: entries.map((entry) => entry.number),
    tfs: entries.map((entry) => entry.tf),
    lengths: entries.map((entry) => entry.length),
  };
}
