import { isShown, type VersionedChunk, visibleVersions } from '../domain/document-version';
import { checkEmbeddingValues } from '../domain/dynamo-limits';
import { epochSeconds } from '../domain/expiry';
import type { FusedScore } from '../domain/fusion';
import { bestScoreOfRow, type ExampleVectors } from '../domain/recommend';
import { SEARCH_DEADLINE_MS } from '../domain/response-limits';
import {
  cosineWithUnitQuery,
  normalise,
  ScoreBuffer,
  type TopKKernel,
  unitVector32,
} from '../domain/scoring';
import {
  type CompiledFilter,
  compileFilter,
  excludingIds,
  matchesFilter,
  withExpiry,
} from '../domain/search-filter';
import type { Ranked } from '../domain/search-ranking';
import type { StoredChunk } from '../domain/types';
import { CacheUnavailableError, NotFoundError, UnavailableError, ValidationError } from '../errors';
import { withDeadline } from '../machinery/deadline';
import type { BotRegistry, ChunkStore, KeywordIndexStore, Log, SnapshotStore } from '../ports';
import { exampleQuery } from './example-vectors';
import { FallbackGate } from './fallback-gate';
import { type KeywordQuery, keywordQueryOf, rankChunkKeywords } from './keyword-search';
import { rebuildSink } from './rebuild-sink';
import { searchScan } from './scan-search';
import { rankerFor, type SearchOptions, type SearchResult, shape, toHit } from './search-results';
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

export type { SearchOptions, SearchResult } from './search-results';

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
  /** Largest bot whose keyword index a query builds (snapshot-bm25.ts); rebuilds build it at any size. */
  keywordQueryBuildMaxChunks?: number;
  /** The native exact scan (src/domain/quantised-scan.ts); without it the portable loop scores. */
  kernel?: TopKKernel;
  logger: Pick<Log, 'warn' | 'info'>;
  /** Bounds this container's full DynamoDB reads (made by `makeSearch` when not given). */
  fallback?: FallbackGate;
  /** A search still running after this long answers 503 (default SEARCH_DEADLINE_MS). */
  deadlineMs?: number;
  /** The clock expiry is judged by (default: the system clock). */
  now?: () => Date;
};

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
    const compiled = compileFilter(options.filter);
    const filter = excluded === null ? compiled : excludingIds(compiled, excluded);
    const plan: QueryPlan = {
      unit: query,
      keywords,
      examples,
      dimension: bot.embedding_dimension,
      now: epochSeconds(deps.now?.() ?? new Date()),
    };
    const epoch = bot.snapshot_epoch ?? 0;

    let redisUp = deps.snapshots !== null && deps.cache !== null;
    if (redisUp) {
      try {
        const answer = await fromSnapshot(deps, botId, epoch, plan, filter, options);
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
          const answer = await fromSnapshot(deps, botId, epoch, plan, filter, options).catch((error) => {
            if (error instanceof NotARedisError) throw error.cause;
            return null;
          });
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

/**
 * The query as both sources take it: a unit vector and/or keyword terms, or (best_score) example
 * vectors, and the bot's dimension.
 */
type QueryPlan = {
  unit: Float64Array | null;
  keywords: KeywordQuery | null;
  examples: ExampleVectors | null;
  dimension: number;
  /** The epoch second of the query: chunks expired by then are left out. */
  now: number;
};

/** The answer from the current snapshot, or null when there is none (or its texts are gone). */
async function fromSnapshot(
  deps: SearchDeps,
  botId: string,
  epoch: number,
  plan: QueryPlan,
  filter: CompiledFilter | null,
  options: SearchOptions,
): Promise<Omit<SearchResult, 'source'> | null> {
  const snapshots = deps.snapshots as SnapshotStore;
  const cache = deps.cache as SnapshotCache;
  const heldDeps = { ...deps, cache };
  // Warm: the copy held in process answers, and its version is confirmed in one round trip: the version
  // check, sent before scoring and answered meanwhile, when it holds its texts; else the read of the hits'
  // texts. Moved since: forget it and take the checked path.
  const peeked = plan.keywords === null && snapshots.textsAt !== undefined ? cache.peek(botId, epoch) : null;
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
  const cached = await cache.get(botId, epoch);
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

/**
 * The exact answer from a strongly consistent read of every chunk of the bot. When this search wins the
 * bot's rebuild slot, the same read (with texts) also rebuilds the snapshot; `beginRebuild` runs before
 * the read so that stream changes landing during it are recorded and re-read by `commitRebuild`. When
 * another rebuild holds the slot, the read skips texts and fetches them for the results only.
 */
async function fromDynamoDb(
  deps: SearchDeps,
  botId: string,
  epoch: number,
  plan: QueryPlan,
  filter: CompiledFilter | null,
  options: SearchOptions,
  redisUp: boolean,
): Promise<Omit<SearchResult, 'source'>> {
  // Every chunk is read here anyway: testing each one's expiry costs nothing next to the read.
  filter = withExpiry(filter, plan.now);
  const snapshots = redisUp ? deps.snapshots : null;
  let ticket = null;
  if (snapshots !== null) {
    try {
      ticket = await snapshots.beginRebuild(botId, epoch);
    } catch (error) {
      if (!(error instanceof CacheUnavailableError)) {
        deps.logger.warn('Could not start a snapshot rebuild', { botId, error });
      }
    }
  }
  const threshold = options.scoreThreshold ?? Number.NEGATIVE_INFINITY;
  const everyChunk: StoredChunk[] = [];
  // Keyword statistics cover every chunk, so a keyword query keeps (and reads the text of) all of them;
  // a rebuild reads texts too, and stages page by page when the store can (rebuild-sink.ts).
  const keepAll = plan.keywords !== null;
  const sink =
    ticket !== null && snapshots !== null
      ? rebuildSink(deps, snapshots, ticket, plan.dimension, keepAll ? everyChunk : null)
      : null;
  const query = plan.unit ?? new Float64Array(0);
  // Which version of each document may be returned is known only once every chunk was seen
  // (document-version.ts): the first read ranks every chunk and notes versions; when it met a chunk of a
  // version not shown, a second read ranks only the versions the first one found shown.
  const versions: VersionedChunk[] = [];
  const rankRead = async (shown: ReadonlyMap<string, string | null> | null) => {
    const ranker = rankerFor<StoredChunk>(options);
    for await (const page of deps.chunks.readBot(botId, {
      consistent: true,
      withText: shown === null && (keepAll || sink !== null),
      onInvalid: (chunkId, error) =>
        deps.logger.warn('Skipping a chunk with an invalid embedding', { botId, chunkId, error }),
    })) {
      if (shown === null) await sink?.add(page);
      for (const chunk of page) {
        if (shown === null && chunk.embedding.length === plan.dimension) {
          versions.push({ filename: chunk.filename, chunk_index: chunk.chunk_index, version: chunk.version });
        }
        if (keepAll) {
          if (shown === null) everyChunk.push(chunk);
          continue;
        }
        if (chunk.embedding.length !== plan.dimension) continue;
        if (shown !== null && !isShown(chunk, shown)) continue;
        if (filter !== null && !matchesFilter(chunk, filter)) continue;
        const score =
          plan.examples === null
            ? cosineWithUnitQuery(chunk.embedding, query)
            : bestScoreOfRow(unitVector32(chunk.embedding), 0, plan.examples, plan.dimension);
        if (score < threshold) continue;
        const selector = ranker.selectorFor(chunk.filename);
        if (!selector.mightAccept(score)) continue;
        selector.offer(score, chunk.chunk_id, chunk);
      }
    }
    return ranker;
  };
  let ranker = await rankRead(null);
  // Whether the ranked chunks came with their texts (the second read leaves them out).
  let withTexts = keepAll || sink !== null;
  if (!keepAll) {
    const shown = visibleVersions(versions);
    if (versions.some((chunk) => !isShown(chunk, shown))) {
      ranker = await rankRead(shown);
      withTexts = false;
    }
  }
  const vectorOf = (chunk: StoredChunk) =>
    options.withVectors === true ? unitVector32(chunk.embedding) : undefined;

  let ranked: Ranked<StoredChunk>;
  let scoresOf: ((chunk: StoredChunk) => FusedScore) | undefined;
  let matches: { keywordMatches: number } | object = {};
  if (plan.keywords === null) {
    ranked = ranker.finish((chunk) => unitVector32(chunk.embedding), query);
  } else {
    const { ranking, kept } = rankChunkKeywords(
      everyChunk,
      plan.dimension,
      plan.unit,
      plan.keywords,
      filter,
      rankerFor<number>(options),
      options.scoreThreshold,
    );
    const asChunk = (row: number) => kept[row] as StoredChunk;
    const rowOf = new Map(ranking.ranked.hits.map((hit) => [asChunk(hit.ref), hit.ref]));
    ranked = {
      hits: ranking.ranked.hits.map((hit) => ({ ...hit, ref: asChunk(hit.ref) })),
      groups: ranking.ranked.groups?.map((group) => ({
        id: group.id,
        hits: group.hits.map((hit) => ({ ...hit, ref: asChunk(hit.ref) })),
      })),
    };
    scoresOf = (chunk) => ranking.scoresOf(rowOf.get(chunk) as number);
    matches = { keywordMatches: ranking.keywordMatches };
  }
  await sink?.finish();
  if (withTexts) {
    return {
      ...shape(ranked, (chunk, score) => toHit(chunk, chunk.text, score, vectorOf(chunk), scoresOf?.(chunk))),
      ...matches,
    };
  }
  const withText =
    ranked.hits.length === 0
      ? []
      : await deps.chunks.get(
          botId,
          ranked.hits.map((hit) => hit.ref.chunk_id),
          { consistent: true },
        );
  const textById = new Map(withText.map((chunk) => [chunk.chunk_id, chunk.text]));
  // A chunk deleted between the two reads is gone: leave it out rather than return it without text.
  return shape(ranked, (chunk, score) => {
    const text = textById.get(chunk.chunk_id);
    return text === undefined ? undefined : toHit(chunk, text, score, vectorOf(chunk));
  });
}
