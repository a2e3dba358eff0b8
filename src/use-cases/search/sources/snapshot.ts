/**
 * The bot's snapshot as a source of rows to rank (docs/snapshot.md): the copy held in process, its version
 * confirmed in the round trip that reads the hits' texts, or the current snapshot from the cache (read from
 * Redis when not held). These functions read; none ranks (ranking is src/domain/ranking/, pure).
 */
import type { FusedScore } from '../../../domain/ranking/fusion';
import { type RankedAnswer, type RankOptions, shape, toHit } from '../../../domain/ranking/hits';
import type { KeywordQuery } from '../../../domain/ranking/keyword-query';
import type { Ranked } from '../../../domain/ranking/ranker';
import { type CompiledFilter, withExpiry } from '../../../domain/search-filter';
import type { Log } from '../../../ports';
import type {
  CachedSnapshot,
  KeywordIndexStore,
  SnapshotCache,
  SnapshotRow,
  SnapshotStore,
} from '../../../snapshot';
import type { QueryPlan } from '../plan';
import { type Bm25Scorer, peekedBm25, snapshotBm25 } from './keyword-scores';

/** What reading a snapshot needs of the search's dependencies. */
export type SnapshotSourceDeps = {
  snapshots: SnapshotStore;
  cache: SnapshotCache;
  keywords?: KeywordIndexStore | undefined;
  keywordQueryBuildMaxChunks?: number | undefined;
  logger: Pick<Log, 'warn'>;
};

/** Rows of a snapshot to rank, with what ranking needs besides them and how to read the hits' texts. */
export type SnapshotRows = {
  held: CachedSnapshot;
  /** The query's filter, with expiry joined once some row of the snapshot has expired. */
  filter: CompiledFilter | null;
  /**
   * A keyword query's BM25 over the rows, computed when ranking, once it is at hand (a read of the query
   * terms' postings may still be on its way); undefined when it cannot be had at this version. Null for a
   * vector query.
   */
  bm25: Promise<Bm25Scorer | undefined> | null;
  /**
   * Texts of ranked rows; null when the snapshot's texts are gone; 'moved' when the held copy is no longer
   * the current version. Asked even for no rows: it may be what confirms the version.
   */
  texts: (rows: readonly number[]) => Promise<string[] | 'moved' | null>;
};

/** Whether a held snapshot may answer the query; a snapshot of another dimension is forgotten. */
function mayAnswer(
  cache: SnapshotCache,
  held: CachedSnapshot,
  plan: QueryPlan,
  filter: CompiledFilter | null,
): boolean {
  if (held.snapshot.dimension !== plan.dimension) {
    // Built for another dimension than the bot now declares: not this bot's current truth.
    cache.forget(held.snapshot.botId);
    return false;
  }
  // A snapshot with a row lacking created_at cannot answer a filter on it; DynamoDB can.
  return !(filter?.fields.has('created_at') === true && !held.hasCreatedAt);
}

/** The filter a held snapshot answers with: expiry joins it once some row of the snapshot has expired. */
function liveFilter(filter: CompiledFilter | null, held: CachedSnapshot, now: number): CompiledFilter | null {
  return held.firstExpiry !== undefined && held.firstExpiry <= now ? withExpiry(filter, now) : filter;
}

/**
 * The copy held in process, without a round trip of its own: its version is confirmed by the version
 * check sent now (before the caller ranks, so its answer is usually waiting by then) when the copy holds
 * its texts, else by the read of the hits' texts at its version. A keyword query's postings are read at
 * the copy's version meanwhile (`peekedBm25`, sent just before the check, awaited by the caller when it
 * ranks). 'none' when no copy may be peeked (memory mode, none held); null when the held copy cannot
 * answer (DynamoDB answers).
 */
export async function peekedRows(
  deps: SnapshotSourceDeps,
  botId: string,
  epoch: number,
  plan: QueryPlan,
  filter: CompiledFilter | null,
  known: { version: string; epoch: number } | undefined,
): Promise<SnapshotRows | 'none' | null> {
  const { snapshots, cache } = deps;
  if (known !== undefined) return 'none';
  const peeked = cache.peek(botId, epoch);
  if (peeked === null) return 'none';
  if (!mayAnswer(cache, peeked, plan, filter)) return null;
  const version = peeked.snapshot.version;
  // A keyword query's postings are asked before the version check: Redis answers in order, and ranking
  // waits for the postings, while the check is awaited only for the hits' texts.
  const bm25 = plan.keywords === null ? null : peekedBm25(deps.keywords, peeked, plan.keywords);
  // Ranking's own preparation may throw before anyone awaits the read; its failure is seen where awaited.
  bm25?.catch(() => {});
  const texts =
    heldTextsAt(cache, botId, epoch, peeked) ??
    ((rows: readonly number[]) =>
      snapshots.textsAt(
        botId,
        rows.map((row) => peeked.ids[row] as string),
        version,
      ));
  return { held: peeked, filter: liveFilter(filter, peeked, plan.now), bm25, texts };
}

/**
 * The current snapshot from the cache (`get` confirms its version, reading it from Redis when it is not
 * held), with a keyword query's BM25 source; null when there is none or it cannot answer the query.
 * @throws whatever the store throws (Redis down: the caller answers from DynamoDB).
 */
export async function currentRows(
  deps: SnapshotSourceDeps,
  botId: string,
  epoch: number,
  plan: QueryPlan,
  filter: CompiledFilter | null,
  known: { version: string; epoch: number } | undefined,
): Promise<SnapshotRows | null> {
  const { snapshots, cache } = deps;
  const cached = await cache.get(botId, epoch, known);
  if (cached === null) return null;
  const live = liveFilter(filter, cached, plan.now);
  if (!mayAnswer(cache, cached, plan, live)) return null;
  if (plan.keywords !== null) return keywordRows(deps, cached, plan.keywords, live);
  // `get` has just confirmed the version: held texts are that version's.
  const held = cached.texts;
  const texts = (rows: readonly number[]) =>
    held === undefined
      ? snapshots.texts(
          botId,
          rows.map((row) => cached.ids[row] as string),
        )
      : Promise.resolve(rows.map((row) => held[row] as string));
  return { held: cached, filter: live, bm25: null, texts };
}

async function keywordRows(
  deps: SnapshotSourceDeps,
  cached: CachedSnapshot,
  keywords: KeywordQuery,
  filter: CompiledFilter | null,
): Promise<SnapshotRows | null> {
  const sources = {
    snapshots: deps.snapshots,
    keywords: deps.keywords,
    maxQueryBuildChunks: deps.keywordQueryBuildMaxChunks,
    warn: (message: string, extra: Record<string, unknown>) => deps.logger.warn(message, extra),
  };
  const loaded = await snapshotBm25(sources, cached, keywords);
  if (loaded === null) return null;
  return { held: cached, filter, bm25: Promise.resolve(loaded.score), texts: loaded.texts };
}

/**
 * The hits of ranked snapshot rows with their texts; null when the snapshot's texts are gone; 'moved'
 * when the held copy is no longer current.
 * @throws whatever the store throws.
 */
export async function snapshotHits(
  rows: SnapshotRows,
  ranked: Ranked<number>,
  options: RankOptions,
  scoresOf?: (row: number) => FusedScore,
): Promise<RankedAnswer | 'moved' | null> {
  const refs = ranked.hits.map((hit) => hit.ref);
  const texts = await rows.texts(refs);
  if (texts === null || texts === 'moved') return texts;
  if (ranked.hits.length === 0)
    return { results: [], ...(ranked.groups === undefined ? {} : { groups: [] }) };
  const textOf = new Map(refs.map((row, i) => [row, texts[i] as string]));
  const { snapshot } = rows.held;
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

/**
 * For a held copy with its texts: the texts of ranked rows once Redis confirms the copy's version, or
 * 'moved'. The version check is sent now, before the caller ranks; undefined for a copy without texts.
 */
function heldTextsAt(
  cache: SnapshotCache,
  botId: string,
  epoch: number,
  held: CachedSnapshot,
): ((rows: readonly number[]) => Promise<string[] | 'moved'>) | undefined {
  const texts = held.texts;
  if (texts === undefined) return undefined;
  const current = cache.versionNow(botId);
  // Ranking may throw before anyone awaits the check; its own failure is seen where it is awaited.
  current.catch(() => {});
  return async (rows) => {
    const now = await current;
    if (now === null || now.version !== held.snapshot.version || now.epoch !== epoch) return 'moved';
    return rows.map((row) => texts[row] as string);
  };
}
