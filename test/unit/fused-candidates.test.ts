import fc from 'fast-check';
import { topFusedCandidates } from '../../src/domain/ranking/fused-candidates';
import type { Fusion } from '../../src/domain/ranking/fusion';
import { bruteFuse } from '../fixtures/brute-keywords';
import { fusedTop } from '../fixtures/fused-top';
import { rrfFusions, weightedFusion } from '../fixtures/hybrid-case';

const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

const fusionArbitrary = fc.oneof(
  rrfFusions(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(1e6))),
  weightedFusion,
  fc.record({ method: fc.constant('dbsf' as const) }),
);

describe('hybrid fusion over the candidates that can reach the top', () => {
  it('gives the same top hits and the same three scores as fusing every candidate (brute force)', () => {
    console.log(`fused candidates property seed ${seed} (TEST_SEED replays it)`);
    let proven = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            // Coarse scores so ties happen and the id tie-break matters.
            vector: fc.integer({ min: -6, max: 6 }),
            keyword: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 4 })),
            passes: fc.boolean(),
          }),
          { minLength: 1, maxLength: 300 },
        ),
        fc.boolean(),
        fusionArbitrary,
        fc.integer({ min: 1, max: 25 }),
        // A short head makes most matches fall below it, so the bound decides who is ranked exactly.
        fc.integer({ min: 0, max: 12 }),
        (rows, filtered, fusion: Fusion, keep, head) => {
          const ids = rows.map((_, i) => `c${(i * 7919) % 1009}`);
          const cosine = Float64Array.from(rows, (r) => r.vector / 8);
          const bm25 = Float64Array.from(rows, (r) => r.keyword * 1.25);
          const mask = filtered ? Uint8Array.from(rows, (r) => (r.passes ? 1 : 0)) : undefined;
          const matched = rows.flatMap((r, i) => (r.keyword > 0 ? [i] : []));
          const candidates = rows.flatMap((_, i) => (mask === undefined || mask[i] === 1 ? [i] : []));

          const few = topFusedCandidates(
            { rowCount: rows.length, mask, cosine, bm25, matched, idOf: (row) => ids[row] as string },
            fusion,
            keep,
            head,
          );

          const pick = (xs: ArrayLike<number>) => candidates.map((i) => xs[i] as number);
          const candidateIds = candidates.map((i) => ids[i] as string);
          const expected = fusedTop(
            candidateIds,
            pick(cosine),
            pick(bm25),
            bruteFuse(pick(cosine), pick(bm25), candidateIds, fusion),
            keep,
          );
          // Null: the bound could not prove the reduction for these scores (the caller fuses everything).
          if (few === null) return;
          proven += 1;
          expect(
            fusedTop(
              few.rows.map((row) => ids[row] as string),
              few.vector,
              few.keyword,
              few.fused,
              keep,
            ),
          ).toEqual(expected);
        },
      ),
      { seed, numRuns: 400 },
    );
    // The reduction is the common case, not the exception, even with these short heads.
    expect(proven).toBeGreaterThan(250);
  });
});
