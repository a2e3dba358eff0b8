import {
  cosineWithUnitQuery,
  normalise,
  ScoreBuffer,
  TopKSelector,
  topKByDotProduct,
} from '../../src/domain/ranking/scoring';
import { rng } from '../fixtures/random';

function packedUnitVectors(rows: number, dimension: number, random: () => number): Float32Array {
  const out = new Float32Array(rows * dimension);
  for (let r = 0; r < rows; r++) {
    const unit = normalise(Array.from({ length: dimension }, () => random() * 2 - 1)) as Float64Array;
    out.set(unit, r * dimension);
  }
  return out;
}

function bruteForce(vectors: Float32Array, dimension: number, ids: string[], query: Float64Array) {
  const all = ids.map((id, row) => {
    let dot = 0;
    for (let i = 0; i < dimension; i++)
      dot += (vectors[row * dimension + i] as number) * (query[i] as number);
    return { id, row, score: dot };
  });
  return all.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

describe('top-k by dot product', () => {
  const dimension = 16;
  const random = rng(42);
  const rowCount = 500;
  const vectors = packedUnitVectors(rowCount, dimension, random);
  const ids = Array.from({ length: rowCount }, (_, i) => `chunk-${String(i).padStart(4, '0')}`);
  const idOf = (row: number) => ids[row] as string;

  it('returns the same rows in the same order as a full sort, for many queries and k', () => {
    const scores = new ScoreBuffer();
    for (let q = 0; q < 50; q++) {
      const query = normalise(Array.from({ length: dimension }, () => random() * 2 - 1)) as Float64Array;
      const k = 1 + (q % 20);
      const top = topKByDotProduct(vectors, dimension, rowCount, query, idOf, { k, scores });
      const expected = bruteForce(vectors, dimension, ids, query).slice(0, k);
      expect(top.map((hit) => hit.ref)).toEqual(expected.map((hit) => hit.row));
      top.forEach((hit, i) => {
        expect(hit.score).toBeCloseTo(expected[i]?.score as number, 12);
      });
    }
  });

  it('scores dimensions that are not a multiple of four exactly', () => {
    const odd = 7;
    const oddVectors = packedUnitVectors(50, odd, rng(11));
    const query = normalise(Array.from({ length: odd }, (_, i) => i - 3)) as Float64Array;
    const top = topKByDotProduct(oddVectors, odd, 50, query, idOf, { k: 50 });
    const expected = bruteForce(oddVectors, odd, ids.slice(0, 50), query);
    expect(top.map((hit) => hit.ref)).toEqual(expected.map((hit) => hit.row));
    top.forEach((hit, i) => {
      expect(hit.score).toBeCloseTo(expected[i]?.score as number, 12);
    });
  });

  it('breaks equal scores by ascending chunk_id', () => {
    const same = packedUnitVectors(1, dimension, rng(7));
    const copies = new Float32Array(4 * dimension);
    for (let r = 0; r < 4; r++) copies.set(same, r * dimension);
    const tiedIds = ['d', 'b', 'c', 'a'];
    const query = normalise(same) as Float64Array;
    const top = topKByDotProduct(copies, dimension, 4, query, (row) => tiedIds[row] as string, { k: 3 });
    expect(top.map((hit) => tiedIds[hit.ref])).toEqual(['a', 'b', 'c']);
  });

  it('leaves out rows the mask excludes', () => {
    const query = normalise(vectors.subarray(0, dimension)) as Float64Array;
    const mask = new Uint8Array(rowCount).fill(1);
    mask[0] = 0;
    const top = topKByDotProduct(vectors, dimension, rowCount, query, idOf, { k: 5, mask });
    expect(top.map((hit) => hit.ref)).not.toContain(0);
    const expected = bruteForce(vectors, dimension, ids, query).filter((hit) => hit.row !== 0);
    expect(top.map((hit) => hit.ref)).toEqual(expected.slice(0, 5).map((hit) => hit.row));
  });

  it('leaves out rows scoring below the threshold, even when fewer than k remain', () => {
    const query = normalise(vectors.subarray(dimension, 2 * dimension)) as Float64Array;
    const expected = bruteForce(vectors, dimension, ids, query).filter((hit) => hit.score >= 0.5);
    const top = topKByDotProduct(vectors, dimension, rowCount, query, idOf, { k: 100, scoreThreshold: 0.5 });
    expect(expected.length).toBeLessThan(100);
    expect(top.map((hit) => hit.ref)).toEqual(expected.map((hit) => hit.row));
    expect(top.every((hit) => hit.score >= 0.5)).toBe(true);
  });

  it('returns every row when k exceeds the row count', () => {
    const query = normalise(vectors.subarray(0, dimension)) as Float64Array;
    const top = topKByDotProduct(vectors, dimension, 3, query, idOf, { k: 10 });
    expect(top).toHaveLength(3);
    expect(top[0]?.ref).toBe(0);
  });

  it('gives the same answer when the reused scores buffer held a larger bot before', () => {
    const scores = new ScoreBuffer();
    const query = normalise(vectors.subarray(2 * dimension, 3 * dimension)) as Float64Array;
    topKByDotProduct(vectors, dimension, rowCount, query, idOf, { k: 5, scores });
    const small = topKByDotProduct(vectors, dimension, 50, query, idOf, { k: 5, scores });
    const fresh = topKByDotProduct(vectors, dimension, 50, query, idOf, { k: 5 });
    expect(small).toEqual(fresh);
    expect(small.every((hit) => hit.ref < 50)).toBe(true);
  });

  it('rejects a query of another dimension', () => {
    const query = new Float64Array(dimension + 1);
    expect(() => topKByDotProduct(vectors, dimension, rowCount, query, idOf, { k: 1 })).toThrow(RangeError);
  });
});

describe('top-k selector', () => {
  it('keeps the k best of items offered in any order, best first', () => {
    const random = rng(3);
    const items = Array.from({ length: 1000 }, (_, i) => ({
      id: `id-${i}`,
      score: Math.round(random() * 100) / 100,
    }));
    const selector = new TopKSelector<string>(10);
    for (const item of items) selector.offer(item.score, item.id, item.id);
    const expected = [...items]
      .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
      .slice(0, 10)
      .map((item) => item.id);
    expect(selector.sorted().map((hit) => hit.ref)).toEqual(expected);
  });

  it('refuses a k below 1', () => {
    expect(() => new TopKSelector(0)).toThrow(RangeError);
  });
});

describe('normalise and cosine', () => {
  it('scales a vector to unit length', () => {
    const unit = normalise([3, 4]) as Float64Array;
    expect(Array.from(unit)).toEqual([0.6, 0.8]);
  });

  it('has no direction for a zero vector', () => {
    expect(normalise([0, 0, 0])).toBeNull();
  });

  it('computes cosine of a raw vector against a unit query, and 0 for a zero vector', () => {
    const query = normalise([1, 0]) as Float64Array;
    expect(cosineWithUnitQuery([2, 2], query)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(cosineWithUnitQuery([0, 0], query)).toBe(0);
  });
});
