/** How ranked chunks become search's answer: hits, groups, and the Ranker for a request's options. */

import type { SnapshotRow } from '../snapshot';
import type { ChunkMetadata, SearchHit, StoredChunk } from '../types';
import type { FusedScore } from './fusion';
import { type Ranked, Ranker } from './ranker';

/** The hits in rank order; with `groupBy`, `groups` holds them per document as well. */
export type RankedAnswer = {
  results: SearchHit[];
  groups?: { id: string; hits: SearchHit[] }[];
  /** With query_text: how many chunks that pass the filter match a query term (0: the keyword side is empty). */
  keywordMatches?: number;
};

/** What ranking reads of a search's options (a SearchQuery, or part of one). */
export type RankOptions = {
  limit: number;
  offset?: number | undefined;
  scoreThreshold?: number | undefined;
  withVectors?: boolean | undefined;
  groupBy?: { field: 'filename'; groupSize: number } | undefined;
  mmr?: { diversity: number; candidates: number } | undefined;
};

/** The shape search returns per chunk; `filename` and `chunk_index` win over metadata keys of the same name. */
export function toHit(
  row: SnapshotRow | StoredChunk,
  text: string,
  score: number,
  vector: ArrayLike<number> | undefined,
  scores?: FusedScore,
): SearchHit {
  const metadata: SearchHit['metadata'] = {
    filename: row.filename,
    chunk_index: row.chunk_index,
    ...(row.metadata as ChunkMetadata),
  };
  metadata.filename = row.filename;
  metadata.chunk_index = row.chunk_index;
  const hit: SearchHit = { chunk_id: row.chunk_id, text, score, metadata };
  if (scores !== undefined) {
    if (!Number.isNaN(scores.vector)) hit.vector_score = scores.vector;
    hit.keyword_score = scores.keyword;
    hit.fused_score = scores.fused;
  }
  if (vector !== undefined) hit.vector = Array.from(vector);
  return hit;
}

/** Ranked refs as the search result, `hitOf` making each hit (undefined drops it: its chunk is gone). */
export function shape<T>(
  ranked: Ranked<T>,
  hitOf: (ref: T, score: number) => SearchHit | undefined,
): RankedAnswer {
  const hits = new Map<T, SearchHit>();
  for (const hit of ranked.hits) {
    const made = hitOf(hit.ref, hit.score);
    if (made !== undefined) hits.set(hit.ref, made);
  }
  const pick = (refs: Ranked<T>['hits']) => refs.flatMap((r) => hits.get(r.ref) ?? []);
  if (ranked.groups === undefined) return { results: pick(ranked.hits) };
  const groups = ranked.groups
    .map((group) => ({ id: group.id, hits: pick(group.hits) }))
    .filter((group) => group.hits.length > 0);
  return { results: groups.flatMap((group) => group.hits), groups };
}

/** The Ranker of a search's options: top-k after `offset`, groups of `groupBy`, or MMR. */
export function rankerFor<T>(options: RankOptions): Ranker<T> {
  return new Ranker<T>({
    limit: options.limit,
    offset: options.offset ?? 0,
    ...(options.groupBy === undefined ? {} : { groupSize: options.groupBy.groupSize }),
    ...(options.mmr === undefined ? {} : { mmr: options.mmr }),
  });
}
