import fc from 'fast-check';
import { tokenise } from '../../src/domain/keyword-text';
import { KeywordIndex } from '../../src/domain/ranking/bm25';
import { fuseScores } from '../../src/domain/ranking/fusion';
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
          expect(matched).toEqual(expected.flatMap((s, i) => (s > 0 ? [i] : [])));
        },
      ),
      { seed, numRuns: 150 },
    );
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
