/**
 * The int8 codes a scan reads, and the bound that makes their scores exact enough to prove a top k.
 *
 * Every row v (float32) is stored once more as int8 codes c = round(v · s) under one scale s for the whole
 * matrix; the query u (float64) becomes t = round(u · s_q). With e_v = v − c/s and e_u = u − t/s_q,
 *
 *   v·u − (c·t)/(s·s_q) = (c/s)·e_u + e_v·u,   so   |v·u − a| ≤ ‖c/s‖·‖e_u‖ + ‖e_v‖·‖u‖ =: E
 *
 * (Cauchy–Schwarz on both terms; a = (c·t)/(s·s_q) is the approximate score). The matrix keeps the largest
 * ‖c/s‖ and ‖e_v‖ over its rows, the query supplies ‖e_u‖ and ‖u‖, so E holds for every row at once.
 * quantised-scan.ts proves a top k with it, scan-ranks.ts exact ranks, remote-rescore.ts a top k whose
 * float32 vectors are fetched.
 */

/**
 * The native part: the `wanted` rows of `codes` (packed int8 rows of `dimension`, starting at offset 0,
 * `codes.length / dimension` of them) with the largest integer dot product with `query`, best first,
 * into `rows` and `dots` (their exact integer dot products). `query` may hold several queries of
 * `dimension` codes back to back (at most as many rows wanted as `codes` has): their lists follow one
 * another, `wanted` rows each, in one pass over the codes.
 */
export type Int8TopScan = (
  codes: Int8Array,
  query: Int8Array,
  dimension: number,
  wanted: number,
) => { rows: ArrayLike<number>; dots: ArrayLike<number> };

/**
 * The native dense part: every row of `codes` (as for `Int8TopScan`) against one `query` of `dimension`
 * codes, as usearch's inner-product distance 1 − (integer dot product), in row order.
 */
export type Int8Distances = (codes: Int8Array, query: Int8Array, dimension: number) => Float32Array;

/** The int8 copy of one packed float32 matrix and the two maxima its error bound needs. */
export type QuantisedMatrix = {
  codes: Int8Array;
  dimension: number;
  rowCount: number;
  /** codes = round(vectors · scale). */
  scale: number;
  /** max over rows of ‖c/s‖. */
  maxCodeNorm: number;
  /** max over rows of ‖v − c/s‖. */
  maxResidualNorm: number;
};

/** Integer dot products must stay exact through the scan's float32 distances: d · 127² < 2^24. */
export const MAX_CODE = 127;
export const MAX_EXACT_DIMENSION = Math.floor(2 ** 24 / (MAX_CODE * MAX_CODE)) - 1;

/**
 * Covers what the float64 arithmetic itself may add: the re-score's rounding (about d · 2^-53 of the sum
 * of |products|) and the rounding of the bound's own terms, with orders of magnitude to spare.
 */
const ARITHMETIC_MARGIN = 1e-9;

/**
 * Candidates beyond 2k in the first scan: 0.3·√rows. A scan for more candidates costs more (usearch
 * selects them with a heap as large as the list), a second scan costs a whole scan. On the bench's 384-d
 * data the proof needed 20 to 40 candidates for k = 10 at 10k rows and 36 to 99 at 100k (the bound is
 * about 0.02, the real error about 0.003), which this covers; only speed depends on it, never the answer.
 */
export function initialSlack(rows: number): number {
  return Math.ceil(0.3 * Math.sqrt(rows));
}

/** Quantises a packed matrix (rows at i · dimension) under one scale. A zero matrix gets scale 1. */
export function quantiseMatrix(vectors: Float32Array, dimension: number, rowCount: number): QuantisedMatrix {
  const length = rowCount * dimension;
  let maxAbs = 0;
  for (let i = 0; i < length; i++) {
    const x = Math.abs(vectors[i] as number);
    if (x > maxAbs) maxAbs = x;
  }
  const scale = maxAbs > 0 && Number.isFinite(maxAbs) ? MAX_CODE / maxAbs : 1;
  // Its own ArrayBuffer at offset 0: the native scan reads from the buffer's start.
  const codes = new Int8Array(length);
  const norms = quantiseRowsInto(vectors, dimension, rowCount, scale, codes, 0);
  return { codes, dimension, rowCount, scale, ...norms };
}

/**
 * Writes the int8 codes of `rowCount` packed rows under `scale` into `out` from `outOffset`: each code is
 * round(x · scale) clamped to ±127 (a clamped code only makes its row's residual larger, which the bound
 * then covers). Returns the two maxima the bound needs, over these rows: ‖c/s‖ and ‖v − c/s‖. The Redis
 * snapshot keeps codes made this way (and the same maxima) so that no reader has to quantise.
 */
export function quantiseRowsInto(
  vectors: Float32Array,
  dimension: number,
  rowCount: number,
  scale: number,
  out: Int8Array,
  outOffset: number,
): { maxCodeNorm: number; maxResidualNorm: number } {
  const step = 1 / scale;
  let maxCodeNorm = 0;
  let maxResidualNorm = 0;
  for (let row = 0, offset = 0; row < rowCount; row++, offset += dimension) {
    let codeSquares = 0;
    let residualSquares = 0;
    for (let i = offset; i < offset + dimension; i++) {
      const x = vectors[i] as number;
      // Nearest integer (floor of +0.5: branch-free, several times faster here than Math.round into an
      // Int8Array); the clamp matters only for a scale chosen before this row was seen.
      let code = Math.floor(x * scale + 0.5);
      if (code > MAX_CODE) code = MAX_CODE;
      else if (code < -MAX_CODE) code = -MAX_CODE;
      out[outOffset + i] = code;
      codeSquares += code * code;
      const residual = x - code * step;
      residualSquares += residual * residual;
    }
    maxCodeNorm = Math.max(maxCodeNorm, Math.sqrt(codeSquares) / scale);
    // NaN (a non-finite input) makes the bound NaN: every proof then fails and the scan falls back to all rows.
    maxResidualNorm =
      Number.isNaN(residualSquares) || Number.isNaN(maxResidualNorm)
        ? Number.NaN
        : Math.max(maxResidualNorm, Math.sqrt(residualSquares));
  }
  return { maxCodeNorm, maxResidualNorm };
}

/**
 * Writes the query's int8 codes t = round(u · s_q) into `codes` (length: the dimension) and returns the
 * bound E of the matrix and this query, and 1/(s·s_q), which turns an integer dot c·t into a score.
 */
export function quantiseQuery(
  matrix: QuantisedMatrix,
  unitQuery: Float64Array,
  codes: Int8Array,
): { error: number; invScale: number } {
  const { dimension } = matrix;
  let maxAbs = 0;
  let normSquares = 0;
  for (let i = 0; i < dimension; i++) {
    const x = unitQuery[i] as number;
    maxAbs = Math.max(maxAbs, Math.abs(x));
    normSquares += x * x;
  }
  const queryScale = maxAbs > 0 ? MAX_CODE / maxAbs : 1;
  let residualSquares = 0;
  for (let i = 0; i < dimension; i++) {
    const x = unitQuery[i] as number;
    const code = Math.floor(x * queryScale + 0.5);
    codes[i] = code;
    const residual = x - code / queryScale;
    residualSquares += residual * residual;
  }
  const error =
    matrix.maxCodeNorm * Math.sqrt(residualSquares) +
    matrix.maxResidualNorm * Math.sqrt(normSquares) +
    ARITHMETIC_MARGIN;
  return { error, invScale: 1 / (matrix.scale * queryScale) };
}
