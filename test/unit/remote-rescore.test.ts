import { loadUsearchInt8Scan } from '../../src/adapters/native/usearch-scan';
import { type Int8TopScan, quantiseRowsInto } from '../../src/domain/ranking/int8-codes';
import { remoteTopK } from '../../src/domain/ranking/remote-rescore';
import { normalise, ScoreBuffer, topKByDotProduct } from '../../src/domain/ranking/scoring';
import { replayHint, rng, testSeed } from '../fixtures/random';

/**
 * The cold search's re-score (remote-rescore.ts) must give exactly the float32 exact answer while it
 * fetches only candidates: same rows, same order (ties by id), the same scores. The codes are made as
 * the Redis snapshot makes them (one scale for the bot, clamped), some rows are free slots.
 */
const scan = loadUsearchInt8Scan().scan as Int8TopScan;

function unit(values: ArrayLike<number>): Float64Array {
  return normalise(values) as Float64Array;
}

type World = {
  vectors: Float32Array;
  codes: Int8Array;
  scale: number;
  bound: { maxCodeNorm: number; maxResidualNorm: number };
  ids: string[];
  live: Uint8Array;
};

/** Rows in clusters of near-duplicates (the int8 order there is noise), some freed; ids shuffled. */
function world(rows: number, dimension: number, random: () => number, scale: number): World {
  const vectors = new Float32Array(rows * dimension);
  // Scratch rows for the draws (30 worlds of 2,000 rows are made).
  const draws = new Float64Array(dimension);
  const randomUnit = () => {
    for (let i = 0; i < dimension; i++) draws[i] = random() * 2 - 1;
    return unit(draws);
  };
  let centre = randomUnit();
  for (let r = 0; r < rows; r++) {
    if (r % 8 === 0) centre = randomUnit();
    for (let i = 0; i < dimension; i++) draws[i] = (centre[i] as number) + (random() - 0.5) * 0.02;
    vectors.set(unit(draws), r * dimension);
  }
  const codes = new Int8Array(rows * dimension);
  const bound = quantiseRowsInto(vectors, dimension, rows, scale, codes, 0);
  const ids = Array.from({ length: rows }, (_, i) => `c-${String((i * 7919) % rows).padStart(6, '0')}`);
  const live = new Uint8Array(rows).map(() => (random() < 0.1 ? 0 : 1));
  return { vectors, codes, scale, bound, ids, live };
}

describe('remote re-score from int8 codes', () => {
  it('equals float32 exact search, widening when the bound cannot prove the first candidates', async () => {
    const seed = testSeed();
    console.log(`remote re-score: ${replayHint(seed)}`);
    const random = rng(seed);
    const dimension = 48;
    const rows = 2000;
    let widened = 0;
    let fetchedTotal = 0;
    for (let trial = 0; trial < 30; trial++) {
      // Scales from the rebuild's (largest component at 127) down to a coarse one, as after clamping.
      const w = world(rows, dimension, random, trial % 2 === 0 ? 127 / 0.6 : 127);
      const liveRows = Array.from({ length: rows }, (_, i) => i).filter((row) => w.live[row] === 1);
      const packed = new Float32Array(liveRows.length * dimension);
      liveRows.forEach((row, i) => {
        packed.set(w.vectors.subarray(row * dimension, (row + 1) * dimension), i * dimension);
      });
      const near = liveRows[Math.floor(random() * liveRows.length)] as number;
      const query = unit(
        Array.from(
          w.vectors.subarray(near * dimension, (near + 1) * dimension),
          (x) => x + (random() - 0.5) * 0.01,
        ),
      );
      const k = 1 + Math.floor(random() * 20);
      const threshold = trial % 5 === 4 ? 0.5 : undefined;
      const expected = topKByDotProduct(
        packed,
        dimension,
        liveRows.length,
        query,
        (i) => w.ids[liveRows[i] as number] as string,
        {
          k,
          scores: new ScoreBuffer(),
          ...(threshold === undefined ? {} : { scoreThreshold: threshold }),
        },
      ).map((hit) => ({ row: liveRows[hit.ref] as number, score: hit.score }));

      const asked: number[] = [];
      const got = await remoteTopK(
        scan,
        { codes: w.codes, dimension, rowCount: rows, scale: w.scale, ...w.bound },
        query,
        async (wanted) => {
          asked.push(...wanted);
          const vectors = new Float32Array(wanted.length * dimension);
          wanted.forEach((row, i) => {
            vectors.set(w.vectors.subarray(row * dimension, (row + 1) * dimension), i * dimension);
          });
          return { vectors, ids: wanted.map((row) => w.ids[row] as string) };
        },
        {
          k,
          liveMask: w.live,
          initialSlack: 0,
          ...(threshold === undefined ? {} : { scoreThreshold: threshold }),
        },
      );
      expect(got).not.toBeNull();
      expect(got?.hits.map((hit) => ({ row: hit.ref, score: hit.score }))).toEqual(expected);
      // Free slots are never fetched, and no row twice.
      expect(asked.every((row) => w.live[row] === 1)).toBe(true);
      expect(new Set(asked).size).toBe(asked.length);
      widened += (got?.widenings ?? 0) > 0 ? 1 : 0;
      fetchedTotal += got?.fetched ?? 0;
    }
    // Clusters of near-duplicates defeat the first 2k candidates often; the answer stays exact anyway.
    expect(widened).toBeGreaterThan(0);
    expect(fetchedTotal / 30).toBeLessThan(2000 / 4);
  });

  it('declines (null) when the proof would need every row, and when the fetch reports a change', async () => {
    const random = rng(7);
    const w = world(300, 16, random, 127);
    const matrix = { codes: w.codes, dimension: 16, rowCount: 300, scale: w.scale, ...w.bound };
    const query = unit(Array.from({ length: 16 }, () => random() * 2 - 1));
    const fetchAll = async (wanted: readonly number[]) => ({
      vectors: new Float32Array(wanted.length * 16),
      ids: wanted.map(String),
    });
    expect(await remoteTopK(scan, matrix, query, fetchAll, { k: 200 })).toBeNull();
    expect(await remoteTopK(scan, matrix, query, async () => null, { k: 5 })).toBeNull();
  });
});
