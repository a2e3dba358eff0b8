import { checkEmbeddingValues } from '../domain/dynamo-limits';
import { epochSeconds } from '../domain/expiry';
import type { ExampleVectors } from '../domain/recommend';
import { SEARCH_DEADLINE_MS } from '../domain/response-limits';
import { normalise, ScoreBuffer } from '../domain/scoring';
import { type CompiledFilter, excludingIds } from '../domain/search-filter';
import { CacheUnavailableError, NotFoundError, UnavailableError, ValidationError } from '../errors';
import { withDeadline } from '../machinery/deadline';
import type { SnapshotStore } from '../ports';
import { exampleQuery } from './example-vectors';
import { FallbackGate } from './fallback-gate';
import { keywordQueryOf } from './keyword-search';
import { searchScan } from './scan-search';
import { fromDynamoDb } from './search-fallback';
import type { QueryPlan, SearchDeps } from './search-plan';
import type { SearchOptions, SearchResult } from './search-results';
import {
  answerFromHeld,
  forgotten,
  heldTextsAt,
  keywordsFromSnapshot,
  liveFilter,
  NotARedisError,
  readsCreatedAt,
} from './snapshot-answer';
import type { SnapshotCache } from './snapshot-cache';

export type { SearchDeps } from './search-plan';
export type { SearchOptions, SearchResult } from './search-results';

/** Search as its callers see it: one function over injected ports. */
export type Search = (
  botId: string,
  embedding: ArrayLike<number> | undefined,
  options: SearchOptions,
) => Promise<SearchResult>;

/**
 * Builds `search(botId, embedding, options)`: the top `limit` chunks of the bot by cosine similarity,
 * best first, ties by ascending chunk_id, among the chunks that pass the filter (applied before top-k);
 * or, with `groupBy`, the best `limit` documents with their best chunks; or, with `mmr`, a diverse
 * `limit` of the best `candidates`. Answers from the Redis snapshot (cached in process per version) when
 * a current one exists; otherwise from a consistent, paginated read of DynamoDB, rebuilding the snapshot
 * from that same read (one rebuild per bot at a time). Both rank through one `Ranker`, so they agree.
 * Redis errors never fail a search: they are logged and DynamoDB answers. Full DynamoDB reads go through
 * the container's `FallbackGate`: concurrent searches of one bot share the first one's read (and the
 * snapshot it rebuilds), and searches beyond its bounds are shed.
 * With `examples` (recommend, or search by chunk id) the query is built from those stored chunks
 * (example-vectors.ts), which are left out of the results.
 * @throws NotFoundError for a bot without a record, or example chunk ids the bot does not hold.
 * @throws UnavailableError when the fallback gate sheds the search.
 * @throws ValidationError (field `embedding`) when the embedding's length is not the bot's dimension or it
 * is all zeros; (field `filter...`) for a filter that does not parse.
 */
export function makeSearch(given: SearchDeps): Search {
  const deps: SearchDeps = { keywordScores: new ScoreBuffer(), fallback: new FallbackGate(), ...given };
  const gate = deps.fallback as FallbackGate;
  const deadlineMs = deps.deadlineMs ?? SEARCH_DEADLINE_MS;
  const answer: Search = async (botId, given, options) => {
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
    let query: Float64Array | null = null;
    if (embedding !== undefined) {
      if (embedding.length !== bot.embedding_dimension) {
        throw new ValidationError(
          `embedding has ${embedding.length} dimensions, bot ${botId} uses ${bot.embedding_dimension}`,
          'embedding',
        );
      }
      checkEmbeddingValues(embedding, 'embedding');
      query = normalise(embedding);
      if (query === null) throw new ValidationError('embedding must not be all zeros', 'embedding');
    }
    if (keywords !== null && options.mmr !== undefined) {
      throw new ValidationError('mmr cannot be combined with query_text', 'mmr');
    }
    const compiled = options.filter ?? null;
    const filter = excluded === null ? compiled : excludingIds(compiled, excluded);
    const plan: QueryPlan = {
      unit: query,
      keywords,
      examples,
      dimension: bot.embedding_dimension,
      now: epochSeconds(deps.now?.() ?? new Date()),
    };
    const epoch = bot.snapshot_epoch ?? 0;
    // Memory mode: the version is on the bot's item just read, so checking the held copy costs nothing.
    const known = deps.snapshots?.versionOf?.(bot);

    let redisUp = deps.snapshots !== null && deps.cache !== null;
    if (redisUp) {
      try {
        const answer = await fromSnapshot(deps, botId, epoch, plan, filter, options, known);
        if (answer !== null) return { ...answer, source: 'snapshot' };
      } catch (error) {
        // Ranking is plain computation: its failure is a bug to report, not Redis being away.
        if (error instanceof NotARedisError) throw error.cause;
        redisUp = false;
        // A known outage was reported once by the circuit breaker; only a surprise is worth a line.
        if (!(error instanceof CacheUnavailableError)) {
          deps.logger.warn('Redis unavailable; searching DynamoDB', { botId, error });
        }
      }
    }
    // Once another search's read of this bot ends, the snapshot it rebuilt may answer this one.
    const again = redisUp
      ? async () => {
          const answer = await fromSnapshot(deps, botId, epoch, plan, filter, options, known).catch(
            (error) => {
              if (error instanceof NotARedisError) throw error.cause;
              return null;
            },
          );
          return answer === null ? null : ({ ...answer, source: 'snapshot' } as SearchResult);
        }
      : null;
    return gate.run<SearchResult>(
      botId,
      async () => ({
        ...(await fromDynamoDb(deps, botId, epoch, plan, filter, options, redisUp)),
        source: 'dynamodb' as const,
      }),
      again,
    );
  };
  // Past the deadline a search answers 503 rather than running on towards API Gateway's 29 s (or, in
  // serverless-offline, for as long as an overloaded DynamoDB read takes). Its work is not stopped: a
  // full read under way still rebuilds the snapshot, and the bot's next searches wait for it.
  return (botId, given, options) =>
    withDeadline(answer(botId, given, options), deadlineMs, () => {
      throw new UnavailableError(
        `search of bot ${botId} ran past its ${deadlineMs / 1000} s deadline; send the request again later`,
        'deadline',
        1,
      );
    });
}

/** The answer from the current snapshot, or null when there is none (or its texts are gone). */
async function fromSnapshot(
  deps: SearchDeps,
  botId: string,
  epoch: number,
  plan: QueryPlan,
  filter: CompiledFilter | null,
  options: SearchOptions,
  known: { version: string; epoch: number } | undefined,
): Promise<Omit<SearchResult, 'source'> | null> {
  const snapshots = deps.snapshots as SnapshotStore;
  const cache = deps.cache as SnapshotCache;
  const heldDeps = { ...deps, cache };
  // Warm: the copy held in process answers, and its version is confirmed in one round trip: the version
  // check, sent before scoring and answered meanwhile, when it holds its texts; else the read of the hits'
  // texts. Moved since: forget it and take the checked path.
  const peeked =
    plan.keywords === null && snapshots.textsAt !== undefined && known === undefined
      ? cache.peek(botId, epoch)
      : null;
  if (peeked !== null) {
    const version = peeked.snapshot.version;
    const textsAt =
      heldTextsAt(cache, botId, epoch, peeked) ??
      ((rows: readonly number[]) =>
        snapshots.textsAt?.(
          botId,
          rows.map((row) => peeked.ids[row] as string),
          version,
        ) ?? Promise.resolve('moved' as const));
    const answer = await answerFromHeld(
      heldDeps,
      botId,
      peeked,
      plan.examples ?? (plan.unit as Float64Array),
      liveFilter(filter, peeked, plan.now),
      options,
      textsAt,
    );
    if (answer !== 'moved') return answer;
    cache.forget(botId);
  }
  if (plan.unit !== null && plan.keywords === null && filter === null && options.groupBy === undefined) {
    // A plain vector query needs only the int8 codes and its candidates' rows (scan-search.ts).
    const answer = await searchScan(
      { ...deps, snapshots, cache },
      botId,
      epoch,
      plan.unit,
      plan.dimension,
      options,
      plan.now,
    );
    if (answer === 'absent') return null;
    if (answer !== 'whole') return answer;
  }
  const cached = await cache.get(botId, epoch, known);
  if (cached === null) return null;
  filter = liveFilter(filter, cached, plan.now);
  if (plan.keywords !== null) {
    if (cached.snapshot.dimension !== plan.dimension) return forgotten(cache, botId);
    if (readsCreatedAt(filter) && !cached.hasCreatedAt) return null;
    return keywordsFromSnapshot({ ...deps, snapshots }, cached, plan.unit, plan.keywords, filter, options);
  }
  // `get` has just confirmed the version: held texts are that version's.
  const held = cached.texts;
  const texts = (rows: readonly number[]) =>
    held === undefined
      ? snapshots.texts(
          botId,
          rows.map((row) => cached.ids[row] as string),
        )
      : Promise.resolve(rows.map((row) => held[row] as string));
  return answerFromHeld<never>(
    heldDeps,
    botId,
    cached,
    plan.examples ?? (plan.unit as Float64Array),
    filter,
    options,
    texts,
  );
}
