import type { Logger } from '@aws-lambda-powertools/logger';
import { checkEmbeddingValues } from '../domain/dynamo-limits';
import {
  cosineWithUnitQuery,
  normalise,
  type ScoreBuffer,
  type ScoredRef,
  type TopKKernel,
  TopKSelector,
  topKByDotProduct,
} from '../domain/scoring';
import { type CompiledFilter, compileFilter, filterMask, matchesFilter } from '../domain/search-filter';
import type { SearchFilter } from '../domain/search-request';
import type { BotCollection, ChunkMetadata, SearchHit, StoredChunk } from '../domain/types';
import { CacheUnavailableError, NotFoundError, ValidationError } from '../errors';
import type { BotRegistry, ChunkStore, SnapshotRow, SnapshotStore } from '../ports';
import type { CachedSnapshot, SnapshotCache } from './snapshot-cache';

export type SearchOptions = {
  limit: number;
  scoreThreshold?: number;
  filter?: SearchFilter;
  /** The bot's record when the caller already read it (authorization does); read here otherwise. */
  bot?: BotCollection;
};

export type SearchResult = { results: SearchHit[]; source: 'snapshot' | 'dynamodb' };

export type SearchDeps = {
  bots: Pick<BotRegistry, 'get'>;
  chunks: Pick<ChunkStore, 'readBot' | 'get'>;
  /** null when no Redis is configured: every search reads DynamoDB. */
  snapshots: SnapshotStore | null;
  cache: SnapshotCache | null;
  scores: ScoreBuffer;
  /** The native exact scan (src/domain/quantised-scan.ts); without it the portable loop scores. */
  kernel?: TopKKernel;
  logger: Pick<Logger, 'warn' | 'info'>;
};

/** Search as its callers see it: one function over injected ports. */
export type Search = (
  botId: string,
  embedding: ArrayLike<number>,
  options: SearchOptions,
) => Promise<SearchResult>;

/** The shape search returns per chunk; `filename` and `chunk_index` win over metadata keys of the same name. */
function toHit(row: SnapshotRow | StoredChunk, text: string, score: number): SearchHit {
  const metadata: SearchHit['metadata'] = {
    filename: row.filename,
    chunk_index: row.chunk_index,
    ...(row.metadata as ChunkMetadata),
  };
  metadata.filename = row.filename;
  metadata.chunk_index = row.chunk_index;
  return { chunk_id: row.chunk_id, text, score, metadata };
}

/**
 * Builds `search(botId, embedding, options)`: the top `limit` chunks of the bot by cosine similarity,
 * best first, ties by ascending chunk_id. Answers from the Redis snapshot (cached in process per version)
 * when a current one exists; otherwise from a consistent, paginated read of DynamoDB, rebuilding the
 * snapshot from that same read (one rebuild per bot at a time). Redis errors never fail a search: they
 * are logged and DynamoDB answers.
 * @throws NotFoundError for a bot without a record.
 * @throws ValidationError (field `embedding`) when the embedding's length is not the bot's dimension or it
 * is all zeros.
 */
export function makeSearch(deps: SearchDeps): Search {
  return async (botId, embedding, options) => {
    const bot = options.bot ?? (await deps.bots.get(botId));
    if (bot === undefined) throw new NotFoundError(`bot ${botId} does not exist`);
    if (embedding.length !== bot.embedding_dimension) {
      throw new ValidationError(
        `embedding has ${embedding.length} dimensions, bot ${botId} uses ${bot.embedding_dimension}`,
        'embedding',
      );
    }
    checkEmbeddingValues(embedding, 'embedding');
    const query = normalise(embedding);
    if (query === null) throw new ValidationError('embedding must not be all zeros', 'embedding');
    const filter = compileFilter(options.filter);
    const epoch = bot.snapshot_epoch ?? 0;

    let redisUp = deps.snapshots !== null && deps.cache !== null;
    if (redisUp) {
      try {
        const results = await fromSnapshot(deps, botId, epoch, query, filter, options);
        if (results !== null) return { results, source: 'snapshot' };
      } catch (error) {
        redisUp = false;
        // A known outage was reported once by the circuit breaker; only a surprise is worth a line.
        if (!(error instanceof CacheUnavailableError)) {
          deps.logger.warn('Redis unavailable; searching DynamoDB', { botId, error });
        }
      }
    }
    const results = await fromDynamoDb(deps, botId, epoch, query, filter, options, redisUp);
    return { results, source: 'dynamodb' };
  };
}

/** Top-k from the current snapshot, or null when there is none (or its texts are gone). */
async function fromSnapshot(
  deps: SearchDeps,
  botId: string,
  epoch: number,
  query: Float64Array,
  filter: CompiledFilter | null,
  options: SearchOptions,
): Promise<SearchHit[] | null> {
  const snapshots = deps.snapshots as SnapshotStore;
  const cache = deps.cache as SnapshotCache;
  const cached = await cache.get(botId, epoch);
  if (cached === null) return null;
  const { snapshot } = cached;
  if (snapshot.dimension !== query.length) {
    // Built for another dimension than the bot now declares: not this bot's current truth.
    cache.forget(botId);
    return null;
  }
  const top = scoreSnapshot(cached, query, filter, options, deps.scores, deps.kernel);
  if (top.length === 0) return [];
  const texts = await snapshots.texts(
    botId,
    top.map((hit) => cached.ids[hit.ref] as string),
  );
  if (texts === null) {
    cache.forget(botId);
    deps.logger.warn('Snapshot texts missing; searching DynamoDB', { botId });
    return null;
  }
  return top.map((hit, i) => toHit(snapshot.rows[hit.ref] as SnapshotRow, texts[i] as string, hit.score));
}

function scoreSnapshot(
  cached: CachedSnapshot,
  query: Float64Array,
  filter: CompiledFilter | null,
  options: SearchOptions,
  scores: ScoreBuffer,
  kernel: TopKKernel | undefined,
): ScoredRef<number>[] {
  const { snapshot, ids } = cached;
  return topKByDotProduct(
    snapshot.vectors,
    snapshot.dimension,
    snapshot.rows.length,
    query,
    (row) => ids[row] as string,
    {
      k: options.limit,
      scores,
      ...(kernel === undefined ? {} : { kernel }),
      ...(options.scoreThreshold === undefined ? {} : { scoreThreshold: options.scoreThreshold }),
      ...(filter === null ? {} : { mask: filterMask(snapshot.rows, filter, cached.rowsByFilename) }),
    },
  );
}

/**
 * Exact top-k from a strongly consistent read of every chunk of the bot. When this search wins the bot's
 * rebuild slot, the same read (with texts) also rebuilds the snapshot; `beginRebuild` runs before the read
 * so that stream changes landing during it are recorded and re-read by `commitRebuild`. When another
 * rebuild holds the slot, the read skips texts and fetches them for the top results only.
 */
async function fromDynamoDb(
  deps: SearchDeps,
  botId: string,
  epoch: number,
  query: Float64Array,
  filter: CompiledFilter | null,
  options: SearchOptions,
  redisUp: boolean,
): Promise<SearchHit[]> {
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
  const selector = new TopKSelector<StoredChunk>(options.limit);
  const threshold = options.scoreThreshold ?? Number.NEGATIVE_INFINITY;
  const everyChunk: StoredChunk[] = [];
  for await (const page of deps.chunks.readBot(botId, {
    consistent: true,
    withText: ticket !== null,
    onInvalid: (chunkId, error) =>
      deps.logger.warn('Skipping a chunk with an invalid embedding', { botId, chunkId, error }),
  })) {
    for (const chunk of page) {
      if (ticket !== null) everyChunk.push(chunk);
      if (chunk.embedding.length !== query.length) continue;
      if (filter !== null && !matchesFilter(chunk, filter)) continue;
      const score = cosineWithUnitQuery(chunk.embedding, query);
      if (score < threshold || !selector.mightAccept(score)) continue;
      selector.offer(score, chunk.chunk_id, chunk);
    }
  }
  const top = selector.sorted();

  if (ticket !== null && snapshots !== null) {
    try {
      const published = await snapshots.commitRebuild(ticket, everyChunk, (chunkIds) =>
        deps.chunks.get(botId, chunkIds, { consistent: true }),
      );
      deps.logger.info('Snapshot rebuild finished', { botId, published, chunks: everyChunk.length });
    } catch (error) {
      if (!(error instanceof CacheUnavailableError))
        deps.logger.warn('Snapshot rebuild failed', { botId, error });
    }
    return top.map((hit) => toHit(hit.ref, hit.ref.text, hit.score));
  }

  if (top.length === 0) return [];
  const withText = await deps.chunks.get(
    botId,
    top.map((hit) => hit.ref.chunk_id),
    { consistent: true },
  );
  const textById = new Map(withText.map((chunk) => [chunk.chunk_id, chunk.text]));
  // A chunk deleted between the two reads is gone: leave it out rather than return it without text.
  return top.flatMap((hit) => {
    const text = textById.get(hit.ref.chunk_id);
    return text === undefined ? [] : [toHit(hit.ref, text, hit.score)];
  });
}
