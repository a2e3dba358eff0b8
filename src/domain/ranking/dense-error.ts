/**
 * The error bound of a dense pass (`QuantisedScanner.dense`): every row's score from one native float32
 * inner product, against the exact score `dotRow` gives.
 */

/** The unit roundoff of float32. */
const FLOAT32_ROUNDOFF = 2 ** -24;

/**
 * How far a dense pass's score 1 − fl(1 − fl(v·q)) can lie from `dotRow(v, u)`, for rows of norm at most
 * `rowNorm`, the float32 query q (norm `queryNorm`) and ‖q − u‖ = `queryRounding`:
 * - the float32 dot product, in any order of summation, with or without fused multiply-adds, errs by at
 *   most γ_d·Σ|v_i q_i| ≤ γ_d·‖v‖·‖q‖, where γ_d = d·r / (1 − d·r) and r is float32's unit roundoff;
 * - the distance 1 − dot, rounded to float32, by at most r·|1 − dot| ≤ r·(1 + ‖v‖·‖q‖ + γ_d·‖v‖·‖q‖);
 * - the query's own rounding moves v·q from v·u by at most ‖v‖·‖q − u‖;
 * - the float64 arithmetic here and in dotRow adds orders of magnitude less than the margin.
 * On 384-d unit vectors this is about 2.3e-5.
 */
export function denseError(
  dimension: number,
  rowNorm: number,
  queryNorm: number,
  queryRounding: number,
): number {
  const gamma = (dimension * FLOAT32_ROUNDOFF) / (1 - dimension * FLOAT32_ROUNDOFF);
  const dot = rowNorm * queryNorm;
  return gamma * dot + FLOAT32_ROUNDOFF * (1 + dot + gamma * dot) + rowNorm * queryRounding + 1e-9;
}
