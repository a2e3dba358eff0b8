/**
 * Vector ranking of rows held in process: a snapshot's unit vectors scored against the query (or, for
 * best_score, against every example), masked by the filter before top-k, then the Ranker's top-k, groups
 * or MMR. Pure: rows come in, ranked rows go out.
 */
import { bothMasks } from '../document-version';
import { bestScoreOfRow, type ExampleVectors } from '../recommend';
import { type ScoreBuffer, scoreRows, type TopKKernel, topKByDotProduct } from '../scoring';
import { type CompiledFilter, filterMask } from '../search-filter';
import type { Ranked } from '../search-ranking';
import type { SnapshotRow } from '../snapshot';
import { type RankOptions, rankerFor } from './hits';

/** Rows to rank: a snapshot's unit vectors in row order, with what filters, versions and groups read. */
export type RankableRows = {
  snapshot: { dimension: number; vectors: Float32Array; rows: readonly SnapshotRow[] };
  ids: readonly string[];
  /** 1 for the rows of the version each document shows; undefined when every row is shown. */
  visible: Uint8Array | undefined;
  rowsByFilename: ReadonlyMap<string, readonly number[]>;
};

/** The ranked rows of a vector (or best_score examples) query, best first. */
export function rankVectorRows(
  held: RankableRows,
  query: Float64Array | ExampleVectors,
  filter: CompiledFilter | null,
  options: RankOptions,
  buffer: ScoreBuffer,
  kernel: TopKKernel | undefined,
): Ranked<number> {
  const { snapshot, ids } = held;
  const dim = snapshot.dimension;
  const rowCount = snapshot.rows.length;
  const mask = bothMasks(
    held.visible,
    filter === null ? undefined : filterMask(snapshot.rows, filter, held.rowsByFilename),
  );
  const ranker = rankerFor<number>(options);
  const idOf = (row: number) => ids[row] as string;
  const vectorOf = (row: number) => snapshot.vectors.subarray(row * dim, (row + 1) * dim);
  const threshold = options.scoreThreshold ?? Number.NEGATIVE_INFINITY;
  if (!(query instanceof Float64Array)) {
    // best_score: every row that passes the filter against every example (no kernel scores this).
    for (const [filename, rows] of held.rowsByFilename) {
      const selector = ranker.selectorFor(filename);
      for (const row of rows) {
        if (mask !== undefined && mask[row] === 0) continue;
        const score = bestScoreOfRow(snapshot.vectors, row * dim, query, dim);
        if (score >= threshold && selector.mightAccept(score)) selector.offer(score, idOf(row), row);
      }
    }
    return ranker.finish(vectorOf, []);
  }
  if (!ranker.grouped) {
    // One top-k (plain, offset or MMR candidates): the exact top rows straight from the scoring kernel.
    const selector = ranker.selectorFor('');
    const top = topKByDotProduct(snapshot.vectors, dim, rowCount, query, idOf, {
      k: selector.k,
      scores: buffer,
      ...(kernel === undefined ? {} : { kernel }),
      ...(options.scoreThreshold === undefined ? {} : { scoreThreshold: options.scoreThreshold }),
      ...(mask === undefined ? {} : { mask }),
    });
    for (const hit of top) selector.offer(hit.score, idOf(hit.ref), hit.ref);
  } else {
    const scores = scoreRows(snapshot.vectors, dim, rowCount, query, mask, buffer);
    for (const [filename, rows] of held.rowsByFilename) {
      const selector = ranker.selectorFor(filename);
      for (const row of rows) {
        if (mask !== undefined && mask[row] === 0) continue;
        const score = scores[row] as number;
        // Most rows fail `mightAccept` and never touch their id.
        if (score >= threshold && selector.mightAccept(score)) selector.offer(score, idOf(row), row);
      }
    }
  }
  return ranker.finish(vectorOf, query);
}

/**
 * The ranked candidates of an ungrouped vector query whose exact top was proven from fewer rows (the
 * int8 scan's candidates, `ref` a slot): offset and MMR applied over them, best first.
 */
export function rankVectorCandidates(
  top: readonly { score: number; id: string; ref: number }[],
  unitVectorOf: (ref: number) => ArrayLike<number>,
  query: Float64Array,
  options: RankOptions,
): Ranked<number> {
  const ranker = rankerFor<number>(options);
  const selector = ranker.selectorFor('');
  for (const hit of top) selector.offer(hit.score, hit.id, hit.ref);
  return ranker.finish(unitVectorOf, query);
}
