import fc from 'fast-check';
import { mmrSelect, Ranker } from '../../src/domain/ranking/ranker';

const unit = (v: number[]) => {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
};

/**
 * MMR by its definition: every pick scores every remaining candidate against every pick so far (each
 * similarity summed in index order), the highest value first and the earlier candidate on a tie.
 */
function mmrByDefinition(vectors: number[][], query: number[], count: number, diversity: number): number[] {
  const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
  const picks: number[] = [];
  while (picks.length < Math.min(count, vectors.length)) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    vectors.forEach((vector, i) => {
      if (picks.includes(i)) return;
      const penalty =
        picks.length === 0 ? 0 : Math.max(...picks.map((p) => dot(vector, vectors[p] as number[])));
      const value = (1 - diversity) * dot(vector, query) - diversity * penalty;
      if (best === -1 || value > bestValue) {
        best = i;
        bestValue = value;
      }
    });
    picks.push(best);
  }
  return picks;
}

describe('search ranking', () => {
  it('keeps the best offset + limit and returns the page after offset', () => {
    const ranker = new Ranker<number>({ limit: 2, offset: 1 });
    const scores = [0.1, 0.9, 0.5, 0.7, 0.9];
    scores.forEach((score, i) => {
      ranker.selectorFor('').offer(score, `id-${i}`, i);
    });
    // 0.9 (id-1), 0.9 (id-4), 0.7 (id-3): the page after the first is id-4, id-3.
    expect(ranker.finish(() => [], []).hits.map((h) => h.ref)).toEqual([4, 3]);
  });

  it('ranks groups by their best chunk, keeps group_size per group and skips groups left empty', () => {
    const ranker = new Ranker<string>({ limit: 2, offset: 0, groupSize: 2 });
    const offers: [string, number, string][] = [
      ['a', 0.5, 'a1'],
      ['a', 0.8, 'a2'],
      ['a', 0.7, 'a3'],
      ['b', 0.9, 'b1'],
      ['c', 0.8, 'c1'],
    ];
    ranker.selectorFor('empty');
    for (const [group, score, id] of offers) ranker.selectorFor(group).offer(score, id, id);
    const { groups, hits } = ranker.finish(() => [], []);
    // a's best (0.8, a2) ties c's (0.8, c1) and wins on the lower id.
    expect(groups?.map((g) => [g.id, g.hits.map((h) => h.ref)])).toEqual([
      ['b', ['b1']],
      ['a', ['a2', 'a3']],
    ]);
    expect(hits.map((h) => h.ref)).toEqual(['b1', 'a2', 'a3']);
  });

  it('MMR with diversity 0 keeps relevance order, and with diversity 1 avoids a near-duplicate', () => {
    const vectors: Record<string, number[]> = {
      a: unit([1, 0.01, 0]),
      aa: unit([1, 0.02, 0]),
      b: unit([0.6, 0.8, 0]),
    };
    const query = unit([1, 0.1, 0]);
    const dot = (v: number[]) => v.reduce((s, x, i) => s + x * (query[i] as number), 0);
    const candidates = ['a', 'aa', 'b']
      .map((id) => ({ ref: id, id, score: dot(vectors[id] as number[]) }))
      .sort((x, y) => y.score - x.score);
    const pick = (diversity: number) =>
      mmrSelect(candidates, (id) => vectors[id] as number[], query, 2, diversity).map((h) => h.ref);
    expect(pick(0)).toEqual(candidates.slice(0, 2).map((c) => c.ref));
    expect(pick(1)).toEqual([candidates[0]?.ref, 'b']);
  });

  it('MMR picks what scoring every candidate against every pick picks, ties included (property)', () => {
    // Few distinct directions, so candidates repeat exactly (equal values) and similarities go negative.
    const direction = fc.constantFrom<number[]>(
      [1, 0, 0],
      [0, 1, 0],
      [-1, 0.5, 0],
      [0.6, 0.8, 0],
      [0.5, -0.5, 0.7],
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            direction,
            fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }),
          ),
          {
            minLength: 1,
            maxLength: 24,
          },
        ),
        direction,
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(0, 0.25, 0.5, 0.7, 1),
        (raw, rawQuery, count, diversity) => {
          // A vector too short to scale to unit length stands for [1, 0, 0].
          const vectors = raw.map((v) => (Math.hypot(...v) < 1e-3 ? [1, 0, 0] : unit(v)));
          const query = unit(rawQuery);
          const dot = (v: number[]) => v.reduce((s, x, i) => s + x * (query[i] as number), 0);
          const candidates = vectors
            .map((v, i) => ({ ref: i, id: String(i).padStart(3, '0'), score: dot(v) }))
            .sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1));
          const ordered = candidates.map((c) => vectors[c.ref] as number[]);
          const picked = mmrSelect(candidates, (i) => vectors[i] as number[], query, count, diversity);
          expect(picked.map((p) => p.ref)).toEqual(
            mmrByDefinition(ordered, query, count, diversity).map((i) => candidates[i]?.ref),
          );
        },
      ),
      { numRuns: 500 },
    );
  });

  it('MMR takes each candidate once and as many as asked (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.integer({ min: 1, max: 15 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (raw, count, diversity) => {
          const candidates = raw.map((v, i) => ({
            ref: i,
            id: String(i).padStart(3, '0'),
            score: v[0] as number,
          }));
          const picked = mmrSelect(candidates, (i) => raw[i] as number[], [1, 0, 0], count, diversity);
          expect(picked).toHaveLength(Math.min(count, raw.length));
          expect(new Set(picked.map((p) => p.ref)).size).toBe(picked.length);
        },
      ),
    );
  });
});
