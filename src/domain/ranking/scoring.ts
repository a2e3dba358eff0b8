/**
 * Exact top-k by cosine similarity over packed vectors. Vectors are stored L2-normalised, so cosine
 * similarity is a dot product. The hot loop reads typed arrays only; per-row objects (ids) are touched
 * only for the few rows that enter the running top-k or tie with its worst entry.
 */

import { orderByScore } from './score-order';

/** One selected row: its index in the packed matrix (or the caller's own payload), its score and its id. */
export type ScoredRef<T> = { ref: T; score: number; id: string };

/**
 * Returns `vector` scaled to unit length, in float64 so that the query adds no rounding of its own.
 * A zero vector has no direction: it comes back as null.
 */
export function normalise(vector: ArrayLike<number>): Float64Array | null {
  let sumOfSquares = 0;
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i] as number;
    sumOfSquares += x * x;
  }
  if (sumOfSquares === 0 || !Number.isFinite(sumOfSquares)) return null;
  const norm = Math.sqrt(sumOfSquares);
  const out = new Float64Array(vector.length);
  for (let i = 0; i < vector.length; i++) out[i] = (vector[i] as number) / norm;
  return out;
}

/**
 * Cosine similarity of a raw (not normalised) vector with a unit query: dot / |vector|, 0 for a zero
 * vector (it points nowhere, so it is similar to nothing).
 */
export function cosineWithUnitQuery(vector: ArrayLike<number>, unitQuery: ArrayLike<number>): number {
  let dot = 0;
  let sumOfSquares = 0;
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i] as number;
    dot += x * (unitQuery[i] as number);
    sumOfSquares += x * x;
  }
  return sumOfSquares === 0 ? 0 : dot / Math.sqrt(sumOfSquares);
}

/**
 * Keeps the best `k` of the items offered to it: higher score first, equal scores by ascending id
 * (UTF-16 code unit order, as `<` compares strings). A min-heap of size k whose root is the worst kept
 * item, so an offer costs O(1) when it cannot enter and O(log k) when it can; no full sort.
 */
export class TopKSelector<T> {
  private readonly scores: Float64Array;
  private readonly ids: string[];
  private readonly refs: T[];
  private size = 0;

  constructor(readonly k: number) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
    this.scores = new Float64Array(k);
    this.ids = new Array<string>(k);
    this.refs = new Array<T>(k);
  }

  /**
   * Whether an item with this score could enter (the id decides only on an exact tie with the worst kept
   * item). Lets the caller skip looking up the id of rows that cannot make it.
   */
  mightAccept(score: number): boolean {
    return this.size < this.k || score >= (this.scores[0] as number);
  }

  /** Offers one item; it is kept if it beats the worst kept item (or there is room). */
  offer(score: number, id: string, ref: T): void {
    if (this.size < this.k) {
      const at = this.size++;
      this.scores[at] = score;
      this.ids[at] = id;
      this.refs[at] = ref;
      this.siftUp(at);
      return;
    }
    if (!this.isWorse(this.scores[0] as number, this.ids[0] as string, score, id)) return;
    this.scores[0] = score;
    this.ids[0] = id;
    this.refs[0] = ref;
    this.siftDown(0);
  }

  /** The kept items, best first. */
  sorted(): ScoredRef<T>[] {
    const order = Array.from({ length: this.size }, (_, i) => i);
    orderByScore(order, this.scores, (i) => this.ids[i] as string);
    return order.map((i) => ({
      ref: this.refs[i] as T,
      score: this.scores[i] as number,
      id: this.ids[i] as string,
    }));
  }

  /** Whether (scoreA, idA) ranks below (scoreB, idB). */
  private isWorse(scoreA: number, idA: string, scoreB: number, idB: string): boolean {
    return scoreA < scoreB || (scoreA === scoreB && idA > idB);
  }

  private worseAt(a: number, b: number): boolean {
    return this.isWorse(
      this.scores[a] as number,
      this.ids[a] as string,
      this.scores[b] as number,
      this.ids[b] as string,
    );
  }

  private swap(a: number, b: number): void {
    const score = this.scores[a] as number;
    this.scores[a] = this.scores[b] as number;
    this.scores[b] = score;
    const id = this.ids[a] as string;
    this.ids[a] = this.ids[b] as string;
    this.ids[b] = id;
    const ref = this.refs[a] as T;
    this.refs[a] = this.refs[b] as T;
    this.refs[b] = ref;
  }

  private siftUp(start: number): void {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.worseAt(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(start: number): void {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.size) return;
      const right = left + 1;
      const worstChild = right < this.size && this.worseAt(right, left) ? right : left;
      if (!this.worseAt(worstChild, i)) return;
      this.swap(i, worstChild);
      i = worstChild;
    }
  }
}

/** Rows (places of chunks in a snapshot or a read) that ranking reads in order, as an array or typed array. */
export type RowList = ArrayLike<number> & Iterable<number>;

/**
 * A scores buffer reused across searches, with a list of rows beside it: each grows to the largest bot
 * seen and is never shrunk, so a warm container does not allocate (and first-touch) fresh memory per
 * query. Safe to share within one process because scoring is synchronous.
 */
export class ScoreBuffer {
  private buffer = new Float64Array(0);
  private rowBuffer = new Int32Array(0);

  /** A view of at least `rows` scores; its contents are overwritten by the next call. */
  take(rows: number): Float64Array {
    if (this.buffer.length < rows) this.buffer = new Float64Array(Math.max(rows, this.buffer.length * 2));
    return this.buffer.subarray(0, rows);
  }

  /** A view of room for `count` rows; its contents are overwritten by the next call. */
  takeRows(count: number): Int32Array {
    if (this.rowBuffer.length < count) {
      this.rowBuffer = new Int32Array(Math.max(count, this.rowBuffer.length * 2));
    }
    return this.rowBuffer.subarray(0, count);
  }
}

/** What `topKByDotProduct` needs besides the vectors. */
export type TopKOptions = {
  k: number;
  /** Rows with a score below this are left out. */
  scoreThreshold?: number;
  /** Row i takes part only when mask[i] !== 0 (pre-computed from a filter). */
  mask?: Uint8Array;
  /** Scores land here; pass one per process to avoid allocating per query. */
  scores?: ScoreBuffer;
  /**
   * A faster exact scan (src/domain/ranking/quantised-scan.ts) to try first; when it declines (returns null),
   * the portable loop below answers. Either way the result is the same. The quantised kernel keeps an
   * int8 copy per `vectors` array, so pass it only for arrays that never change afterwards (a cached
   * snapshot's), never for a scratch buffer refilled between calls.
   */
  kernel?: TopKKernel;
};

/**
 * The rows of an approximate scan, best first by approximate score, each within `error` of its exact
 * score (`dotRow`); every row left out scores at most the last one's approximate score plus `error`.
 * With a mask, rows it leaves out may be listed too (they are skipped by the reader).
 */
export type VectorScan = {
  rows: ArrayLike<number>;
  approx: ArrayLike<number>;
  error: number;
  /** Every row was scanned (none left out). */
  complete: boolean;
};

/**
 * A scan of the query and, when asked, `bottom`: the scan of its negation (the rows whose exact score is
 * least, best first by minus their approximate score, within the same bound), read in the same pass.
 */
export type VectorScans = VectorScan & { bottom?: VectorScan };

/**
 * The native part of a dense pass: the float32 inner-product distance 1 − v·q of every row v of `vectors`
 * (packed rows of `dimension`, starting at offset 0) to the float32 query q, in row order.
 */
export type Float32Distances = (
  vectors: Float32Array,
  query: Float32Array,
  dimension: number,
) => Float32Array;

/**
 * Every row's score within `error` of its exact score (`dotRow`), from one dense pass: `approx[row]` for
 * each row, filtered or not. The error is small (about 2e-5 on unit vectors), so exact answers re-score
 * only rows whose score lies that close to a score they are compared with.
 */
export type DenseScores = { approx: Float64Array; error: number };

/** A scan that returns exactly what `topKByDotProduct` returns, or null to leave it to the portable loop. */
export type TopKKernel = {
  topK(
    vectors: Float32Array,
    dimension: number,
    rowCount: number,
    unitQuery: Float64Array,
    idOf: (row: number) => string,
    options: Pick<TopKOptions, 'k' | 'scoreThreshold' | 'mask'>,
  ): ScoredRef<number>[] | null;
  /**
   * The best `wanted` rows by an approximate score with its error bound; with `withBottom`, also those of
   * the negated query (the rows scoring least), from the same pass. Null when not available.
   */
  approximate?(
    vectors: Float32Array,
    dimension: number,
    rowCount: number,
    unitQuery: Float64Array,
    wanted: number,
    mask: Uint8Array | undefined,
    withBottom?: boolean,
  ): VectorScans | null;
  /** Every row's approximate score (DenseScores); null when not available. */
  dense?(
    vectors: Float32Array,
    dimension: number,
    rowCount: number,
    unitQuery: Float64Array,
  ): DenseScores | null;
};

/**
 * The score of row `offset / dimension`: its dot product with the query, accumulated in float64. Every
 * path scores a row with this one function, so the fast kernel's re-score and the portable loop agree to
 * the last bit. Four accumulators break the add dependency chain (about 10% faster here).
 */
export function dotRow(
  vectors: Float32Array,
  offset: number,
  unitQuery: Float64Array,
  dimension: number,
): number {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  let i = 0;
  for (; i + 3 < dimension; i += 4) {
    a += (vectors[offset + i] as number) * (unitQuery[i] as number);
    b += (vectors[offset + i + 1] as number) * (unitQuery[i + 1] as number);
    c += (vectors[offset + i + 2] as number) * (unitQuery[i + 2] as number);
    d += (vectors[offset + i + 3] as number) * (unitQuery[i + 3] as number);
  }
  for (; i < dimension; i++) a += (vectors[offset + i] as number) * (unitQuery[i] as number);
  return a + b + c + d;
}

/**
 * The best `k` rows of a packed matrix of `rowCount` unit vectors (`vectors`, row i at i * dimension)
 * against a unit query, by dot product: best first, ties by ascending id (`idOf(row)`).
 * @throws RangeError when the query's length is not `dimension` or the matrix is shorter than rowCount rows.
 */
export function topKByDotProduct(
  vectors: Float32Array,
  dimension: number,
  rowCount: number,
  unitQuery: Float64Array,
  idOf: (row: number) => string,
  options: TopKOptions,
): ScoredRef<number>[] {
  if (unitQuery.length !== dimension) {
    throw new RangeError(`query has ${unitQuery.length} dimensions, the vectors have ${dimension}`);
  }
  if (vectors.length < rowCount * dimension) {
    throw new RangeError(
      `${rowCount} rows of ${dimension} need ${rowCount * dimension} floats, got ${vectors.length}`,
    );
  }
  const fast = options.kernel?.topK(vectors, dimension, rowCount, unitQuery, idOf, options);
  if (fast !== undefined && fast !== null) return fast;
  const scores = scoreRows(vectors, dimension, rowCount, unitQuery, options.mask, options.scores);
  const mask = options.mask;
  // Pass 2: selection. Most rows fail `mightAccept` and never touch their id.
  const selector = new TopKSelector<number>(options.k);
  const threshold = options.scoreThreshold ?? Number.NEGATIVE_INFINITY;
  for (let row = 0; row < rowCount; row++) {
    if (mask !== undefined && mask[row] === 0) continue;
    const score = scores[row] as number;
    if (score < threshold || !selector.mightAccept(score)) continue;
    selector.offer(score, idOf(row), row);
  }
  return selector.sorted();
}

/** How many of the first `rowCount` rows the mask keeps (all of them when there is no mask). */
export function rowsKept(mask: Uint8Array | undefined, rowCount: number): number {
  if (mask === undefined) return rowCount;
  let kept = 0;
  for (let row = 0; row < rowCount; row++) if (mask[row] !== 0) kept++;
  return kept;
}

/**
 * Pass 1 of every snapshot search: the dot product of each row (whose mask byte is not 0) with a unit
 * query, into `scores` (reused) or a fresh array. Rows left out by the mask keep stale values.
 */
export function scoreRows(
  vectors: Float32Array,
  dimension: number,
  rowCount: number,
  unitQuery: Float64Array,
  mask: Uint8Array | undefined,
  buffer: ScoreBuffer | undefined,
): Float64Array {
  const scores = buffer?.take(rowCount) ?? new Float64Array(rowCount);
  // A straight dot product per row over typed arrays only (the loop V8 optimises best).
  for (let row = 0, offset = 0; row < rowCount; row++, offset += dimension) {
    if (mask !== undefined && mask[row] === 0) continue;
    scores[row] = dotRow(vectors, offset, unitQuery, dimension);
  }
  return scores;
}

/**
 * Writes `vector` scaled to unit length into `target` at `offset` (float32), so that cosine similarity is
 * a dot product. The norm is summed in float64. A zero vector stays zero (it is similar to nothing).
 * Returns false, writing nothing useful, when the vector holds a non-finite value. The snapshot stores
 * exactly these values, and search computes them the same way from DynamoDB, so both give equal vectors.
 */
export function writeUnitVector(vector: ArrayLike<number>, target: Float32Array, offset: number): boolean {
  let sumOfSquares = 0;
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i] as number;
    sumOfSquares += x * x;
  }
  if (!Number.isFinite(sumOfSquares)) return false;
  const scale = sumOfSquares === 0 ? 0 : 1 / Math.sqrt(sumOfSquares);
  for (let i = 0; i < vector.length; i++) target[offset + i] = (vector[i] as number) * scale;
  return true;
}

/** `vector` at unit length in float32, exactly as the snapshot stores it. */
export function unitVector32(vector: ArrayLike<number>): Float32Array {
  const out = new Float32Array(vector.length);
  writeUnitVector(vector, out, 0);
  return out;
}
