import fc from 'fast-check';
import { ScanRanks } from '../../src/domain/ranking/scan-ranks';

const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

/** The 1-based rank of `row` among the candidates: higher score first, equal scores by ascending id. */
function bruteRank(scores: number[], ids: string[], candidates: number[], row: number): number {
  const s = scores[row] as number;
  const id = ids[row] as string;
  return (
    1 +
    candidates.filter(
      (other) =>
        other !== row &&
        ((scores[other] as number) > s || ((scores[other] as number) === s && (ids[other] as string) < id)),
    ).length
  );
}

describe('exact vector ranks from one approximate scan', () => {
  it('gives the exact top and the exact ranks of rows, or says the scan is too short', () => {
    console.log(`scan ranks property seed ${seed} (TEST_SEED replays it)`);
    let ranked = 0;
    let tooShort = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            // Coarse exact scores (ties), and an approximation off by at most half the error (the kernel's
            // bound carries a margin for the rounding of its own arithmetic).
            score: fc.integer({ min: -20, max: 20 }),
            off: fc.double({ min: -1, max: 1, noNaN: true }),
            passes: fc.boolean(),
          }),
          { minLength: 1, maxLength: 300 },
        ),
        fc.boolean(),
        fc.integer({ min: 1, max: 320 }),
        fc.integer({ min: 1, max: 30 }),
        fc.nat(),
        fc.constantFrom(0, 0.05, 0.2),
        (rows, filtered, depth, m, pick, error) => {
          const scores = rows.map((r) => r.score / 10);
          const approx = rows.map((r, i) => (scores[i] as number) + (r.off * error) / 2);
          const ids = rows.map((_, i) => `c${(i * 7919) % 10007}`);
          const mask = filtered ? Uint8Array.from(rows, (r) => (r.passes ? 1 : 0)) : undefined;
          const candidates = rows.flatMap((_, i) => (mask === undefined || mask[i] === 1 ? [i] : []));
          // The scan: every row (the mask's too) by approximate score, best first, cut at `depth`.
          const order = rows.map((_, i) => i).sort((a, b) => (approx[b] as number) - (approx[a] as number));
          const listed = order.slice(0, depth);
          const reader = new ScanRanks(
            {
              rows: listed,
              approx: listed.map((i) => approx[i] as number),
              error,
              complete: listed.length === rows.length,
            },
            { mask, idOf: (row) => ids[row] as string, cosineOf: (row) => scores[row] as number },
          );
          const top = reader.top(m);
          const expected = [...candidates]
            .sort((a, b) => bruteRank(scores, ids, candidates, a) - bruteRank(scores, ids, candidates, b))
            .slice(0, m);
          if (top === null) tooShort++;
          else expect(top.map((hit) => hit.ref)).toEqual(expected);
          if (candidates.length === 0) return;
          const row = candidates[pick % candidates.length] as number;
          const rank = reader.rankOf(row);
          if (rank === null) {
            // Only when a row left out could score at least as much.
            const last = listed[listed.length - 1] as number;
            expect(
              listed.length < rows.length && (approx[last] as number) + error >= (scores[row] as number),
            ).toBe(true);
            return;
          }
          ranked++;
          expect(rank).toBe(bruteRank(scores, ids, candidates, row));
          const atLeast = reader.rankAtLeast(row);
          const atMost = reader.rankAtMost(row);
          expect(atLeast).toBeLessThanOrEqual(rank);
          if (atMost !== null) expect(atMost).toBeGreaterThanOrEqual(rank);
        },
      ),
      { seed, numRuns: 500 },
    );
    expect(ranked).toBeGreaterThan(100);
    expect(tooShort).toBeGreaterThan(10);
  });
});
