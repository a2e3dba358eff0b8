/** The example chunks of a recommend request, or of a search by chunk id, as the vectors search ranks by. */
import { averageVector, type ExampleIds, type ExampleVectors } from '../../domain/ranking/recommend';
import { unitVector32 } from '../../domain/ranking/scoring';
import { NotFoundError, ValidationError } from '../../errors';
import type { ChunkStore } from '../../ports';

/** What search ranks by for examples: a query vector (average_vector) or the examples themselves (best_score). */
export type ExampleQuery = {
  embedding: Float64Array | undefined;
  examples: ExampleVectors | null;
  /** Every example's chunk id: they are left out of the results. */
  excluded: string[];
};

/**
 * Reads the example chunks (strongly consistent) and builds what search ranks by. Each example is its
 * stored vector at unit length in float32, as the snapshot holds it.
 * @throws NotFoundError naming every chunk id the bot does not hold.
 * @throws ValidationError when a chunk's vector is not of the bot's dimension, or average_vector's
 *   query is all zeros (the examples cancel out).
 */
export async function exampleQuery(
  chunks: Pick<ChunkStore, 'get'>,
  botId: string,
  ids: ExampleIds,
  dimension: number,
): Promise<ExampleQuery> {
  const wanted = [...new Set([...ids.positive, ...ids.negative])];
  const found = await chunks.get(botId, wanted, { consistent: true });
  const vectorOf = new Map(found.map((chunk) => [chunk.chunk_id, chunk.embedding]));
  const missing = wanted.filter((id) => !vectorOf.has(id));
  if (missing.length > 0) {
    const named = missing.map((id) => JSON.stringify(id)).join(', ');
    throw new NotFoundError(`bot ${botId} has no chunk ${named}`);
  }
  const unit = (list: 'positive' | 'negative') =>
    ids[list].map((id) => {
      const embedding = vectorOf.get(id) as ArrayLike<number>;
      if (embedding.length !== dimension) {
        throw new ValidationError(
          `chunk ${JSON.stringify(id)} has ${embedding.length} dimensions, bot ${botId} uses ${dimension}`,
          ids.field ?? list,
        );
      }
      return Float64Array.from(unitVector32(embedding));
    });
  const vectors: ExampleVectors = { positive: unit('positive'), negative: unit('negative') };
  if (ids.strategy === 'best_score') return { embedding: undefined, examples: vectors, excluded: wanted };
  const embedding = averageVector(vectors, dimension);
  if (embedding.every((x) => x === 0)) {
    throw new ValidationError(
      'the positive and negative examples cancel out: their average_vector query is all zeros',
      ids.field ?? 'positive',
    );
  }
  return { embedding, examples: null, excluded: wanted };
}
