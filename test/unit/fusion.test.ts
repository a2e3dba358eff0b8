import fc from 'fast-check';
import { exactSum } from '../../src/domain/ranking/exact-sum';
import { distributionNormaliser, type Fusion, fuseScores, ranksOf } from '../../src/domain/ranking/fusion';
import { rankHybrid } from '../../src/domain/ranking/hybrid-ranking';
import { Ranker } from '../../src/domain/ranking/ranker';

const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true });

/** The bits of a finite double as an integer multiple of 2^-1074. */
function scaledInteger(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const magnitude = exponent === 0 ? fraction : (fraction | (1n << 52n)) << BigInt(exponent - 1);
  return bits >> 63n === 1n ? -magnitude : magnitude;
}

/** The exact sum of finite doubles, rounded once to the nearest double (ties to even), in BigInt arithmetic. */
function roundedExactSum(values: readonly number[]): number {
  const total = values.reduce((sum, x) => sum + scaledInteger(x), 0n);
  const magnitude = total < 0n ? -total : total;
  const sign = total < 0n ? -1 : 1;
  const length = magnitude.toString(2).length;
  // Up to 53 bits: a multiple of 2^-1074 below 2^-1021, exactly representable.
  if (length <= 53) return sign * Number(magnitude) * Number.MIN_VALUE;
  // 54 bits and a sticky bit, which Number() rounds to 53 as one rounding of the whole would.
  const shift = BigInt(length - 54);
  const sticky = magnitude & ((1n << shift) - 1n) ? 1n : 0n;
  let scaled = Number(((magnitude >> shift) << 1n) | sticky);
  // Scaled by 2^(shift - 1 - 1074) in exact steps (the result, and every step, is a normal double).
  let exponent = Number(shift) - 1 - 1074;
  for (; exponent > 1000; exponent -= 1000) scaled *= 2 ** 1000;
  for (; exponent < -1000; exponent += 1000) scaled *= 2 ** -1000;
  return sign * scaled * 2 ** exponent;
}

describe('exact sums', () => {
  it('are the exact sum rounded once to the nearest double', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            finite,
            fc.double({ min: -1, max: 1, noNaN: true }),
            // Magnitudes far apart, so that many partials are kept at once.
            fc.integer({ min: -60, max: 58 }).map((e) => 2 ** (e * 17)),
            fc.integer({ min: -60, max: 58 }).map((e) => -(2 ** (e * 17)) * 3),
          ),
          { maxLength: 80 },
        ),
        (values) => {
          expect(exactSum(values.length, (i) => values[i] as number)).toBe(roundedExactSum(values));
        },
      ),
      { numRuns: 500 },
    );
    // Half-way cases: 1 + 2^-53 is a tie (to even: 1); a little more breaks it upwards.
    expect(exactSum(2, (i) => [1, 2 ** -53][i] as number)).toBe(1);
    expect(exactSum(3, (i) => [1, 2 ** -53, 2 ** -200][i] as number)).toBe(1 + 2 ** -52);
    // Zeros of either sign sum to +0.
    expect(exactSum(1, () => -0)).toBe(0);
    expect(exactSum(2, (i) => [-0, -0][i] as number)).toBe(0);
  });

  it('give the same correctly rounded sum in every order', () => {
    fc.assert(
      fc.property(fc.array(finite, { maxLength: 60 }), fc.integer(), (values, shift) => {
        const n = values.length;
        const rotated = values.map((_, i) => values[(i + Math.abs(shift)) % Math.max(1, n)] as number);
        const reversed = [...values].reverse();
        const sum = exactSum(n, (i) => values[i] as number);
        expect(exactSum(n, (i) => rotated[i] as number)).toBe(sum);
        expect(exactSum(n, (i) => reversed[i] as number)).toBe(sum);
      }),
    );
    // 1e16 + 1 + 1 is 1e16 + 2 exactly; a plain left-to-right sum loses both ones.
    expect(exactSum(3, (i) => [1e16, 1, 1][i] as number)).toBe(1e16 + 2);
    expect(exactSum(0, () => 1)).toBe(0);
  });
});

describe('distribution-based normalisation (DBSF)', () => {
  it('is (x - (mean - 3 sd)) / (6 sd) with the sample standard deviation, as Qdrant defines it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 2, maxLength: 50 }),
        (xs) => {
          const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
          const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1));
          fc.pre(sd > 1e-6);
          const normalise = distributionNormaliser(xs.length, (i) => xs[i] as number);
          for (const x of xs) expect(normalise(x)).toBeCloseTo((x - (mean - 3 * sd)) / (6 * sd), 9);
        },
      ),
    );
  });

  it('gives 0.5 to a single score and to equal scores', () => {
    expect(distributionNormaliser(1, () => 7)(7)).toBe(0.5);
    expect(distributionNormaliser(4, () => 2)(2)).toBe(0.5);
    expect(distributionNormaliser(0, () => 0)(3)).toBe(0.5);
  });
});

/** The fused scores of candidates whose keyword scores are all 0 (no chunk matches a query term). */
const FUSIONS: Fusion[] = [
  { method: 'rrf', k: 60 },
  { method: 'rrf', k: 2, weights: { vector: 0.5, keyword: 3 } },
  { method: 'weighted', alpha: 0.7 },
  { method: 'dbsf' },
];

describe('fusion when no chunk matches a query term', () => {
  it.each(FUSIONS)(
    '%j fuses to the vector side alone, with nothing added for the empty keyword side',
    (fusion) => {
      fc.assert(
        fc.property(
          fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 40 }),
          (vector) => {
            const ids = (i: number) => `c${String(i).padStart(3, '0')}`;
            const keyword = new Float64Array(vector.length);
            const fused = fuseScores(vector, keyword, ids, fusion);
            const ranks = ranksOf(vector, ids);
            const nv = distributionNormaliser(vector.length, (i) => vector[i] as number);
            const min = Math.min(...vector);
            const max = Math.max(...vector);
            vector.forEach((v, i) => {
              const alone =
                fusion.method === 'rrf'
                  ? (fusion.weights?.vector ?? 1) / (fusion.k + (ranks[i] as number))
                  : fusion.method === 'weighted'
                    ? fusion.alpha * (max > min ? (v - min) / (max - min) : 1)
                    : nv(v);
              expect(fused[i]).toBeCloseTo(alone, 12);
            });
          },
        ),
      );
    },
  );

  it.each(FUSIONS)("%j keeps each hit's keyword_score 0 and its fused_score the ranking score", (fusion) => {
    const vector = Float64Array.from([0.9, 0.1, -0.4, 0.5]);
    const keyword = new Float64Array(4);
    const { ranked, scoresOf } = rankHybrid(
      { ids: ['a', 'b', 'c', 'd'], groups: ['', '', '', ''], vector, keyword },
      fusion,
      new Ranker<number>({ limit: 4, offset: 0 }),
      undefined,
    );
    expect(ranked.hits.map((hit) => hit.id)).toEqual(['a', 'd', 'b', 'c']);
    for (const hit of ranked.hits) {
      expect(scoresOf(hit.ref)).toEqual({ vector: vector[hit.ref], keyword: 0, fused: hit.score });
    }
  });
});
