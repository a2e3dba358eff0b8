import fc from 'fast-check';
import type { Fusion } from '../../src/domain/ranking/fusion';
import { emptyHeadFusionStats, estimateVectorRank, RANK_SAMPLE } from '../../src/domain/ranking/head-fusion';
import { fuseFromHead } from '../../src/domain/ranking/threshold-fusion';
import { fusedTop } from '../fixtures/fused-top';
import {
  HYBRID_DIMENSION,
  hybridCase,
  hybridRow,
  hybridShape,
  rrfFusions,
  weightedFusion,
} from '../fixtures/hybrid-case';
import { scannerAtEverySize, vectorPool } from '../fixtures/tied-vectors';

const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

const fusionArbitrary: fc.Arbitrary<Fusion> = fc.oneof(
  rrfFusions(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(60))),
  weightedFusion,
);

const DIMENSION = HYBRID_DIMENSION;

describe('hybrid fusion from the native vector head (threshold algorithm)', () => {
  it('gives the same top hits and the same three scores as fusing every candidate (brute force)', () => {
    console.log(`threshold fusion property seed ${seed} (TEST_SEED replays it)`);
    // No slack: widening happens.
    const scanner = scannerAtEverySize({ initialSlack: 0 });
    const stats = emptyHeadFusionStats();
    let proven = 0;
    // Weighted cases given the one-pass scan of both ends, and how many of them read the negated query's
    // exact head for the minimum all the same (the scan did not prove it).
    let weightedBothEnds = 0;
    let minimumFromHead = 0;
    fc.assert(
      fc.property(
        vectorPool(DIMENSION, 12),
        // Up to a thousand rows, so that a widened head stays under an eighth of the candidates.
        fc.array(hybridRow, { minLength: 1, maxLength: 1200, size: 'large' }),
        hybridShape,
        fusionArbitrary,
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 8 }),
        // RRF's deepest scan: the default, or short enough that the best match often lies past it.
        fc.constantFrom(64, 1024),
        // Weighted fusion's first scan with the negated query's in one pass, or the top alone.
        fc.boolean(),
        (pool, rows, shape, fusion, keep, firstHead, scanLimit, bothEnds) => {
          const { n, vectors, query, idOf, bm25, mask, candidates, matched, cosineOf, expected } = hybridCase(
            pool,
            rows,
            shape,
          );

          if (bothEnds && fusion.method === 'weighted') weightedBothEnds++;
          const head = fuseFromHead(
            {
              unitQuery: query,
              candidateCount: candidates.length,
              rowCount: n,
              mask,
              bm25,
              matched,
              idOf,
              cosineOf,
              head: (unit, k) => {
                if (bothEnds && unit[0] === -(query[0] as number) && unit[0] !== 0) minimumFromHead++;
                return scanner.topK(vectors, DIMENSION, n, unit, idOf, {
                  k,
                  ...(mask === undefined ? {} : { mask }),
                });
              },
              // Weighted fusion asks for the bottom too; a kernel without it answers the top alone.
              scan: (unit, wanted, withBottom) =>
                scanner.approximate(
                  vectors,
                  DIMENSION,
                  n,
                  unit,
                  wanted,
                  mask,
                  bothEnds && withBottom === true,
                ),
            },
            fusion,
            keep,
            stats,
            firstHead,
            scanLimit,
          );
          // Null: not proven from a head of at most an eighth of the candidates (the caller fuses all).
          if (head === null) return;
          proven += 1;
          const top = expected(fusion, keep);
          expect(
            fusedTop(
              head.rows.map(idOf),
              head.vector,
              head.rows.map((row) => bm25[row] as number),
              head.fused,
              keep,
            ),
          ).toEqual(top);
          // The head's rows come best first already.
          expect(head.rows.map(idOf)).toEqual(top.map((hit) => hit[0]));
        },
      ),
      // Shrinking arrays of a thousand rows takes minutes: a failure is reported as found (the seed replays it).
      { seed, numRuns: 400, endOnFailure: true },
    );
    // Proofs are frequent (a short first head and coarse scores make them hard), some after widening;
    // answers given up on are scored in full by the caller.
    expect(proven).toBeGreaterThan(60);
    expect(stats.widened).toBeGreaterThan(0);
    // Some proofs give up early: their best match was shown to rank below every head they would read.
    expect(stats.outranked).toBeGreaterThan(0);
    // The scan of the negated query proves the minimum in some weighted cases that have it (the rows
    // here are copies of a dozen vectors, so the least cosine is often shared by more rows than it lists).
    expect(weightedBothEnds).toBeGreaterThan(20);
    expect(minimumFromHead).toBeLessThan(weightedBothEnds);
  });

  it('does not offer dbsf, whose statistics need every candidate', () => {
    const head = jest.fn(() => []);
    const result = fuseFromHead(
      {
        unitQuery: Float64Array.of(1),
        candidateCount: 3,
        rowCount: 3,
        mask: undefined,
        bm25: new Float64Array(3),
        matched: [],
        idOf: String,
        cosineOf: () => 0,
        head,
      },
      { method: 'dbsf' },
      2,
    );
    expect(result).toBeNull();
    expect(head).not.toHaveBeenCalled();
  });
});

describe('estimating where a row ranks on the vector side from a sample', () => {
  it('counts the candidates scoring strictly above the row, exactly when the sample covers every row', () => {
    console.log(`rank estimate property seed ${seed} (TEST_SEED replays it)`);
    fc.assert(
      fc.property(
        // Coarse scores: equal scores (which never count as above) are common.
        fc.array(fc.record({ score: fc.integer({ min: -4, max: 4 }), passes: fc.boolean() }), {
          minLength: 1,
          maxLength: 400,
          size: 'medium',
        }),
        fc.boolean(),
        fc.nat(),
        (rows, filtered, pick) => {
          const cosine = rows.map((r) => r.score / 8);
          const mask = filtered ? Uint8Array.from(rows, (r) => (r.passes ? 1 : 0)) : undefined;
          const row = pick % rows.length;
          const candidateCount = rows.filter((_, i) => mask === undefined || mask[i] === 1).length;
          const estimate = estimateVectorRank(
            { rowCount: rows.length, candidateCount, mask, cosineOf: (i) => cosine[i] as number },
            row,
          );
          const above = rows.filter(
            (_, i) =>
              (mask === undefined || mask[i] === 1) && (cosine[i] as number) > (cosine[row] as number),
          ).length;
          expect(RANK_SAMPLE).toBeGreaterThan(400);
          expect(estimate).toBeCloseTo(above, 9);
        },
      ),
      { seed, numRuns: 500 },
    );
  });

  it('lands near the true rank when it samples a large bot', () => {
    const rowCount = 100_000;
    // Scores spread evenly: row i scores i / rowCount, so rowCount - 1 - i rows score above it.
    const cosineOf = (row: number) => row / rowCount;
    const row = 99_000;
    const estimate = estimateVectorRank(
      { rowCount, candidateCount: rowCount, mask: undefined, cosineOf },
      row,
    );
    expect(estimate).toBeGreaterThan(500);
    expect(estimate).toBeLessThan(1500);
  });
});
