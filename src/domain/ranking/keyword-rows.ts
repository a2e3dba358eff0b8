/**
 * Keyword and hybrid ranking (docs/keyword-search.md): BM25 over the rows' texts, alone or fused with
 * cosine similarity, then the Ranker's top-k or groups. Pure: the scores come in, ranked rows go out, so a
 * snapshot's rows and the chunks of a DynamoDB read rank alike.
 */

import { bothMasks, isShown, visibleVersions } from '../document-version';
import { DEFAULT_TOKENISER, tokenise } from '../keyword-text';
import { type CompiledFilter, filterMask, matchesFilter } from '../search-filter';
import type { StoredChunk } from '../types';
import { KeywordIndex } from './bm25';
import { rrfFromDense } from './dense-fusion';
import { best, type FusedCandidates, rowsPassing, topFusedCandidates } from './fused-candidates';
import type { FusedScore } from './fusion';
import { emptyHeadFusionStats } from './head-fusion';
import { rankHybrid } from './hybrid-ranking';
import type { KeywordQuery } from './keyword-query';
import type { Ranked, Ranker } from './ranker';
import {
  dotRow,
  type RowList,
  rowsKept,
  type ScoreBuffer,
  scoreRows,
  type TopKKernel,
  type VectorScans,
  writeUnitVector,
} from './scoring';
import { firstHeadScan, fuseFromHead } from './threshold-fusion';
import type { RankableRows } from './vector-rows';

/**
 * Ranked snapshot rows (candidate i = row `rows[i]`) with their scores, and how many candidates (chunks
 * that pass the filter) match a query term.
 */
export type KeywordRanking<T> = {
  ranked: Ranked<T>;
  scoresOf: (ref: T) => FusedScore;
  keywordMatches: number;
};

/** How often hybrid search proved its fused top from the vector head (read by the bench). */
export const headFusionStats = emptyHeadFusionStats();

/**
 * A keyword or hybrid query over a snapshot's rows, with all its ranking needs but the BM25 scores:
 * the candidates' mask and, for an ungrouped hybrid query on a kernel, what its fused top starts from,
 * among it the first vector scan it reads (threshold-fusion.ts, `firstHeadScan`). Made while the scores
 * are being read, so that scan overlaps the round trip.
 */
export type KeywordRowsQuery = {
  cached: RankableRows;
  unitQuery: Float64Array | null;
  query: KeywordQuery;
  ranker: Ranker<number>;
  /** The candidates: rows shown and passing the filter (undefined: every row). */
  mask: Uint8Array | undefined;
  /** An ungrouped hybrid query on a kernel: its fused top is tried from the kernel's vector head. */
  head: HeadStart | undefined;
};

type HeadStart = {
  kernel: TopKKernel;
  unitQuery: Float64Array;
  candidateCount: number;
  firstScan: { wanted: number; withBottom: boolean; scan: VectorScans } | undefined;
};

/** The query over `cached` prepared for ranking (see KeywordRowsQuery): its one vector scan read now. */
export function prepareKeywordRows(
  cached: RankableRows,
  unitQuery: Float64Array | null,
  query: KeywordQuery,
  filter: CompiledFilter | null,
  ranker: Ranker<number>,
  kernel?: TopKKernel,
): KeywordRowsQuery {
  const { snapshot } = cached;
  const rowCount = snapshot.rows.length;
  const mask = bothMasks(
    cached.visible,
    filter === null ? undefined : filterMask(snapshot.rows, filter, cached.rowsByFilename),
  );
  const prepared = { cached, unitQuery, query, ranker, mask, head: undefined };
  if (unitQuery === null || ranker.grouped || kernel === undefined) return prepared;
  const candidateCount = rowsKept(mask, rowCount);
  const first = firstHeadScan(query.fusion, ranker.selectorFor('').k, candidateCount);
  const { vectors, dimension } = snapshot;
  let firstScan: HeadStart['firstScan'];
  if (first !== null) {
    const { wanted, withBottom } = first;
    const scan = kernel.approximate?.(vectors, dimension, rowCount, unitQuery, wanted, mask, withBottom);
    if (scan != null) firstScan = { wanted, withBottom, scan };
  }
  return { ...prepared, head: { kernel, unitQuery, candidateCount, firstScan } };
}

/**
 * Keyword or hybrid ranking of a snapshot's rows. An ungrouped hybrid query on a kernel first tries the
 * fused top from the kernel's vector head; otherwise (and when that is not proven) every candidate's
 * cosine is computed.
 */
export function rankKeywordRows(
  prepared: KeywordRowsQuery,
  keywords: { scores: Float64Array; matched: RowList },
  scoreThreshold: number | undefined,
  buffer?: ScoreBuffer,
): KeywordRanking<number> {
  const { cached, unitQuery, query, ranker, mask } = prepared;
  const { snapshot } = cached;
  const rowCount = snapshot.rows.length;
  const { scores: bm25, matched } = keywords;
  const idOf = (row: number) => cached.ids[row] as string;
  const groupOf = (row: number) => snapshot.rows[row]?.filename as string;
  const candidateMatches = rowsPassing(matched, mask);
  const keywordMatches = candidateMatches.length;
  if (prepared.head !== undefined) {
    // The fused top from the vector head of the native kernel, when the bound proves it
    // (src/domain/ranking/threshold-fusion.ts); every row's cosine is computed only when it does not.
    const { kernel, unitQuery, candidateCount } = prepared.head;
    const { vectors, dimension } = snapshot;
    // The scan read before the scores arrived answers, once, the first request it covers: one for no more
    // rows (a scan listing more rows than asked serves every reader of it alike), and for the negated
    // query only when it was read too. RRF asks fewer rows than prepared when no candidate matches a term.
    let early = prepared.head.firstScan;
    const head = fuseFromHead(
      {
        unitQuery,
        candidateCount,
        rowCount,
        mask,
        bm25,
        matched: candidateMatches,
        idOf,
        cosineOf: (row) => dotRow(vectors, row * dimension, unitQuery, dimension),
        head: (query, k) =>
          kernel.topK(vectors, dimension, rowCount, query, idOf, {
            k,
            ...(mask === undefined ? {} : { mask }),
          }),
        scan: (query, wanted, withBottom) => {
          if (
            early !== undefined &&
            query === unitQuery &&
            wanted <= early.wanted &&
            (withBottom !== true || early.withBottom)
          ) {
            const { scan } = early;
            early = undefined;
            return scan;
          }
          return kernel.approximate?.(vectors, dimension, rowCount, query, wanted, mask, withBottom) ?? null;
        },
      },
      query.fusion,
      ranker.selectorFor('').k,
      headFusionStats,
    );
    // RRF's ranks too deep for a scan to prove: every row's score from one dense pass, within a bound.
    const few =
      head === null && query.fusion.method === 'rrf'
        ? fuseFromDense(kernel, snapshot, unitQuery, mask, bm25, candidateMatches, idOf, query.fusion, ranker)
        : null;
    const top = head ?? few;
    if (top !== null) {
      const cosine = buffer?.take(rowCount) ?? new Float64Array(rowCount);
      top.rows.forEach((row, i) => {
        cosine[row] = top.vector[i] as number;
      });
      return {
        ...rankRows(top.rows, idOf, groupOf, cosine, bm25, query, ranker, scoreThreshold, top.fused),
        keywordMatches,
      };
    }
  }
  const cosine =
    unitQuery === null
      ? null
      : scoreRows(snapshot.vectors, snapshot.dimension, rowCount, unitQuery, mask, buffer);
  if (cosine !== null && !ranker.grouped) {
    // Only the candidates that can reach the top need ranks and ids (src/domain/ranking/fused-candidates.ts).
    const keep = ranker.selectorFor('').k;
    const few = topFusedCandidates({ rowCount, mask, cosine, bm25, matched, idOf }, query.fusion, keep);
    if (few !== null) {
      return {
        ...rankRows(few.rows, idOf, groupOf, cosine, bm25, query, ranker, scoreThreshold, few.fused),
        keywordMatches,
      };
    }
  }
  // Keyword only: the candidates that match a term, already at hand (no pass over every row). Ungrouped,
  // only the best `keep` of them (ties by id, as the ranker breaks them) can be returned: ranks and ids
  // for those alone, where a common term matches thousands.
  let rows: RowList =
    cosine === null && !ranker.grouped
      ? best(
          { rows: candidateMatches, count: candidateMatches.length, mask: undefined },
          bm25,
          idOf,
          ranker.selectorFor('').k,
        )
      : candidateMatches;
  if (cosine !== null) {
    const passing: number[] = [];
    for (let row = 0; row < rowCount; row++) if (mask === undefined || mask[row] !== 0) passing.push(row);
    rows = passing;
  }
  return { ...rankRows(rows, idOf, groupOf, cosine, bm25, query, ranker, scoreThreshold), keywordMatches };
}

/** RRF's fused candidates from the kernel's dense pass, or null when the kernel has none. */
function fuseFromDense(
  kernel: TopKKernel,
  snapshot: RankableRows['snapshot'],
  unitQuery: Float64Array,
  mask: Uint8Array | undefined,
  bm25: Float64Array,
  matched: RowList,
  idOf: (row: number) => string,
  fusion: Extract<KeywordQuery['fusion'], { method: 'rrf' }>,
  ranker: Ranker<number>,
): FusedCandidates | null {
  const { vectors, dimension } = snapshot;
  const rowCount = snapshot.rows.length;
  const dense = kernel.dense?.(vectors, dimension, rowCount, unitQuery) ?? null;
  if (dense === null) return null;
  const cosineOf = (row: number) => dotRow(vectors, row * dimension, unitQuery, dimension);
  const few = rrfFromDense(
    { rowCount, mask, bm25, matched, idOf, cosineOf },
    dense,
    fusion,
    ranker.selectorFor('').k,
  );
  if (few !== null) headFusionStats.dense++;
  return few;
}

/**
 * Keyword or hybrid ranking of every chunk of a bot read from DynamoDB (the chunks with an embedding of
 * `dimension`, as the snapshot keeps). BM25 statistics cover all of them; the filter then picks candidates.
 */
export function rankChunkKeywords(
  chunks: readonly StoredChunk[],
  dimension: number,
  unitQuery: Float64Array | null,
  query: KeywordQuery,
  filter: CompiledFilter | null,
  ranker: Ranker<number>,
  scoreThreshold: number | undefined,
): { ranking: KeywordRanking<number>; kept: StoredChunk[] } {
  const latest = new Map<string, StoredChunk>();
  // The snapshot keeps the chunks whose embedding is a finite vector of the bot's dimension: so does this.
  for (const chunk of chunks) {
    if (chunk.embedding.length === dimension && chunk.embedding.every(Number.isFinite)) {
      latest.set(chunk.chunk_id, chunk);
    } else latest.delete(chunk.chunk_id);
  }
  const kept = [...latest.values()];
  const index = new KeywordIndex(kept.map((chunk) => tokenise(chunk.text, DEFAULT_TOKENISER)));
  const bm25 = index.score(query.terms, query.bm25).scores;
  let cosine: Float64Array | null = null;
  // Only the version each document shows may be returned, as from the snapshot (document-version.ts).
  const visible = visibleVersions(kept);
  const mask = new Uint8Array(kept.length);
  kept.forEach((chunk, i) => {
    mask[i] = isShown(chunk, visible) && (filter === null || matchesFilter(chunk, filter)) ? 1 : 0;
  });
  if (unitQuery !== null) {
    // Packed float32 unit vectors scored by the snapshot's own loop: equal scores, bit for bit.
    const vectors = new Float32Array(kept.length * dimension);
    kept.forEach((chunk, i) => {
      writeUnitVector(chunk.embedding, vectors, i * dimension);
    });
    cosine = scoreRows(vectors, dimension, kept.length, unitQuery, mask, undefined);
  }
  const rows: number[] = [];
  for (let row = 0; row < kept.length; row++) {
    if (mask[row] === 0) continue;
    if (cosine === null && (bm25[row] as number) <= 0) continue;
    rows.push(row);
  }
  let keywordMatches = 0;
  for (let row = 0; row < kept.length; row++)
    if (mask[row] !== 0 && (bm25[row] as number) > 0) keywordMatches++;
  const ranked = rankRows(
    rows,
    (row) => (kept[row] as StoredChunk).chunk_id,
    (row) => (kept[row] as StoredChunk).filename,
    cosine,
    bm25,
    query,
    ranker,
    scoreThreshold,
  );
  return { ranking: { ...ranked, keywordMatches }, kept };
}

function rankRows(
  rows: RowList,
  idOf: (row: number) => string,
  groupOf: (row: number) => string,
  cosine: Float64Array | null,
  bm25: Float64Array,
  query: KeywordQuery,
  ranker: Ranker<number>,
  scoreThreshold: number | undefined,
  fused?: Float64Array,
): Omit<KeywordRanking<number>, 'keywordMatches'> {
  const n = rows.length;
  const keyword = new Float64Array(n);
  const vector = cosine === null ? null : new Float64Array(n);
  const ids: string[] = new Array(n);
  const groups: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row = rows[i] as number;
    keyword[i] = bm25[row] as number;
    if (vector !== null) vector[i] = (cosine as Float64Array)[row] as number;
    ids[i] = idOf(row);
    groups[i] = ranker.grouped ? groupOf(row) : '';
  }
  const { ranked, scoresOf } = rankHybrid(
    { ids, groups, vector, keyword, ...(fused === undefined ? {} : { fused }) },
    query.fusion,
    ranker,
    scoreThreshold,
  );
  const asRow = (i: number) => rows[i] as number;
  const hits = ranked.hits.map((hit) => ({ ...hit, ref: asRow(hit.ref) }));
  const candidateOf = new Map(ranked.hits.map((hit) => [asRow(hit.ref), hit.ref]));
  return {
    ranked: {
      hits,
      groups: ranked.groups?.map((group) => ({
        id: group.id,
        hits: group.hits.map((hit) => ({ ...hit, ref: asRow(hit.ref) })),
      })),
    },
    scoresOf: (row) => scoresOf(candidateOf.get(row) as number),
  };
}
