import fc from 'fast-check';
import { recommendRequestSchema, searchRequestSchema } from '../../src/contracts/search-request';
import {
  averageVector,
  bestScore,
  bestScoreOfRow,
  scaledFastSigmoid,
} from '../../src/domain/ranking/recommend';

const DIM = 4;
const vector = fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: DIM, maxLength: DIM });

describe('recommend strategies', () => {
  it('average_vector is avg(positive) + (avg(positive) - avg(negative)), or avg(positive) alone', () => {
    const p1 = Float64Array.from([1, 0, 0, 0]);
    const p2 = Float64Array.from([0, 1, 0, 0]);
    const n1 = Float64Array.from([0, 0, 1, 0]);
    expect(Array.from(averageVector({ positive: [p1, p2], negative: [] }, DIM))).toEqual([0.5, 0.5, 0, 0]);
    expect(Array.from(averageVector({ positive: [p1, p2], negative: [n1] }, DIM))).toEqual([1, 1, -1, 0]);
    expect(() => averageVector({ positive: [], negative: [n1] }, DIM)).toThrow(RangeError);
  });

  it('best_score is sigmoid(best positive) when it beats the best negative, else -sigmoid(best negative)', () => {
    expect(bestScore(0.8, 0.2)).toBeCloseTo(0.5 * (0.8 / 1.8 + 1), 12);
    expect(bestScore(0.2, 0.8)).toBeCloseTo(-0.5 * (0.8 / 1.8 + 1), 12);
    expect(bestScore(Number.NEGATIVE_INFINITY, -0.5)).toBeCloseTo(-0.5 * (-0.5 / 1.5 + 1), 12);
    expect(bestScore(0.3, Number.NEGATIVE_INFINITY)).toBeCloseTo(scaledFastSigmoid(0.3), 12);
  });

  it('scores a row as the brute force does, and ranks every row nearer a positive above every row nearer a negative', () => {
    fc.assert(
      fc.property(
        vector,
        fc.array(vector, { maxLength: 3 }),
        fc.array(vector, { maxLength: 3 }),
        (row, pos, neg) => {
          fc.pre(pos.length + neg.length > 0);
          const rows = Float32Array.from(row);
          const examples = {
            positive: pos.map((v) => Float64Array.from(v)),
            negative: neg.map((v) => Float64Array.from(v)),
          };
          const dot = (v: number[]) => v.reduce((sum, x, i) => sum + x * (rows[i] as number), 0);
          const p = Math.max(...pos.map(dot));
          const n = Math.max(...neg.map(dot));
          const score = bestScoreOfRow(rows, 0, examples, DIM);
          const want = p > n ? scaledFastSigmoid(p) : -scaledFastSigmoid(n);
          expect(score).toBeCloseTo(want, 9);
          expect(score > 0).toBe(p > n);
        },
      ),
    );
  });
});

describe('recommend and search-by-id requests', () => {
  const problem = (schema: typeof recommendRequestSchema | typeof searchRequestSchema, body: unknown) => {
    const parsed = schema.safeParse(body);
    return parsed.success ? undefined : parsed.error.issues[0]?.path.join('.');
  };

  it('needs a positive example for average_vector and any example for best_score', () => {
    expect(problem(recommendRequestSchema, { negative: ['a'] })).toBe('positive');
    expect(problem(recommendRequestSchema, { strategy: 'best_score' })).toBe('positive');
    expect(problem(recommendRequestSchema, { negative: ['a'], strategy: 'best_score' })).toBeUndefined();
    expect(problem(recommendRequestSchema, { positive: ['a'], strategy: 'sum_scores' })).toBe('strategy');
    expect(problem(recommendRequestSchema, { positive: Array(33).fill('a') })).toBe('positive');
    expect(problem(recommendRequestSchema, { positive: ['a'], mmr: { diversity: 0.5 } })).toBe('');
    expect(problem(recommendRequestSchema, { positive: ['a'], group_size: 2 })).toBe('group_size');
  });

  it('takes query in the place of embedding, never both', () => {
    expect(problem(searchRequestSchema, { query: 'a~1' })).toBeUndefined();
    expect(problem(searchRequestSchema, { query: 'a', embedding: [1] })).toBe('query');
    expect(problem(searchRequestSchema, { query: '' })).toBe('query');
    expect(
      problem(searchRequestSchema, { query: 'a', query_text: 'x', fusion: { method: 'rrf' } }),
    ).toBeUndefined();
  });
});
