/**
 * A search's plan, made from the parsed request before any source is read: the unit query vector, the
 * keyword query or the example vectors, the filter, and the bot's dimension.
 */

import { checkEmbeddingValues } from '../../contracts/dynamo-limits';
import type { SearchQuery } from '../../contracts/search-request';
import { epochSeconds } from '../../domain/expiry';
import type { RankedAnswer } from '../../domain/ranking/hits';
import { type KeywordQuery, keywordQueryOf } from '../../domain/ranking/keyword-query';
import type { ExampleVectors } from '../../domain/ranking/recommend';
import { normalise, type ScoreBuffer, type TopKKernel } from '../../domain/ranking/scoring';
import { type CompiledFilter, excludingIds } from '../../domain/search-filter';
import type { BotCollection } from '../../domain/types';
import { NotFoundError, ValidationError } from '../../errors';
import type { BotRegistry, ChunkStore, Log } from '../../ports';
import type { KeywordIndexStore, SnapshotCache, SnapshotStore } from '../../snapshot';
import { exampleQuery } from './example-vectors';
import type { FallbackGate } from './fallback-gate';

/** A search's options: `limit` and whatever else the request asked (see SearchQuery; defaults: none). */
export type SearchOptions = Pick<SearchQuery, 'limit'> &
  Partial<Omit<SearchQuery, 'limit'>> & {
    /** The bot's record when the caller already read it (authorization does); read here otherwise. */
    bot?: BotCollection;
  };

/** The hits in rank order (with `groupBy`, per document in `groups` too), and which source answered. */
export type SearchResult = RankedAnswer & { source: 'snapshot' | 'dynamodb' };

/** What search reads and is bounded by: the ports, the container's snapshot cache and its gates. */
export type SearchDeps = {
  bots: Pick<BotRegistry, 'get'>;
  chunks: Pick<ChunkStore, 'readBot' | 'get'>;
  /** null when no Redis is configured: every search reads DynamoDB. */
  snapshots: SnapshotStore | null;
  cache: SnapshotCache | null;
  scores: ScoreBuffer;
  /** Where keyword scores land (one per search function, made by `makeSearch` when not given). */
  keywordScores?: ScoreBuffer;
  /** The bots' keyword indexes in Redis (hybrid search reads only its terms' postings); else built in process. */
  keywords?: KeywordIndexStore | undefined;
  /** Largest bot whose keyword index a query builds (sources/keyword-scores.ts); rebuilds build it at any size. */
  keywordQueryBuildMaxChunks?: number;
  /** The native exact scan (src/domain/ranking/quantised-scan.ts); without it the portable loop scores. */
  kernel?: TopKKernel;
  logger: Pick<Log, 'warn' | 'info'>;
  /** Bounds this container's full DynamoDB reads (made by `makeSearch` when not given). */
  fallback?: FallbackGate;
  /** A search still running after this long answers 503 (default SEARCH_DEADLINE_MS). */
  deadlineMs?: number;
  /** The clock expiry is judged by (default: the system clock). */
  now?: () => Date;
};

/**
 * The query as every source takes it: a unit vector and/or keyword terms, or (best_score) example
 * vectors, and the bot's dimension.
 */
export type QueryPlan = {
  unit: Float64Array | null;
  keywords: KeywordQuery | null;
  examples: ExampleVectors | null;
  dimension: number;
  /** The epoch second of the query: chunks expired by then are left out. */
  now: number;
};

/** A search planned: the bot, the query, and the filter (example chunks left out). */
export type SearchPlan = { bot: BotCollection; plan: QueryPlan; filter: CompiledFilter | null };

/**
 * Plans a search: reads the bot (unless given) and, with `examples`, the example chunks; checks the
 * query against the bot.
 * @throws NotFoundError for a bot without a record, or example chunk ids the bot does not hold.
 * @throws ValidationError (field `embedding`) when the embedding's length is not the bot's dimension or it
 *   is all zeros; (`query_text`, `query`, `strategy`, `mmr`) for a combination the query cannot take.
 */
export async function planSearch(
  deps: Pick<SearchDeps, 'bots' | 'chunks' | 'now'>,
  botId: string,
  given: ArrayLike<number> | undefined,
  options: SearchOptions,
): Promise<SearchPlan> {
  const bot = options.bot ?? (await deps.bots.get(botId));
  if (bot === undefined) throw new NotFoundError(`bot ${botId} does not exist`);
  const keywords =
    options.queryText === undefined ? null : keywordQueryOf(options.queryText, options.fusion, bot);
  let embedding = given;
  let examples: ExampleVectors | null = null;
  let excluded: string[] | null = null;
  if (options.examples !== undefined) {
    if (given !== undefined) throw new ValidationError('cannot be combined with embedding', 'query');
    ({ embedding, examples, excluded } = await exampleQuery(
      deps.chunks,
      botId,
      options.examples,
      bot.embedding_dimension,
    ));
    if (examples !== null && (keywords !== null || options.mmr !== undefined)) {
      throw new ValidationError('best_score cannot be combined with query_text or mmr', 'strategy');
    }
  }
  if (embedding === undefined && examples === null && keywords === null) {
    throw new ValidationError('embedding or query_text is required', 'embedding');
  }
  let unit: Float64Array | null = null;
  if (embedding !== undefined) {
    if (embedding.length !== bot.embedding_dimension) {
      throw new ValidationError(
        `embedding has ${embedding.length} dimensions, bot ${botId} uses ${bot.embedding_dimension}`,
        'embedding',
      );
    }
    checkEmbeddingValues(embedding, 'embedding');
    unit = normalise(embedding);
    if (unit === null) throw new ValidationError('embedding must not be all zeros', 'embedding');
  }
  if (keywords !== null && options.mmr !== undefined) {
    throw new ValidationError('mmr cannot be combined with query_text', 'mmr');
  }
  const compiled = options.filter ?? null;
  return {
    bot,
    plan: {
      unit,
      keywords,
      examples,
      dimension: bot.embedding_dimension,
      now: epochSeconds(deps.now?.() ?? new Date()),
    },
    filter: excluded === null ? compiled : excludingIds(compiled, excluded),
  };
}
