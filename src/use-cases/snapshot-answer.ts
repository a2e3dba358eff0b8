/**
 * A vector query answered from a snapshot held in process (search.ts): rank its rows with the scoring
 * kernel, then fetch the hits' texts from Redis, in the round trip that may also confirm the version.
 */

import { bothMasks } from '../domain/document-version';
import type { FusedScore } from '../domain/fusion';
import { bestScoreOfRow, type ExampleVectors } from '../domain/recommend';
import { type ScoreBuffer, scoreRows, type TopKKernel, topKByDotProduct } from '../domain/scoring';
import { type CompiledFilter, filterMask, withExpiry } from '../domain/search-filter';
import type { Ranked } from '../domain/search-ranking';
import type { KeywordIndexStore, Log, SnapshotRow, SnapshotStore } from '../ports';
import { type KeywordQuery, rankSnapshotKeywords } from './keyword-search';
import { rankerFor, type SearchOptions, type SearchResult, shape, toHit } from './search-results';
import { snapshotBm25 } from './snapshot-bm25';
import type { CachedSnapshot, SnapshotCache } from './snapshot-cache';

/** What answering from a held snapshot needs of the search's dependencies. */
export type HeldAnswerDeps = {
  cache: SnapshotCache;
  scores: ScoreBuffer;
  kernel?: TopKKernel;
  logger: Pick<Log, 'warn'>;
};

/** Carries an error of the snapshot path that did not come from Redis through the Redis fallback. */
export class NotARedisError {
  constructor(readonly cause: unknown) {}
}

/** Whether the filter reads created_at anywhere (rows of older snapshots lack it). */
export function readsCreatedAt(filter: CompiledFilter | null): boolean {
  return filter?.fields.has('created_at') === true;
}

export function forgotten(cache: SnapshotCache, botId: string): null {
  // Built for another dimension than the bot now declares: not this bot's current truth.
  cache.forget(botId);
  return null;
}

/**
 * A vector query's answer from a held snapshot, with its hits' texts from `textsOf`; null when the snapshot
 * cannot answer (another dimension, no created_at for a filter on it, texts gone); 'moved' when `textsOf`
 * found the snapshot changed since it was read.
 */
export async function answerFromHeld<Moved extends 'moved' = never>(
  deps: HeldAnswerDeps,
  botId: string,
  cached: CachedSnapshot,
  query: Float64Array | ExampleVectors,
  filter: CompiledFilter | null,
  options: SearchOptions,
  textsOf: (rows: readonly number[]) => Promise<string[] | Moved | null>,
): Promise<Omit<SearchResult, 'source'> | Moved | null> {
  const { cache } = deps;
  const dimension =
    query instanceof Float64Array ? query.length : ((query.positive[0] ?? query.negative[0])?.length ?? 0);
  if (cached.snapshot.dimension !== dimension) return forgotten(cache, botId);
  // A snapshot written before rows kept created_at cannot answer a filter on it; DynamoDB can.
  if (readsCreatedAt(filter) && !cached.hasCreatedAt) return null;
  let ranked: Ranked<number>;
  try {
    ranked = rankSnapshot(cached, query, filter, options, deps.scores, deps.kernel);
  } catch (error) {
    throw new NotARedisError(error);
  }
  const answer = await snapshotHits(cached, ranked, textsOf, options);
  if (answer === null) {
    cache.forget(botId);
    deps.logger.warn('Snapshot texts missing; searching DynamoDB', { botId });
  }
  return answer;
}

/**
 * The hits of ranked snapshot rows with their texts; null when the snapshot's texts are gone; 'moved'
 * when `textsOf` says so. `textsOf` is asked even for no rows: it may be what confirms the version.
 */
export async function snapshotHits<Moved extends 'moved' = never>(
  cached: CachedSnapshot,
  ranked: Ranked<number>,
  textsOf: (rows: readonly number[]) => Promise<string[] | Moved | null>,
  options: SearchOptions,
  scoresOf?: (row: number) => FusedScore,
): Promise<Omit<SearchResult, 'source'> | Moved | null> {
  const rows = ranked.hits.map((hit) => hit.ref);
  const texts = await textsOf(rows);
  if (texts === null || texts === 'moved') return texts;
  if (ranked.hits.length === 0)
    return { results: [], ...(ranked.groups === undefined ? {} : { groups: [] }) };
  const textOf = new Map(rows.map((row, i) => [row, texts[i] as string]));
  const { snapshot } = cached;
  const dim = snapshot.dimension;
  return shape(ranked, (row, score) =>
    toHit(
      snapshot.rows[row] as SnapshotRow,
      textOf.get(row) as string,
      score,
      options.withVectors === true ? snapshot.vectors.subarray(row * dim, (row + 1) * dim) : undefined,
      scoresOf?.(row),
    ),
  );
}

function rankSnapshot(
  cached: CachedSnapshot,
  query: Float64Array | ExampleVectors,
  filter: CompiledFilter | null,
  options: SearchOptions,
  buffer: ScoreBuffer,
  kernel: TopKKernel | undefined,
): Ranked<number> {
  const { snapshot, ids } = cached;
  const dim = snapshot.dimension;
  const rowCount = snapshot.rows.length;
  const mask = bothMasks(
    cached.visible,
    filter === null ? undefined : filterMask(snapshot.rows, filter, cached.rowsByFilename),
  );
  const ranker = rankerFor<number>(options);
  const idOf = (row: number) => ids[row] as string;
  if (!(query instanceof Float64Array)) {
    // best_score: every row that passes the filter against every example (no kernel scores this).
    const threshold = options.scoreThreshold ?? Number.NEGATIVE_INFINITY;
    for (const [filename, rows] of cached.rowsByFilename) {
      const selector = ranker.selectorFor(filename);
      for (const row of rows) {
        if (mask !== undefined && mask[row] === 0) continue;
        const score = bestScoreOfRow(snapshot.vectors, row * dim, query, dim);
        if (score >= threshold && selector.mightAccept(score)) selector.offer(score, idOf(row), row);
      }
    }
    return ranker.finish((row) => snapshot.vectors.subarray(row * dim, (row + 1) * dim), []);
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
    const threshold = options.scoreThreshold ?? Number.NEGATIVE_INFINITY;
    for (const [filename, rows] of cached.rowsByFilename) {
      const selector = ranker.selectorFor(filename);
      for (const row of rows) {
        if (mask !== undefined && mask[row] === 0) continue;
        const score = scores[row] as number;
        // Most rows fail `mightAccept` and never touch their id.
        if (score >= threshold && selector.mightAccept(score)) selector.offer(score, idOf(row), row);
      }
    }
  }
  return ranker.finish((row) => snapshot.vectors.subarray(row * dim, (row + 1) * dim), query);
}

/** The filter a held snapshot answers with: expiry joins it once some row of the snapshot has expired. */
export function liveFilter(
  filter: CompiledFilter | null,
  held: CachedSnapshot,
  now: number,
): CompiledFilter | null {
  return held.firstExpiry !== undefined && held.firstExpiry <= now ? withExpiry(filter, now) : filter;
}

/**
 * For a held copy with its texts: the texts of ranked rows once Redis confirms the copy's version, or
 * 'moved'. The version check is sent now, before the caller scores, so its answer is usually waiting by
 * the time the scores are; undefined for a copy without texts.
 */
export function heldTextsAt(
  cache: SnapshotCache,
  botId: string,
  epoch: number,
  held: CachedSnapshot,
): ((rows: readonly number[]) => Promise<string[] | 'moved'>) | undefined {
  const texts = held.texts;
  if (texts === undefined) return undefined;
  const current = cache.versionNow(botId);
  // Scoring may throw before anyone awaits the check; its own failure is seen where it is awaited.
  current.catch(() => {});
  return async (rows) => {
    const now = await current;
    if (now === null || now.version !== held.snapshot.version || now.epoch !== epoch) return 'moved';
    return rows.map((row) => texts[row] as string);
  };
}

/** What a keyword or hybrid answer from a held snapshot needs of the search's dependencies. */
export type KeywordAnswerDeps = {
  snapshots: SnapshotStore;
  keywords?: KeywordIndexStore | undefined;
  keywordQueryBuildMaxChunks?: number | undefined;
  keywordScores?: ScoreBuffer | undefined;
  scores: ScoreBuffer;
  /** The native exact scan: an ungrouped hybrid query takes its vector head from it. */
  kernel?: TopKKernel | undefined;
  logger: Pick<Log, 'warn'>;
};

/** A keyword or hybrid query's answer from a held snapshot; null when the snapshot cannot answer it. */
export async function keywordsFromSnapshot(
  deps: KeywordAnswerDeps,
  cached: CachedSnapshot,
  unit: Float64Array | null,
  keywords: KeywordQuery,
  filter: CompiledFilter | null,
  options: SearchOptions,
): Promise<Omit<SearchResult, 'source'> | null> {
  const sources = {
    snapshots: deps.snapshots,
    keywords: deps.keywords,
    maxQueryBuildChunks: deps.keywordQueryBuildMaxChunks,
    warn: (message: string, extra: Record<string, unknown>) => deps.logger.warn(message, extra),
  };
  const loaded = await snapshotBm25(sources, cached, keywords);
  if (loaded === null) return null;
  let ranking: ReturnType<typeof rankSnapshotKeywords>;
  try {
    const ranker = rankerFor<number>(options);
    ranking = rankSnapshotKeywords(
      cached,
      loaded.score(deps.keywordScores),
      unit,
      keywords,
      filter,
      ranker,
      options.scoreThreshold,
      deps.scores,
      deps.kernel,
    );
  } catch (error) {
    throw new NotARedisError(error);
  }
  const answer = await snapshotHits<never>(cached, ranking.ranked, loaded.texts, options, ranking.scoresOf);
  return answer === null ? null : { ...answer, keywordMatches: ranking.keywordMatches };
}
