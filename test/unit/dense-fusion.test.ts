import fc from 'fast-check';
import { DEFAULT_BM25 } from '../../src/domain/ranking/bm25';
import { rrfFromDense } from '../../src/domain/ranking/dense-fusion';
import { countRanks, countRanksWithin, type Population } from '../../src/domain/ranking/fused-candidates';
import { rrfWeights } from '../../src/domain/ranking/fusion';
import { rankerFor } from '../../src/domain/ranking/hits';
import { headFusionStats, prepareKeywordRows, rankKeywordRows } from '../../src/domain/ranking/keyword-rows';
import { type DenseScores, normalise, type TopKKernel } from '../../src/domain/ranking/scoring';
import { fusedTop } from '../fixtures/fused-top';
import { heldRows } from '../fixtures/held-rows';
import { HYBRID_DIMENSION, hybridCase, hybridRow, hybridShape, rrfFusions } from '../fixtures/hybrid-case';
import { rng } from '../fixtures/random';
import { scannerAtEverySize, vectorPool } from '../fixtures/tied-vectors';

const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

const DIMENSION = HYBRID_DIMENSION;

/**
 * Scores within `error` of the exact ones, each moved by a random share of it (the band of every asked
 * score then holds many rows, which the native pass's tiny bound rarely gives).
 */
function blurred(exact: readonly number[], error: number, random: () => number): DenseScores {
  return { approx: Float64Array.from(exact, (x) => x + (random() * 2 - 1) * error), error };
}

describe('RRF from a dense pass (every row scored within a bound)', () => {
  it('gives the same top hits and the same three scores as fusing every candidate (brute force)', () => {
    console.log(`dense fusion property seed ${seed} (TEST_SEED replays it)`);
    const scanner = scannerAtEverySize();
    fc.assert(
      fc.property(
        vectorPool(DIMENSION, 12),
        fc.array(hybridRow, { minLength: 1, maxLength: 600, size: 'large' }),
        hybridShape,
        rrfFusions(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(60))),
        fc.integer({ min: 1, max: 25 }),
        // The native pass's own bound, or a fake pass's wide one (0: exact scores).
        fc.constantFrom(null, 0, 1e-3, 0.05, 0.5),
        fc.integer(),
        (pool, rows, shape, fusion, keep, fakeError, noise) => {
          const { n, vectors, query, idOf, bm25, mask, matched, cosineOf, expected } = hybridCase(
            pool,
            rows,
            shape,
          );
          const exact = rows.map((_, row) => cosineOf(row));
          const dense =
            fakeError === null
              ? scanner.dense(vectors, DIMENSION, n, query)
              : blurred(exact, fakeError, rng(noise));
          expect(dense).not.toBeNull();

          const few = rrfFromDense(
            { rowCount: n, mask, bm25, matched, idOf, cosineOf },
            dense as DenseScores,
            fusion,
            keep,
          );

          // Null tells the caller to fuse every candidate. That is the answer only when the vector part is
          // 0 at every rank and either fewer than `keep` candidates match a term or the keyword part is 0
          // at every rank too: the rest of the top are then rows of fused score 0, in chunk id order over
          // every candidate, which no head can prove.
          const weights = rrfWeights(fusion);
          const vectorSilent = weights.vector / (fusion.k + 1) === 0;
          const keywordSilent = weights.keyword / (fusion.k + 1) === 0;
          if (few === null) {
            expect(vectorSilent).toBe(true);
            expect(keywordSilent || matched.length < keep).toBe(true);
            return;
          }
          const { rows: kept, vector, keyword, fused } = few;
          expect(fusedTop(kept.map(idOf), vector, keyword, fused, keep)).toEqual(expected(fusion, keep));
        },
      ),
      // Shrinking arrays of hundreds of rows takes minutes: a failure is reported as found (the seed replays it).
      { seed, numRuns: 300, endOnFailure: true },
    );
  });

  it('scores exactly only rows near an asked score, and ranks every row as exact scores would', () => {
    fc.assert(
      fc.property(
        // Coarse scores: exact ties are common.
        fc.array(fc.record({ score: fc.integer({ min: -6, max: 6 }), passes: fc.boolean() }), {
          minLength: 1,
          maxLength: 300,
        }),
        fc.boolean(),
        fc.constantFrom(0, 0.01, 0.1, 1),
        fc.array(fc.nat(), { minLength: 1, maxLength: 12 }),
        fc.integer(),
        (rows, filtered, error, picks, noise) => {
          const exact = Float64Array.from(rows, (r) => r.score / 8);
          const ids = rows.map((_, i) => `c${(i * 7919) % 10007}`);
          const idOf = (row: number) => ids[row] as string;
          const mask = filtered ? Uint8Array.from(rows, (r) => (r.passes ? 1 : 0)) : undefined;
          const population: Population = { rows: null, count: rows.length, mask };
          const asked = [...new Set(picks.map((pick) => pick % rows.length))];
          const dense = blurred(Array.from(exact), error, rng(noise));
          const scored: number[] = [];
          const ranks = countRanksWithin(
            population,
            dense,
            (row) => {
              scored.push(row);
              return exact[row] as number;
            },
            idOf,
            asked,
          );
          expect(ranks).toEqual(countRanks(population, exact, idOf, asked));
          // A member scored exactly lies within the bound of an asked score (or is asked itself).
          const levels = asked.map((row) => exact[row] as number);
          for (const row of scored) {
            const near = dense.approx[row] as number;
            const isNear = levels.some((level) => Math.abs(near - level) <= error);
            expect(asked.includes(row) || isNear).toBe(true);
          }
        },
      ),
      { seed, numRuns: 500 },
    );
  });
});

describe('a hybrid RRF query whose vector head cannot prove its top', () => {
  it('is answered from the dense pass, exactly as scoring every candidate answers it', () => {
    const scanner = scannerAtEverySize();
    // A kernel with no approximate scan: the head proof gives up at once, as it does for a query whose
    // best keyword match lies below every scan it would read.
    const withoutScan: TopKKernel = {
      topK: (...args) => scanner.topK(...args),
      dense: (...args) => scanner.dense(...args),
    };
    const random = rng(seed);
    const dimension = 16;
    const held = heldRows(random, 3000, dimension);
    const { ids } = held;
    // A term in one row of twelve, its BM25 unrelated to the vectors, with ties.
    const scores = Float64Array.from(ids, () => (random() < 1 / 12 ? 1 + Math.floor(random() * 5) : 0));
    const matched = ids.flatMap((_, row) => ((scores[row] as number) > 0 ? [row] : []));
    const unit = normalise(Array.from({ length: dimension }, () => random() * 2 - 1)) as Float64Array;
    for (const fusion of [
      { method: 'rrf', k: 60 },
      { method: 'rrf', k: 2, weights: { vector: 0.5, keyword: 2 } },
    ] as const) {
      const query = { terms: ['term'], fusion, bm25: DEFAULT_BM25 };
      const options = { limit: 10, offset: 2 };
      const rank = (kernel: TopKKernel | undefined) =>
        rankKeywordRows(
          prepareKeywordRows(held, unit, query, null, rankerFor(options), kernel),
          { scores, matched },
          undefined,
        );
      const answeredDense = headFusionStats.dense;
      const dense = rank(withoutScan);
      expect(headFusionStats.dense).toBe(answeredDense + 1);
      expect(dense.ranked.hits).toHaveLength(10);
      const everyCandidate = rank(undefined);
      expect(dense.ranked.hits.map((hit) => [hit.id, hit.score])).toEqual(
        everyCandidate.ranked.hits.map((hit) => [hit.id, hit.score]),
      );
      expect(dense.ranked.hits.map((hit) => dense.scoresOf(hit.ref))).toEqual(
        everyCandidate.ranked.hits.map((hit) => everyCandidate.scoresOf(hit.ref)),
      );
    }
  });
});

describe('a hybrid query prepared before its keyword scores arrive', () => {
  it('reads its first vector scan once, and answers as scoring every candidate does, with and without a match', () => {
    const scanner = scannerAtEverySize();
    type Scan = { wanted: number; withBottom: boolean };
    const asked: Scan[] = [];
    const counting: TopKKernel = {
      topK: (...args) => scanner.topK(...args),
      approximate: (vectors, dimension, rowCount, unitQuery, wanted, mask, withBottom) => {
        asked.push({ wanted, withBottom: withBottom === true });
        return scanner.approximate(vectors, dimension, rowCount, unitQuery, wanted, mask, withBottom);
      },
      dense: (...args) => scanner.dense(...args),
    };
    const random = rng(seed);
    const dimension = 8;
    // Enough rows that RRF's first scan, when some row matches, reads more rows than when none does.
    const rowCount = 30_000;
    const held = heldRows(random, rowCount, dimension);
    const { ids } = held;
    const unit = normalise(Array.from({ length: dimension }, () => random() * 2 - 1)) as Float64Array;
    const withMatches = Float64Array.from(ids, () => (random() < 1 / 50 ? 1 + Math.floor(random() * 5) : 0));
    for (const scores of [withMatches, new Float64Array(rowCount)]) {
      const matched = ids.flatMap((_, row) => ((scores[row] as number) > 0 ? [row] : []));
      for (const fusion of [
        { method: 'rrf', k: 60 },
        { method: 'weighted', alpha: 0.5 },
      ] as const) {
        const query = { terms: ['term'], fusion, bm25: DEFAULT_BM25 };
        // A ranker holds the hits it selects: one per ranking.
        const ranker = () => rankerFor<number>({ limit: 10 });
        asked.length = 0;
        const prepared = prepareKeywordRows(held, unit, query, null, ranker(), counting);
        expect(asked).toHaveLength(1);
        const fused = rankKeywordRows(prepared, { scores, matched }, undefined);
        // No request the prepared scan covers reaches the kernel again: it was answered by that scan.
        const [first, ...later] = asked as [Scan, ...Scan[]];
        const covered = later.filter(
          (next) => next.wanted <= first.wanted && (!next.withBottom || first.withBottom),
        );
        expect(covered).toEqual([]);
        const everyCandidate = rankKeywordRows(
          prepareKeywordRows(held, unit, query, null, ranker(), undefined),
          { scores, matched },
          undefined,
        );
        expect(fused.ranked.hits.map((hit) => [hit.id, hit.score])).toEqual(
          everyCandidate.ranked.hits.map((hit) => [hit.id, hit.score]),
        );
        expect(fused.keywordMatches).toBe(matched.length);
      }
    }
  });
});
