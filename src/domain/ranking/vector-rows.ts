/**
 * Vector ranking: a snapshot's rows held in process, the int8 scan's proven candidates, or the chunks of a
 * full read as they stream in, scored against the query (or, for best_score, against every example) and
 * filtered before top-k, then the Ranker's top-k, groups or MMR. Pure: rows come in, ranked rows go out.
 */
import { bothMasks } from '../document-version';
import { type CompiledFilter, filterMask, matchesFilter } from '../search-filter';
import type { SnapshotRow } from '../snapshot';
import type { StoredChunk } from '../types';
import { bestGroupsFromScan } from './grouped-scan';
import { type RankOptions, rankerFor } from './hits';
import type { Ranked, Ranker } from './ranker';
import { bestScoreOfRow, type ExampleVectors } from './recommend';
import {
  cosineWithUnitQuery,
  dotRow,
  rowsKept,
  type ScoreBuffer,
  scoreRows,
  type TopKKernel,
  topKByDotProduct,
  unitVector32,
} from './scoring';

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
    // The best groups proven from the int8 scan (grouped-scan.ts), each row of them scored exactly;
    // else every group, from one pass scoring every row.
    const proven = kernel === undefined ? null : groupsFromScan(held, query, mask, options, kernel);
    const scores = proven === null ? scoreRows(snapshot.vectors, dim, rowCount, query, mask, buffer) : null;
    for (const group of proven ?? held.rowsByFilename.keys()) {
      const selector = ranker.selectorFor(group);
      for (const row of held.rowsByFilename.get(group) ?? []) {
        if (mask !== undefined && mask[row] === 0) continue;
        const score = scores?.[row] ?? dotRow(snapshot.vectors, row * dim, query, dim);
        // Most rows fail `mightAccept` and never touch their id.
        if (score >= threshold && selector.mightAccept(score)) selector.offer(score, idOf(row), row);
      }
    }
  }
  return ranker.finish(vectorOf, query);
}

/** The best `limit` groups (filenames) from the kernel's int8 scan, or null when it cannot prove them. */
function groupsFromScan(
  held: RankableRows,
  query: Float64Array,
  mask: Uint8Array | undefined,
  options: RankOptions,
  kernel: TopKKernel,
): string[] | null {
  const { snapshot, ids } = held;
  const { vectors, dimension, rows } = snapshot;
  return bestGroupsFromScan({
    scan: (wanted) => kernel.approximate?.(vectors, dimension, rows.length, query, wanted, mask) ?? null,
    candidateCount: rowsKept(mask, rows.length),
    mask,
    groupOf: (row) => (rows[row] as SnapshotRow).filename,
    idOf: (row) => ids[row] as string,
    cosineOf: (row) => dotRow(vectors, row * dimension, query, dimension),
    limit: options.limit,
    threshold: options.scoreThreshold ?? Number.NEGATIVE_INFINITY,
  });
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

/**
 * Ranks chunks as a full read streams them in, keeping only those that can still reach the answer: those
 * of the bot's dimension that pass the filter, scored by cosine with the unit query (or best_score over the
 * examples), at or above the threshold.
 */
export class ChunkRanker {
  private readonly ranker: Ranker<StoredChunk>;
  private readonly threshold: number;

  constructor(
    private readonly query: Float64Array | null,
    private readonly examples: ExampleVectors | null,
    private readonly dimension: number,
    private readonly filter: CompiledFilter | null,
    options: RankOptions,
  ) {
    this.ranker = rankerFor<StoredChunk>(options);
    this.threshold = options.scoreThreshold ?? Number.NEGATIVE_INFINITY;
  }

  offer(chunk: StoredChunk): void {
    if (chunk.embedding.length !== this.dimension) return;
    if (this.filter !== null && !matchesFilter(chunk, this.filter)) return;
    const score =
      this.examples === null
        ? cosineWithUnitQuery(chunk.embedding, this.query ?? new Float64Array(0))
        : bestScoreOfRow(unitVector32(chunk.embedding), 0, this.examples, this.dimension);
    if (score < this.threshold) return;
    const selector = this.ranker.selectorFor(chunk.filename);
    if (!selector.mightAccept(score)) return;
    selector.offer(score, chunk.chunk_id, chunk);
  }

  finish(): Ranked<StoredChunk> {
    return this.ranker.finish((chunk) => unitVector32(chunk.embedding), this.query ?? new Float64Array(0));
  }
}
