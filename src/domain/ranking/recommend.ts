/**
 * Recommendation from example chunks, with Qdrant's two strategies. Examples are the stored vectors at
 * unit length in float32, exactly as the snapshot holds them, so both search sources score alike.
 */
import { dotRow } from './scoring';

export type RecommendStrategy = 'average_vector' | 'best_score';

/** Chunk ids to recommend from, as a search request names them. */
export type ExampleIds = {
  positive: string[];
  negative: string[];
  strategy: RecommendStrategy;
  /** The request field that named the ids, for errors (default: `positive` or `negative`). */
  field?: string;
};

/** Unit-length example vectors (float64 copies of the float32 unit vectors). */
export type ExampleVectors = { positive: Float64Array[]; negative: Float64Array[] };

function mean(vectors: readonly Float64Array[], dimension: number): Float64Array {
  const out = new Float64Array(dimension);
  for (const vector of vectors) {
    for (let i = 0; i < dimension; i++) out[i] = (out[i] as number) + (vector[i] as number);
  }
  for (let i = 0; i < dimension; i++) out[i] = (out[i] as number) / vectors.length;
  return out;
}

/**
 * `average_vector`: the query `avg(positive) + (avg(positive) - avg(negative))`, or `avg(positive)`
 * without negatives; search then ranks by cosine similarity to it.
 * @throws RangeError without positive examples.
 */
export function averageVector(examples: ExampleVectors, dimension: number): Float64Array {
  if (examples.positive.length === 0) throw new RangeError('average_vector needs a positive example');
  const positive = mean(examples.positive, dimension);
  if (examples.negative.length === 0) return positive;
  const negative = mean(examples.negative, dimension);
  const out = new Float64Array(dimension);
  for (let i = 0; i < dimension; i++) out[i] = 2 * (positive[i] as number) - (negative[i] as number);
  return out;
}

/** `x / (1 + |x|)` moved to (0, 1): monotonic, so it keeps the order of similarities. */
export function scaledFastSigmoid(x: number): number {
  return 0.5 * (x / (1 + Math.abs(x)) + 1);
}

/**
 * `best_score` of one candidate from its best similarity to a positive and to a negative example
 * (-Infinity when there are none): `sigmoid(best positive)` when that is higher, else
 * `-sigmoid(best negative)`. So every candidate closer to a positive ranks above every one closer to a
 * negative, and among the latter, the farther from the negatives the better.
 */
export function bestScore(bestPositive: number, bestNegative: number): number {
  return bestPositive > bestNegative ? scaledFastSigmoid(bestPositive) : -scaledFastSigmoid(bestNegative);
}

/** `best_score` of the unit vector at `offset` of `vectors` (float32, as the snapshot packs rows). */
export function bestScoreOfRow(
  vectors: Float32Array,
  offset: number,
  examples: ExampleVectors,
  dimension: number,
): number {
  let bestPositive = Number.NEGATIVE_INFINITY;
  let bestNegative = Number.NEGATIVE_INFINITY;
  for (const example of examples.positive) {
    const similarity = dotRow(vectors, offset, example, dimension);
    if (similarity > bestPositive) bestPositive = similarity;
  }
  for (const example of examples.negative) {
    const similarity = dotRow(vectors, offset, example, dimension);
    if (similarity > bestNegative) bestNegative = similarity;
  }
  return bestScore(bestPositive, bestNegative);
}
