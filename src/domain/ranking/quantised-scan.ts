/**
 * Exact top-k through an int8 scan and a float re-score, with a proof instead of a recall figure: the
 * `TopKKernel` over the int8 codes and the error bound of int8-codes.ts. The scan returns the C rows with
 * the largest integer dot c·t. If the k-th best exact score among them is S_k and the C-th approximate
 * score is a_C, every row outside the candidates scores at most a_C + E; when a_C + E < S_k (strictly, so
 * not even a tie broken by id can let one in) the candidates hold the exact top k. Otherwise C grows and
 * the scan repeats, up to all rows. A score threshold works the same way with the threshold in place of
 * S_k when fewer than k candidates reach it.
 */

import { denseError } from './dense-error';
import {
  type Int8Distances,
  type Int8TopScan,
  initialSlack,
  MAX_EXACT_DIMENSION,
  type QuantisedMatrix,
  quantiseMatrix,
  quantiseQuery,
} from './int8-codes';
import { DENSE_ENDS_MAX_ROWS, DENSE_ENDS_MIN_ROWS, INT8_ENDS_MAX_ROWS, scanEnds } from './int8-ends';
import {
  type DenseScores,
  dotRow,
  type Float32Distances,
  rowsKept,
  ScoreBuffer,
  type ScoredRef,
  type TopKKernel,
  type TopKOptions,
  TopKSelector,
  type VectorScan,
  type VectorScans,
} from './scoring';

/** How often the proof held at once, needed a wider scan, or fell back to scoring every row. */
export type QuantisedScanStats = {
  /** Searches answered by this kernel. */
  searches: number;
  /** Searches whose first candidate set could not be proved complete. */
  widened: number;
  /** Extra scans, summed over all searches. */
  widenings: number;
  /** Searches that ended up re-scoring every row (the candidates grew to the whole set). */
  exhaustive: number;
  /** Quantised copies made (one per snapshot version kept in process). */
  quantised: number;
};

export type QuantisedScannerOptions = {
  /** Below this many rows (after a filter) the portable loop answers: the scan's fixed cost dominates. */
  minRows?: number;
  /**
   * How many searches of a matrix the portable loop answers before the int8 copy is made (default 1).
   * Making the copy costs about ten portable scans (a pass over the vectors plus first touch of a
   * quarter as many fresh bytes), so a snapshot version searched only once (a bot whose writes replace
   * the version between searches) never pays for it, and a cold search costs what it did without the
   * kernel. 0 makes the copy on first sight.
   */
  portableSearchesFirst?: number;
  /** Candidates beyond 2k in the first scan (default 0.3·√rows); tests set 0 to force widening. */
  initialSlack?: number;
  /** Called once if the native scan throws; from then on the portable loop answers. */
  onScanFailure?: (error: unknown) => void;
  /** The native dense pass behind `dense`; without it (or null) `dense` declines. */
  distances?: Float32Distances | null;
  /** The native int8 dense pass; without it `approximate` scans both ends as two queries. */
  int8Distances?: Int8Distances | null;
  /** Rows from which both ends come from that pass (default DENSE_ENDS_MIN_ROWS; tests: 0). */
  denseEndsMinRows?: number;
  /** Rows up to which they do (default DENSE_ENDS_MAX_ROWS); above, the native scan lists them. */
  denseEndsMaxRows?: number;
};

type SearchedSet = { codes: Int8Array; size: number; rowOf: Int32Array | null; density: number };

/**
 * The fast `TopKKernel`: int8 scan by a native `Int8TopScan`, exact float re-score, proof by the bound
 * above. Keeps the quantised copy of each matrix it has seen, keyed by the Float32Array itself (a cached
 * snapshot's vectors never change, and a new version is a new array), so a copy is made once per version
 * and goes when the snapshot goes. Reuses its query and gather buffers; synchronous, so one per process.
 */
export class QuantisedScanner implements TopKKernel {
  readonly stats: QuantisedScanStats = { searches: 0, widened: 0, widenings: 0, exhaustive: 0, quantised: 0 };
  private readonly copies = new WeakMap<Float32Array, QuantisedMatrix>();
  /** Searches seen per matrix before its copy was made. */
  private readonly sightings = new WeakMap<Float32Array, number>();
  private readonly portableSearchesFirst: number;
  private readonly initialSlack: number | undefined;
  private queryCodes = new Int8Array(0);
  private gatherBuffer = new ArrayBuffer(0);
  private gatherRows = new Int32Array(0);
  private scan: Int8TopScan | null;
  private distances: Float32Distances | null;
  private readonly int8Distances: Int8Distances | null;
  private readonly denseEndsMinRows: number;
  private readonly denseEndsMaxRows: number;
  private denseQuery = new Float32Array(0);
  private readonly denseScores = new ScoreBuffer();
  private readonly minRows: number;
  private readonly onScanFailure: (error: unknown) => void;

  /** @param scan the native scan, or null when it could not be loaded (every call then declines). */
  constructor(scan: Int8TopScan | null, options: QuantisedScannerOptions = {}) {
    this.scan = scan;
    this.minRows = options.minRows ?? 256;
    this.portableSearchesFirst = options.portableSearchesFirst ?? 1;
    this.initialSlack = options.initialSlack;
    this.onScanFailure = options.onScanFailure ?? (() => {});
    this.distances = options.distances ?? null;
    this.int8Distances = options.int8Distances ?? null;
    this.denseEndsMinRows = options.denseEndsMinRows ?? DENSE_ENDS_MIN_ROWS;
    this.denseEndsMaxRows = Math.min(options.denseEndsMaxRows ?? DENSE_ENDS_MAX_ROWS, INT8_ENDS_MAX_ROWS - 1);
  }

  /**
   * The native scan for a caller that holds its own codes (the cold search's remote re-score), guarded
   * like this kernel's own use: the first throw reports once and turns the scan off for good. Null when
   * it is unavailable or `rowCount` is below `minRows`.
   */
  nativeScan(rowCount: number): Int8TopScan | null {
    const scan = this.scan;
    if (scan === null || rowCount < this.minRows) return null;
    return (codes, query, dimension, wanted) => {
      try {
        return scan(codes, query, dimension, wanted);
      } catch (error) {
        this.scan = null;
        this.onScanFailure(error);
        throw error;
      }
    };
  }

  /** Whether the native scan is in use (false: every search takes the portable loop). */
  get available(): boolean {
    return this.scan !== null;
  }

  /** The int8 copy of `vectors`, made on first use and kept while the array lives. */
  quantised(vectors: Float32Array, dimension: number, rowCount: number): QuantisedMatrix {
    const known = this.copies.get(vectors);
    if (known !== undefined && known.dimension === dimension && known.rowCount === rowCount) return known;
    const made = quantiseMatrix(vectors, dimension, rowCount);
    this.copies.set(vectors, made);
    this.stats.quantised++;
    return made;
  }

  /**
   * The int8 copy to scan, or null when the portable loop answers: no native scan, a dimension too large
   * for exact integer dots, too few rows, or a matrix seen fewer than `portableSearchesFirst` times.
   */
  private matrixFor(vectors: Float32Array, dimension: number, rowCount: number): QuantisedMatrix | null {
    if (this.scan === null || dimension > MAX_EXACT_DIMENSION || rowCount < this.minRows) return null;
    const known = this.copies.get(vectors);
    if (known === undefined || known.dimension !== dimension || known.rowCount !== rowCount) {
      const seen = this.sightings.get(vectors) ?? 0;
      if (seen < this.portableSearchesFirst) {
        this.sightings.set(vectors, seen + 1);
        return null;
      }
    }
    return this.quantised(vectors, dimension, rowCount);
  }

  topK(
    vectors: Float32Array,
    dimension: number,
    rowCount: number,
    unitQuery: Float64Array,
    idOf: (row: number) => string,
    options: Pick<TopKOptions, 'k' | 'scoreThreshold' | 'mask'>,
  ): ScoredRef<number>[] | null {
    const scan = this.scan;
    const matrix = this.matrixFor(vectors, dimension, rowCount);
    if (scan === null || matrix === null) return null;
    const set = this.searchedSet(matrix, options.mask);
    if (set === null) return null;
    const bound = this.quantiseQuery(matrix, unitQuery);
    try {
      return this.search(scan, vectors, matrix, set, bound, unitQuery, idOf, options);
    } catch (error) {
      // A scan that throws once will throw again: stop using it, answer from the portable loop.
      this.scan = null;
      this.onScanFailure(error);
      return null;
    }
  }

  /**
   * The best `wanted` rows of the int8 scan (of the rows the mask keeps, or of all rows with the mask's
   * rows among them when it keeps more than half), with approximate scores and the bound E: no exact
   * re-score, for a caller that re-scores only the rows it needs (threshold-fusion.ts). With
   * `withBottom`, the negated query's rows too (`bottom`). From DENSE_ENDS_MIN_ROWS to DENSE_ENDS_MAX_ROWS
   * rows, both ends, and a top of at least DENSE_TOP_MIN_SHARE of the rows, are listed from one native
   * pass giving every row's dot (int8-ends.ts); else the native scan lists them (both ends as the query
   * and its negation).
   * Null when the kernel would not answer `topK` for these rows.
   */
  approximate(
    vectors: Float32Array,
    dimension: number,
    rowCount: number,
    unitQuery: Float64Array,
    wanted: number,
    mask: Uint8Array | undefined,
    withBottom = false,
  ): VectorScans | null {
    const scan = this.scan;
    const matrix = this.matrixFor(vectors, dimension, rowCount);
    if (scan === null || matrix === null) return null;
    const set = this.searchedSet(matrix, mask);
    if (set === null) return null;
    const bound = this.quantiseQuery(matrix, unitQuery);
    const asked = Math.min(Math.ceil(wanted * set.density), set.size);
    const ends = withBottom ? 2 : 1;
    const everyRow =
      set.size >= this.denseEndsMinRows && set.size <= this.denseEndsMaxRows ? this.int8Distances : null;
    try {
      // The native scan refuses to return no rows: a scan asked for none is answered here, empty, complete.
      const found =
        asked < 1
          ? { rows: [], dots: [] }
          : scanEnds(scan, everyRow, set.codes, this.queryCodes, dimension, asked, ends);
      const listed = found.rows.length / ends;
      const [top, bottom] = Array.from({ length: ends }, (_, end): VectorScan => {
        const rows = new Int32Array(listed);
        const approx = new Float64Array(listed);
        for (let i = 0; i < listed; i++) {
          const index = found.rows[end * listed + i] as number;
          rows[i] = set.rowOf === null ? index : (set.rowOf[index] as number);
          approx[i] = (found.dots[end * listed + i] as number) * bound.invScale;
        }
        return { rows, approx, error: bound.error, complete: asked < 1 || asked >= set.size };
      });
      return bottom === undefined ? (top as VectorScan) : { ...(top as VectorScan), bottom };
    } catch (error) {
      this.scan = null;
      this.onScanFailure(error);
      return null;
    }
  }

  /**
   * Every row's score from one native float32 pass (usearch's inner product of each row with the query
   * rounded to float32), within the bound of `denseError` (dense-error.ts). Null when the pass is
   * unavailable, the rows are too few, or `vectors` does not start at its buffer's first byte (the native
   * pass reads from there). The scores land in a buffer reused by the next call.
   */
  dense(
    vectors: Float32Array,
    dimension: number,
    rowCount: number,
    unitQuery: Float64Array,
  ): DenseScores | null {
    const distances = this.distances;
    if (distances === null || vectors.byteOffset !== 0 || vectors.length < rowCount * dimension) return null;
    // The int8 copy's norms bound every row's norm: ‖v‖ ≤ ‖c/s‖ + ‖v − c/s‖.
    const matrix = this.matrixFor(vectors, dimension, rowCount);
    if (matrix === null) return null;
    if (this.denseQuery.length !== dimension) this.denseQuery = new Float32Array(dimension);
    const query = this.denseQuery;
    query.set(unitQuery);
    let rounding = 0;
    let norm = 0;
    for (let i = 0; i < dimension; i++) {
      const q = query[i] as number;
      norm += q * q;
      rounding += (q - (unitQuery[i] as number)) ** 2;
    }
    const rows =
      vectors.length === rowCount * dimension
        ? vectors
        : new Float32Array(vectors.buffer, 0, rowCount * dimension);
    try {
      const distance = distances(rows, query, dimension);
      const approx = this.denseScores.take(rowCount);
      for (let row = 0; row < rowCount; row++) approx[row] = 1 - (distance[row] as number);
      const rowNorm = matrix.maxCodeNorm + matrix.maxResidualNorm;
      return { approx, error: denseError(dimension, rowNorm, Math.sqrt(norm), Math.sqrt(rounding)) };
    } catch (error) {
      this.distances = null;
      this.onScanFailure(error);
      return null;
    }
  }

  private search(
    scan: Int8TopScan,
    vectors: Float32Array,
    matrix: QuantisedMatrix,
    set: SearchedSet,
    bound: { error: number; invScale: number },
    unitQuery: Float64Array,
    idOf: (row: number) => string,
    options: Pick<TopKOptions, 'k' | 'scoreThreshold' | 'mask'>,
  ): ScoredRef<number>[] {
    const { k, mask } = options;
    const { dimension } = matrix;
    const threshold = options.scoreThreshold ?? Number.NEGATIVE_INFINITY;
    this.stats.searches++;
    // 2k plus a slack that on 384-d embeddings usually proves at once (see initialSlack), scaled up by the
    // share of rows a filter drops when the scan covers every row.
    let wanted = Math.ceil((2 * k + (this.initialSlack ?? initialSlack(set.size))) * set.density);
    for (let attempt = 0; ; attempt++) {
      if (attempt === 1) this.stats.widened++;
      if (attempt > 0) this.stats.widenings++;
      const selector = new TopKSelector<number>(k);
      if (wanted >= set.size) {
        this.stats.exhaustive++;
        for (let i = 0; i < set.size; i++) {
          const row = set.rowOf === null ? i : (set.rowOf[i] as number);
          this.offer(selector, vectors, row, unitQuery, dimension, threshold, mask, idOf);
        }
        return selector.sorted();
      }
      const found = scan(set.codes, this.queryCodes, dimension, wanted);
      let qualifying = 0;
      for (let i = 0; i < wanted; i++) {
        // Candidates come best first: once this one's ceiling cannot reach the k-th exact score (or the
        // threshold), neither can any later candidate nor any row outside (their a is no larger). The
        // proof holds here, and the rest need no re-score.
        const ceiling = (found.dots[i] as number) * bound.invScale + bound.error;
        if (ceiling < threshold || (qualifying >= k && !selector.mightAccept(ceiling))) {
          return selector.sorted();
        }
        const index = found.rows[i] as number;
        const row = set.rowOf === null ? index : (set.rowOf[index] as number);
        if (this.offer(selector, vectors, row, unitQuery, dimension, threshold, mask, idOf)) qualifying++;
      }
      const top = selector.sorted();
      const bar = qualifying >= k ? (top[k - 1] as ScoredRef<number>).score : threshold;
      const outsideAtMost = (found.dots[wanted - 1] as number) * bound.invScale + bound.error;
      if (outsideAtMost < bar) return top;
      wanted *= 4;
    }
  }

  /** Re-scores one row exactly and offers it; true when it passed the mask and the threshold. */
  private offer(
    selector: TopKSelector<number>,
    vectors: Float32Array,
    row: number,
    unitQuery: Float64Array,
    dimension: number,
    threshold: number,
    mask: Uint8Array | undefined,
    idOf: (row: number) => string,
  ): boolean {
    if (mask !== undefined && mask[row] === 0) return false;
    const score = dotRow(vectors, row * dimension, unitQuery, dimension);
    if (score < threshold) return false;
    if (selector.mightAccept(score)) selector.offer(score, idOf(row), row);
    return true;
  }

  /** Fills the reused query codes; returns the bound E and 1/(s·s_q). */
  private quantiseQuery(
    matrix: QuantisedMatrix,
    unitQuery: Float64Array,
  ): { error: number; invScale: number } {
    if (this.queryCodes.length !== matrix.dimension) this.queryCodes = new Int8Array(matrix.dimension);
    return quantiseQuery(matrix, unitQuery, this.queryCodes);
  }

  /**
   * The rows to scan. Unfiltered: the whole copy. A filter that keeps at most half the rows: its rows
   * gathered (in runs) into a reused buffer, so the scan and its candidates cover only matching rows. A
   * filter that keeps more: the whole copy, asking for proportionally more candidates. Null when fewer
   * rows match than make a scan worthwhile (the portable loop then scores only those).
   */
  private searchedSet(matrix: QuantisedMatrix, mask: Uint8Array | undefined): SearchedSet | null {
    const { codes, rowCount, dimension } = matrix;
    if (mask === undefined) return { codes, size: rowCount, rowOf: null, density: 1 };
    const matching = rowsKept(mask, rowCount);
    if (matching < this.minRows) return null;
    if (matching * 2 > rowCount) return { codes, size: rowCount, rowOf: null, density: rowCount / matching };
    const bytes = matching * dimension;
    if (this.gatherBuffer.byteLength < bytes)
      this.gatherBuffer = new ArrayBuffer(Math.max(bytes, 2 * this.gatherBuffer.byteLength));
    if (this.gatherRows.length < matching)
      this.gatherRows = new Int32Array(Math.max(matching, 2 * this.gatherRows.length));
    // A view from the buffer's first byte: the native scan ignores byteOffset (usearch 2.26.2).
    const gathered = new Int8Array(this.gatherBuffer, 0, bytes);
    let at = 0;
    for (let row = 0; row < rowCount; ) {
      if (mask[row] === 0) {
        row++;
        continue;
      }
      let end = row;
      while (end < rowCount && mask[end] !== 0) this.gatherRows[at + (end - row)] = end++;
      gathered.set(codes.subarray(row * dimension, end * dimension), at * dimension);
      at += end - row;
      row = end;
    }
    return { codes: gathered, size: matching, rowOf: this.gatherRows, density: 1 };
  }
}
