import fc from 'fast-check';
import { loadUsearchInt8Scan } from '../../src/adapters/native/usearch-scan';
import { type Int8Distances, type Int8TopScan, quantiseMatrix } from '../../src/domain/ranking/int8-codes';
import { QuantisedScanner } from '../../src/domain/ranking/quantised-scan';
import {
  type DenseScores,
  dotRow,
  type Float32Distances,
  normalise,
  type TopKOptions,
  topKByDotProduct,
  type VectorScan,
  type VectorScans,
} from '../../src/domain/ranking/scoring';
import { PORTABLE_SCORING_METRIC, searchKernel } from '../../src/wiring/search-kernel';
import { rng } from '../fixtures/random';

/**
 * The int8 kernel must give exactly what the portable float loop gives: same rows, same order (ties by
 * ascending id), bit-identical scores. Every case compares the two on the same inputs.
 */
const loaded = loadUsearchInt8Scan();
const nativeScan = loaded.scan as Int8TopScan;

function unitRows(rows: number, dimension: number, random: () => number): Float32Array {
  const out = new Float32Array(rows * dimension);
  // One scratch row for the draws: thousands of rows of a few hundred values each are made per test.
  const row = new Float64Array(dimension);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < dimension; i++) row[i] = random() * 2 - 1;
    out.set(normalise(row) as Float64Array, r * dimension);
  }
  return out;
}

function unitQuery(dimension: number, random: () => number): Float64Array {
  return normalise(Array.from({ length: dimension }, () => random() * 2 - 1)) as Float64Array;
}

/** Ids whose order differs from row order, so a tie broken by row instead of id would show. */
function shuffledIds(rows: number, random: () => number): string[] {
  const ids = Array.from({ length: rows }, (_, i) => `chunk-${String(i).padStart(6, '0')}`);
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ids[i], ids[j]] = [ids[j] as string, ids[i] as string];
  }
  return ids;
}

type Case = {
  vectors: Float32Array;
  dimension: number;
  rows: number;
  query: Float64Array;
  ids: string[];
  options: Pick<TopKOptions, 'k' | 'scoreThreshold' | 'mask'>;
};

/** Runs both paths; asserts the kernel answered (did not decline) and equals the portable loop. */
function expectSameAsPortable(scanner: QuantisedScanner, c: Case) {
  const idOf = (row: number) => c.ids[row] as string;
  const portable = topKByDotProduct(c.vectors, c.dimension, c.rows, c.query, idOf, c.options);
  const fast = scanner.topK(c.vectors, c.dimension, c.rows, c.query, idOf, c.options);
  expect(fast).not.toBeNull();
  expect(fast).toEqual(portable);
  return portable;
}

describe('usearch int8 scan binary', () => {
  it('loads the prebuilt binary for this platform and answers a known case', () => {
    expect(loaded).toMatchObject({ path: expect.stringContaining('usearch.node') });
    const found = nativeScan(new Int8Array([1, 2, -3, 4, 0, 0, 127, 127]), new Int8Array([1, 1]), 2, 4);
    expect(Array.from(found.rows)).toEqual([3, 0, 1, 2]);
    expect(Array.from(found.dots)).toEqual([254, 3, 1, 0]);
  });

  it('gives the int8 inner-product distance, 1 minus the integer dot, of every row to one query, in row order', () => {
    const { int8Distances } = loaded as { int8Distances: Int8Distances };
    const codes = new Int8Array([1, 2, -3, 4, 0, 0, 127, 127]);
    expect(Array.from(int8Distances(codes, new Int8Array([1, 1]), 2))).toEqual([-2, 0, 1, -253]);
  });

  it('gives the float32 inner-product distance of every row to one query, in row order', () => {
    const { distances } = loaded as { distances: Float32Distances };
    expect(distances).not.toBeNull();
    const rows = new Float32Array([1, 2, -3, 4, 0, 0, 0.5, 0.25]);
    expect(Array.from(distances(rows, new Float32Array([1, 1]), 2))).toEqual([-2, 0, 1, 0.25]);
  });

  it('reports a binary that cannot load instead of throwing', () => {
    const missing = loadUsearchInt8Scan('/nonexistent/usearch.node');
    expect(missing.scan).toBeNull();
    expect('error' in missing && missing.error.message).toContain('/nonexistent/usearch.node');
  });
});

describe('dense float32 pass', () => {
  const scanner = new QuantisedScanner(nativeScan, {
    minRows: 0,
    portableSearchesFirst: 0,
    distances: (loaded as { distances: Float32Distances }).distances,
  });

  it('scores every row within its bound of the exact score, a bound far under the int8 one', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 300 }),
        (seed, dimension, rows) => {
          const random = rng(seed);
          const vectors = unitRows(rows, dimension, random);
          const query = unitQuery(dimension, random);
          const dense = scanner.dense(vectors, dimension, rows, query);
          expect(dense).not.toBeNull();
          const { approx, error } = dense as DenseScores;
          // Unit rows and query: d·2^-24 for the float32 sum, plus the roundings around it.
          expect(error).toBeLessThan((dimension + 8) * 2 ** -24 + 2e-9);
          for (let row = 0; row < rows; row++) {
            const exact = dotRow(vectors, row * dimension, query, dimension);
            expect(Math.abs((approx[row] as number) - exact)).toBeLessThanOrEqual(error);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('declines rows that start past the first byte of their buffer, which the native pass cannot read', () => {
    const random = rng(5);
    const vectors = unitRows(40, 8, random);
    const shifted = new Float32Array(41 * 8);
    shifted.set(vectors, 8);
    expect(scanner.dense(shifted.subarray(8), 8, 40, unitQuery(8, random))).toBeNull();
  });
});

describe('quantisation error bound', () => {
  it('bounds |exact − approximate| for every row and query (seeded)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 3, max: 200 }), (seed, dimension) => {
        const random = rng(seed);
        const rows = 40;
        const vectors = unitRows(rows, dimension, random);
        const matrix = quantiseMatrix(vectors, dimension, rows);
        const query = unitQuery(dimension, random);
        let maxAbs = 0;
        for (const x of query) maxAbs = Math.max(maxAbs, Math.abs(x));
        const queryScale = 127 / maxAbs;
        const codes = Array.from(query, (x) => Math.round(x * queryScale));
        const queryResidual = Math.sqrt(
          query.reduce((s, x, i) => s + (x - (codes[i] as number) / queryScale) ** 2, 0),
        );
        const bound = matrix.maxCodeNorm * queryResidual + matrix.maxResidualNorm;
        for (let r = 0; r < rows; r++) {
          let integerDot = 0;
          for (let i = 0; i < dimension; i++)
            integerDot += (matrix.codes[r * dimension + i] as number) * (codes[i] as number);
          const approximate = integerDot / (matrix.scale * queryScale);
          expect(
            Math.abs(dotRow(vectors, r * dimension, query, dimension) - approximate),
          ).toBeLessThanOrEqual(bound + 1e-12);
        }
      }),
      { numRuns: 50 },
    );
  });
});

describe('quantised scan: exact top-k', () => {
  it('equals the float loop on random data, for any k, dimension and threshold (seeded)', () => {
    const scanner = new QuantisedScanner(nativeScan, { minRows: 1, portableSearchesFirst: 0 });
    // No slack: the first scan asks for 2k candidates only, so the proof often fails and the scan widens.
    const narrow = new QuantisedScanner(nativeScan, {
      minRows: 1,
      portableSearchesFirst: 0,
      initialSlack: 0,
    });
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 20, max: 800 }),
        fc.constantFrom(3, 8, 17, 64, 384),
        fc.integer({ min: 1, max: 120 }),
        fc.option(fc.double({ min: -0.5, max: 0.5, noNaN: true }), { nil: undefined }),
        (seed, rows, dimension, k, scoreThreshold) => {
          const random = rng(seed);
          const vectors = unitRows(rows, dimension, random);
          const c = {
            vectors,
            dimension,
            rows,
            query: unitQuery(dimension, random),
            ids: shuffledIds(rows, random),
            options: { k, ...(scoreThreshold === undefined ? {} : { scoreThreshold }) },
          };
          expectSameAsPortable(scanner, c);
          expectSameAsPortable(narrow, c);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('widens the scan when the first candidates cannot be proved, and still equals the float loop', () => {
    const random = rng(31);
    const dimension = 384;
    const rows = 3000;
    const vectors = unitRows(rows, dimension, random);
    const ids = shuffledIds(rows, random);
    const narrow = new QuantisedScanner(nativeScan, { portableSearchesFirst: 0, initialSlack: 0 });
    for (let q = 0; q < 10; q++) {
      const query = unitQuery(dimension, random);
      expectSameAsPortable(narrow, { vectors, dimension, rows, query, ids, options: { k: 10 } });
    }
    expect(narrow.stats.widened).toBeGreaterThan(0);
  });

  it('orders near-ties (within 1e-7) and exact duplicates by ascending id', () => {
    const random = rng(101);
    const dimension = 384;
    const rows = 2000;
    const vectors = unitRows(rows, dimension, random);
    const query = unitQuery(dimension, random);
    // 300 rows a hair away from the query's direction (float32 steps, so many scores tie exactly)...
    for (let r = 0; r < 300; r++) {
      for (let i = 0; i < dimension; i++) {
        vectors[r * dimension + i] = (query[i] as number) + (random() - 0.5) * 1e-7;
      }
    }
    // ...and 50 exact duplicates of row 0.
    for (let r = 300; r < 350; r++) vectors.copyWithin(r * dimension, 0, dimension);
    const scanner = new QuantisedScanner(nativeScan, { portableSearchesFirst: 0 });
    const ids = shuffledIds(rows, random);
    for (const k of [1, 10, 100]) {
      const top = expectSameAsPortable(scanner, { vectors, dimension, rows, query, ids, options: { k } });
      for (let i = 1; i < top.length; i++) {
        const [before, after] = [top[i - 1], top[i]] as [(typeof top)[0], (typeof top)[0]];
        expect(
          before.score > after.score ||
            (before.score === after.score && (ids[before.ref] as string) < (ids[after.ref] as string)),
        ).toBe(true);
      }
    }
    // int8 cannot tell these rows apart, so the bound cannot prove a cut inside them: it widened.
    expect(scanner.stats.widened).toBeGreaterThan(0);
  });

  it('re-scores rows that int8 rounding puts in the wrong order', () => {
    // 40 rows whose components differ by less than one int8 step: int8 gives them the same codes, so an
    // int8 ranking returns rows 0, 1, 2, 3, ... while the float ranking is 1, 3, 0, 2, 4, 6, ...
    const dimension = 64;
    const rows = 600;
    const random = rng(7);
    const vectors = unitRows(rows, dimension, random);
    const query = new Float64Array(dimension).fill(1 / Math.sqrt(dimension));
    const step = 0.02;
    for (let r = 0; r < 40; r++) {
      const up = r % 2 === 0;
      for (let i = 0; i < dimension; i++) {
        vectors[r * dimension + i] = step * (3 + (up ? 0.49 : 0.51)) + (up ? 0 : -1e-4 * r);
      }
      vectors[r * dimension] = 1; // sets the matrix scale: 127 per unit, the step above is ~2.5 codes
    }
    const scanner = new QuantisedScanner(nativeScan, { minRows: 1, portableSearchesFirst: 0 });
    const ids = shuffledIds(rows, random);
    for (const k of [1, 5, 20, 39]) {
      expectSameAsPortable(scanner, { vectors, dimension, rows, query, ids, options: { k } });
    }
  });

  it('returns k rows whenever k rows pass the filter, for masks of every selectivity', () => {
    const random = rng(2024);
    const dimension = 128;
    const rows = 3000;
    const vectors = unitRows(rows, dimension, random);
    const ids = shuffledIds(rows, random);
    const scanner = new QuantisedScanner(nativeScan, { minRows: 1, portableSearchesFirst: 0 });
    for (const share of [0.002, 0.01, 0.1, 0.3, 0.5, 0.6, 0.9, 0.999]) {
      const mask = new Uint8Array(rows);
      for (let r = 0; r < rows; r++) mask[r] = random() < share ? 1 : 0;
      const matching = mask.reduce((n, m) => n + m, 0);
      for (const k of [1, 10, 100]) {
        const query = unitQuery(dimension, random);
        const top = expectSameAsPortable(scanner, {
          vectors,
          dimension,
          rows,
          query,
          ids,
          options: { k, mask },
        });
        expect(top).toHaveLength(Math.min(k, matching));
        for (const hit of top) expect(mask[hit.ref]).toBe(1);
      }
    }
  });

  it('gives every row when k exceeds the rows, and honours a threshold under a filter', () => {
    const random = rng(55);
    const dimension = 32;
    const rows = 500;
    const vectors = unitRows(rows, dimension, random);
    const ids = shuffledIds(rows, random);
    const scanner = new QuantisedScanner(nativeScan, { minRows: 1, portableSearchesFirst: 0 });
    const query = unitQuery(dimension, random);
    expect(
      expectSameAsPortable(scanner, { vectors, dimension, rows, query, ids, options: { k: 600 } }),
    ).toHaveLength(rows);
    const mask = new Uint8Array(rows).map((_, r) => (r % 3 === 0 ? 1 : 0));
    const top = expectSameAsPortable(scanner, {
      vectors,
      dimension,
      rows,
      query,
      ids,
      options: { k: 50, mask, scoreThreshold: 0.1 },
    });
    for (const hit of top) expect(hit.score).toBeGreaterThanOrEqual(0.1);
  });

  it('leaves the first search of a matrix to the portable loop, then makes the copy once', () => {
    const random = rng(4);
    const vectors = unitRows(400, 16, random);
    const scanner = new QuantisedScanner(nativeScan);
    const ids = shuffledIds(400, random);
    const idOf = (row: number) => ids[row] as string;
    expect(scanner.topK(vectors, 16, 400, unitQuery(16, random), idOf, { k: 5 })).toBeNull();
    expect(scanner.stats.quantised).toBe(0);
    for (let q = 0; q < 3; q++) {
      expectSameAsPortable(scanner, {
        vectors,
        dimension: 16,
        rows: 400,
        query: unitQuery(16, random),
        ids,
        options: { k: 5 },
      });
    }
    expect(scanner.stats.quantised).toBe(1);
  });

  it('makes the int8 copy once per vectors array', () => {
    const random = rng(3);
    const vectors = unitRows(400, 16, random);
    const scanner = new QuantisedScanner(nativeScan, { portableSearchesFirst: 0 });
    const ids = shuffledIds(400, random);
    for (let q = 0; q < 5; q++) {
      expectSameAsPortable(scanner, {
        vectors,
        dimension: 16,
        rows: 400,
        query: unitQuery(16, random),
        ids,
        options: { k: 5 },
      });
    }
    expect(scanner.stats.quantised).toBe(1);
  });
});

describe('approximate scan of both ends', () => {
  const { int8Distances } = loaded as { int8Distances: Int8Distances };
  it.each([
    ['one scan of the query and its negation', {}],
    ['one dense pass of every dot', { int8Distances, denseEndsMinRows: 0 }],
  ])(
    "lists the query's rows and its negation's from %s, each within the bound and in scan order",
    (_, how) => {
      const random = rng(77);
      const dimension = 48;
      const rows = 2000;
      const vectors = unitRows(rows, dimension, random);
      const scanner = new QuantisedScanner(nativeScan, { minRows: 1, portableSearchesFirst: 0, ...how });
      for (const share of [1, 0.3, 0.7]) {
        const mask =
          share === 1 ? undefined : Uint8Array.from({ length: rows }, () => (random() < share ? 1 : 0));
        const query = unitQuery(dimension, random);
        const both = scanner.approximate(vectors, dimension, rows, query, 40, mask, true);
        const alone = scanner.approximate(vectors, dimension, rows, query, 40, mask);
        expect(both?.bottom).toBeDefined();
        expect(alone?.bottom).toBeUndefined();
        const top = both as VectorScan;
        const bottom = both?.bottom as VectorScan;
        // The top list is the one `approximate` gives without the bottom.
        expect(Array.from(top.approx)).toEqual(Array.from(alone?.approx ?? []));
        expect(top.error).toBe(alone?.error);
        const cosines = Array.from({ length: rows }, (_, r) =>
          dotRow(vectors, r * dimension, query, dimension),
        );
        const passing = (r: number) => mask === undefined || mask[r] === 1;
        for (const [scan, sign] of [
          [top, 1],
          [bottom, -1],
        ] as const) {
          expect(scan.rows.length).toBeGreaterThanOrEqual(40);
          for (let i = 0; i < scan.rows.length; i++) {
            const row = scan.rows[i] as number;
            expect(
              Math.abs(sign * (cosines[row] as number) - (scan.approx[i] as number)),
            ).toBeLessThanOrEqual(scan.error);
            if (i > 0) expect(scan.approx[i] as number).toBeLessThanOrEqual(scan.approx[i - 1] as number);
          }
          // Every passing row left out scores at most the last listed row's ceiling.
          const listed = new Set(Array.from(scan.rows));
          const ceiling = (scan.approx[scan.approx.length - 1] as number) + scan.error;
          for (let r = 0; r < rows; r++) {
            if (passing(r) && !listed.has(r))
              expect(sign * (cosines[r] as number)).toBeLessThanOrEqual(ceiling);
          }
        }
        // The bottom list holds the least cosine among the passing rows.
        const least = Math.min(...cosines.filter((_, r) => passing(r)));
        expect(Array.from(bottom.rows).some((row) => cosines[row] === least)).toBe(true);
      }
    },
  );

  it('lists both ends from every dot only between the sizes it is given, and the same scores either way', () => {
    const random = rng(79);
    const dimension = 32;
    const vectors = unitRows(1200, dimension, random);
    let passes = 0;
    const counted: Int8Distances = (codes, query, d) => {
      passes++;
      return int8Distances(codes, query, d);
    };
    const scanner = new QuantisedScanner(nativeScan, {
      minRows: 1,
      portableSearchesFirst: 0,
      int8Distances: counted,
      denseEndsMinRows: 500,
      denseEndsMaxRows: 1000,
    });
    const scanned = new QuantisedScanner(nativeScan, { minRows: 1, portableSearchesFirst: 0 });
    for (const [rows, viaPass] of [
      [400, false],
      [500, true],
      [1000, true],
      [1001, false],
      [1200, false],
    ] as const) {
      const query = unitQuery(dimension, random);
      passes = 0;
      const found = scanner.approximate(vectors, dimension, rows, query, 30, undefined, true) as VectorScans;
      expect([rows, passes > 0]).toEqual([rows, viaPass]);
      const plain = scanned.approximate(vectors, dimension, rows, query, 30, undefined, true) as VectorScans;
      expect(Array.from(found.approx)).toEqual(Array.from(plain.approx));
      expect(Array.from(found.bottom?.approx ?? [])).toEqual(Array.from(plain.bottom?.approx ?? []));
    }
  });

  it('lists a long top from every dot with the scores, and past ties the rows, the native scan lists', () => {
    const random = rng(78);
    const dimension = 48;
    const rows = 3000;
    const vectors = unitRows(rows, dimension, random);
    const scanned = new QuantisedScanner(nativeScan, { minRows: 1, portableSearchesFirst: 0 });
    const dense = new QuantisedScanner(nativeScan, {
      minRows: 1,
      portableSearchesFirst: 0,
      int8Distances,
      denseEndsMinRows: 0,
    });
    for (const wanted of [rows / 8, rows / 2]) {
      const query = unitQuery(dimension, random);
      const a = scanned.approximate(vectors, dimension, rows, query, wanted, undefined) as VectorScan;
      const b = dense.approximate(vectors, dimension, rows, query, wanted, undefined) as VectorScan;
      expect(Array.from(b.approx)).toEqual(Array.from(a.approx));
      expect(b.error).toBe(a.error);
      // Rows above the last listed score are the same rows; rows at it may be any of the tied ones.
      const last = a.approx[a.approx.length - 1] as number;
      const above = (scan: VectorScan) =>
        Array.from(scan.rows)
          .filter((_, i) => (scan.approx[i] as number) > last)
          .sort((x, y) => x - y);
      expect(above(b)).toEqual(above(a));
    }
  });
});

describe('portable fallback', () => {
  const random = rng(77);
  const dimension = 384;
  const rows = 1000;
  const vectors = unitRows(rows, dimension, random);
  const ids = shuffledIds(rows, random);
  const idOf = (row: number) => ids[row] as string;

  it('declines without a native scan, and search answers the same through the portable loop', () => {
    const without = new QuantisedScanner(null);
    const withNative = new QuantisedScanner(nativeScan, { portableSearchesFirst: 0 });
    const query = unitQuery(dimension, random);
    expect(without.topK(vectors, dimension, rows, query, idOf, { k: 10 })).toBeNull();
    expect(topKByDotProduct(vectors, dimension, rows, query, idOf, { k: 10, kernel: without })).toEqual(
      topKByDotProduct(vectors, dimension, rows, query, idOf, { k: 10, kernel: withNative }),
    );
  });

  it('stops using a scan that throws, reports it once, and still answers exactly', () => {
    const failures: unknown[] = [];
    const scanner = new QuantisedScanner(
      () => {
        throw new Error('illegal instruction');
      },
      { onScanFailure: (error) => failures.push(error) },
    );
    for (let q = 0; q < 3; q++) {
      const query = unitQuery(dimension, random);
      expect(topKByDotProduct(vectors, dimension, rows, query, idOf, { k: 7, kernel: scanner })).toEqual(
        topKByDotProduct(vectors, dimension, rows, query, idOf, { k: 7 }),
      );
    }
    expect(failures).toHaveLength(1);
    expect(scanner.available).toBe(false);
  });
});

describe('search kernel wiring', () => {
  it('loads on the first search; logs a binary that cannot load once, counts it once, and declines', () => {
    const errors: string[] = [];
    const metrics: [string, number][] = [];
    const kernel = searchKernel(
      { error: (message: string) => errors.push(message) },
      { addMetric: (name: string, _unit: unknown, value: number) => metrics.push([name, value]) },
      () => loadUsearchInt8Scan('/nonexistent/usearch.node'),
    );
    expect(errors).toEqual([]);
    const random = rng(9);
    const vectors = unitRows(500, 8, random);
    expect(kernel.topK(vectors, 8, 500, unitQuery(8, random), String, { k: 3 })).toBeNull();
    expect(kernel.topK(vectors, 8, 500, unitQuery(8, random), String, { k: 3 })).toBeNull();
    expect(kernel.scanner().available).toBe(false);
    expect(errors).toHaveLength(1);
    expect(metrics).toEqual([[PORTABLE_SCORING_METRIC, 1]]);
  });

  it('uses the native scan when the binary loads, and reports nothing', () => {
    const errors: string[] = [];
    const kernel = searchKernel(
      { error: (message: string) => errors.push(message) },
      { addMetric: () => {} },
    );
    expect(kernel.scanner().available).toBe(true);
    expect(errors).toEqual([]);
  });

  it('gives hybrid and grouped search the approximate native scan they prove their tops from', () => {
    const kernel = searchKernel({ error: () => {} }, { addMetric: () => {} });
    const random = rng(11);
    const vectors = unitRows(600, 16, random);
    const query = unitQuery(16, random);
    // A matrix's first sighting is scored by the portable loop; the native scan answers from the second.
    kernel.approximate(vectors, 16, 600, query, 20, undefined);
    const scan = kernel.approximate(vectors, 16, 600, query, 20, undefined);
    expect(scan?.rows).toHaveLength(20);
    const { rows, approx, error } = scan as NonNullable<typeof scan>;
    for (let i = 0; i < rows.length; i++) {
      const exact = dotRow(vectors, (rows[i] as number) * 16, query, 16);
      expect(Math.abs(exact - (approx[i] as number))).toBeLessThanOrEqual(error);
    }
    // Weighted fusion's one pass for both ends (the vector side's maximum and minimum).
    const ends = kernel.approximate(vectors, 16, 600, query, 20, undefined, true);
    expect(ends?.bottom?.rows).toHaveLength(20);
    const least = ends?.bottom?.rows[0] as number;
    expect(-dotRow(vectors, least * 16, query, 16)).toBeCloseTo(ends?.bottom?.approx[0] as number, 1);
  });
});
