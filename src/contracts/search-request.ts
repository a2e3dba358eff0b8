import { z } from 'zod';
import { DEFAULT_RRF_K, type Fusion } from '../domain/ranking/fusion';
import type { ExampleIds } from '../domain/ranking/recommend';
import { type CompiledFilter, compileFilterSyntax } from '../domain/search-filter';
import { FilterSyntaxError } from '../domain/search-filter-syntax';

/**
 * `filter` of a search request as sent: today's `{filename, metadata}` (every condition given must hold)
 * and Qdrant's boolean clauses, which may be combined. Its grammar and limits are in
 * `search-filter-syntax.ts`; the schema below checks it with exact error paths.
 */
export type SearchFilter = {
  /** One filename, or any of several. */
  filename?: string | string[];
  /** Each key's value in the chunk's metadata must equal the given value (strict equality). */
  metadata?: Record<string, string | number | boolean | null>;
  must?: unknown;
  should?: unknown;
  must_not?: unknown;
  min_should?: unknown;
};

/**
 * A request's filter compiled where the request enters (null: it filters nothing); its first problem is
 * reported at its exact path below `filter`. Nothing downstream parses the filter again.
 */
const searchFilterSchema = z.unknown().transform((value, ctx): CompiledFilter | null => {
  try {
    return compileFilterSyntax(value);
  } catch (error) {
    if (!(error instanceof FilterSyntaxError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message, path: [...error.path] });
    return z.NEVER;
  }
}) as unknown as z.ZodType<CompiledFilter | null, SearchFilter>;

export const MAX_SEARCH_LIMIT = 100;
/** Characters of `query_text` (its terms are limited separately: MAX_QUERY_TERMS). */
export const MAX_QUERY_TEXT_LENGTH = 20_000;
export const DEFAULT_SEARCH_LIMIT = 5;
/** `offset` pages through at most this many results. */
export const MAX_SEARCH_OFFSET = 10_000;
export const MAX_GROUP_SIZE = 100;
export const DEFAULT_GROUP_SIZE = 3;
/** MMR re-ranks at most this many candidates (its cost grows with candidates x results x dimension). */
export const MAX_MMR_CANDIDATES = 1000;
export const DEFAULT_MMR_CANDIDATES = 100;
/** Queries in one `POST /bots/{botId}/search/batch`. */
export const MAX_BATCH_SEARCHES = 32;

/** Example chunk ids one `POST /bots/{botId}/recommend` may name in `positive`, and in `negative`. */
export const MAX_RECOMMEND_EXAMPLES = 32;

/** A stored chunk id as search returns it (`<chunk_id>~<version>`: at most 1,024 bytes). */
const chunkIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .refine((id) => Buffer.byteLength(id, 'utf8') <= 1024, 'must be at most 1024 bytes of UTF-8');

/** One ranking's weight in weighted RRF. */
const rrfWeight = z.number().finite().min(0).max(1000);

/** What every search and recommend request may say about its results. */
const resultFields = {
  limit: z.number().int().min(1).max(MAX_SEARCH_LIMIT).default(DEFAULT_SEARCH_LIMIT),
  /** Results scoring below this are left out: cosine similarity, or BM25 / the fused score with query_text. */
  score_threshold: z.number().finite().optional(),
  filter: searchFilterSchema.optional(),
  /** Results skipped before the first returned (paging). */
  offset: z.number().int().min(0).max(MAX_SEARCH_OFFSET).optional(),
  /** Return each result's stored (unit-length) vector. */
  with_vectors: z.boolean().optional(),
  /** Group results by document: `limit` then counts documents, each with up to `group_size` chunks. */
  group_by: z.literal('filename').optional(),
  group_size: z.number().int().min(1).max(MAX_GROUP_SIZE).optional(),
};

type ResultFields = {
  offset?: number | undefined;
  group_by?: 'filename' | undefined;
  group_size?: number | undefined;
};

/** The checks of `resultFields` that span two fields. */
function checkResultFields(request: ResultFields, fail: (path: string, message: string) => void): void {
  if (request.group_size !== undefined && request.group_by === undefined) {
    fail('group_size', 'needs group_by');
  }
  if (request.group_by !== undefined && request.offset !== undefined) {
    fail('offset', 'cannot be combined with group_by (limit counts groups)');
  }
}

/** The body of `POST /bots/{botId}/search`. The embedding's length is checked against the bot later. */
export const searchRequestSchema = z
  .object({
    /** The query vector; optional when `query` or `query_text` is given. */
    embedding: z.array(z.number().finite()).min(1).max(65536).optional(),
    /** A stored chunk's id: its vector is the query vector, and the chunk is left out of the results. */
    query: chunkIdSchema.optional(),
    /** Keyword query (BM25 over the bot's chunk texts); with `embedding`, a hybrid search. */
    query_text: z.string().trim().min(1, 'must not be empty').max(MAX_QUERY_TEXT_LENGTH).optional(),
    /** How a hybrid search combines its two rankings (default rrf, k 60). */
    fusion: z
      .discriminatedUnion('method', [
        z
          .object({
            method: z.literal('rrf'),
            k: z.number().finite().min(0).max(1e6).optional(),
            /** Qdrant's weighted RRF: each ranking's 1 / (k + rank) times its weight (1 each by default). */
            weights: z
              .object({ vector: rrfWeight, keyword: rrfWeight })
              .strict()
              .refine((w) => w.vector > 0 || w.keyword > 0, 'at least one weight must be above 0')
              .optional(),
          })
          .strict(),
        z.object({ method: z.literal('weighted'), alpha: z.number().min(0).max(1) }).strict(),
        z.object({ method: z.literal('dbsf') }).strict(),
      ])
      .optional(),
    ...resultFields,
    /** Maximal marginal relevance over the `candidates` best chunks. */
    mmr: z
      .object({
        diversity: z.number().min(0).max(1),
        candidates: z.number().int().min(1).max(MAX_MMR_CANDIDATES).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    const fail = (path: string, message: string) => ctx.addIssue({ code: 'custom', message, path: [path] });
    const vector = request.embedding !== undefined || request.query !== undefined;
    if (request.embedding !== undefined && request.query !== undefined) {
      fail('query', 'cannot be combined with embedding (the chunk id names the query vector)');
    }
    if (!vector && request.query_text === undefined) {
      fail('embedding', 'embedding, query or query_text is required');
    }
    if (request.fusion !== undefined && (!vector || request.query_text === undefined)) {
      fail('fusion', 'needs both a query vector (embedding or query) and query_text');
    }
    if (request.query_text !== undefined && request.mmr !== undefined) {
      fail('mmr', 'cannot be combined with query_text');
    }
    if (
      vector &&
      request.query_text === undefined &&
      request.score_threshold !== undefined &&
      (request.score_threshold < -1 || request.score_threshold > 1)
    ) {
      fail('score_threshold', 'a cosine similarity threshold must be within [-1, 1]');
    }
    checkResultFields(request, fail);
    if (request.group_by !== undefined && request.mmr !== undefined) {
      fail('mmr', 'cannot be combined with group_by');
    }
    const wanted = (request.offset ?? 0) + request.limit;
    if (request.mmr !== undefined && wanted > MAX_MMR_CANDIDATES) {
      fail(
        'offset',
        `with mmr, offset + limit may be at most ${MAX_MMR_CANDIDATES} (MMR re-ranks at most that many)`,
      );
    }
    if (request.mmr?.candidates !== undefined && request.mmr.candidates < wanted) {
      fail('mmr', `candidates (${request.mmr.candidates}) must be at least offset + limit (${wanted})`);
    }
  });

/** The body of `POST /bots/{botId}/recommend`: chunks like the positive examples and unlike the negative ones. */
export const recommendRequestSchema = z
  .object({
    positive: z.array(chunkIdSchema).max(MAX_RECOMMEND_EXAMPLES).default([]),
    negative: z.array(chunkIdSchema).max(MAX_RECOMMEND_EXAMPLES).default([]),
    strategy: z.enum(['average_vector', 'best_score']).default('average_vector'),
    ...resultFields,
  })
  .strict()
  .superRefine((request, ctx) => {
    const fail = (path: string, message: string) => ctx.addIssue({ code: 'custom', message, path: [path] });
    if (request.strategy === 'average_vector' && request.positive.length === 0) {
      fail('positive', 'average_vector needs at least one positive chunk id');
    } else if (request.positive.length === 0 && request.negative.length === 0) {
      fail('positive', 'at least one positive or negative chunk id is required');
    }
    if (
      request.score_threshold !== undefined &&
      (request.score_threshold < -1 || request.score_threshold > 1)
    ) {
      fail('score_threshold', 'must be within [-1, 1]');
    }
    checkResultFields(request, fail);
  });

export type RecommendRequest = z.infer<typeof recommendRequestSchema>;

export type SearchRequest = z.infer<typeof searchRequestSchema>;

/** The body of `POST /bots/{botId}/search/batch`: each query is answered as a single search would be. */
export const searchBatchRequestSchema = z
  .object({ searches: z.array(searchRequestSchema).min(1).max(MAX_BATCH_SEARCHES) })
  .strict();

/** What a search computes besides the query vector, as the search use case takes it. */
export type SearchQuery = {
  limit: number;
  offset: number;
  scoreThreshold?: number;
  /** Compiled where the request entered (search-filter.ts); absent when the request filters nothing. */
  filter?: CompiledFilter;
  withVectors: boolean;
  groupBy?: { field: 'filename'; groupSize: number };
  mmr?: { diversity: number; candidates: number };
  /** Keyword (or, with an embedding, hybrid) search. */
  queryText?: string;
  /** Only used when both an embedding and queryText are given. */
  fusion?: Fusion;
  /** Stored chunks whose vectors make the query (instead of an embedding); they are left out of the results. */
  examples?: ExampleIds;
};

/** The options every request shares, defaults applied. */
function resultQueryOf(
  request: Pick<
    SearchRequest,
    'limit' | 'offset' | 'score_threshold' | 'filter' | 'with_vectors' | 'group_by' | 'group_size'
  >,
): SearchQuery {
  return {
    limit: request.limit,
    offset: request.offset ?? 0,
    ...(request.score_threshold === undefined ? {} : { scoreThreshold: request.score_threshold }),
    ...(request.filter === undefined || request.filter === null ? {} : { filter: request.filter }),
    withVectors: request.with_vectors ?? false,
    ...(request.group_by === undefined
      ? {}
      : { groupBy: { field: request.group_by, groupSize: request.group_size ?? DEFAULT_GROUP_SIZE } }),
  };
}

function fusionOf(fusion: NonNullable<SearchRequest['fusion']>): Fusion {
  if (fusion.method !== 'rrf') return fusion;
  return {
    method: 'rrf',
    k: fusion.k ?? DEFAULT_RRF_K,
    ...(fusion.weights === undefined ? {} : { weights: fusion.weights }),
  };
}

/** A validated search request as the search use case's options, defaults applied. */
export function searchQueryOf(request: SearchRequest): SearchQuery {
  const offset = request.offset ?? 0;
  return {
    ...resultQueryOf(request),
    ...(request.query_text === undefined ? {} : { queryText: request.query_text }),
    ...(request.query === undefined
      ? {}
      : {
          examples: { positive: [request.query], negative: [], strategy: 'average_vector', field: 'query' },
        }),
    ...(request.fusion === undefined
      ? {}
      : {
          fusion: fusionOf(request.fusion),
        }),
    ...(request.mmr === undefined
      ? {}
      : {
          mmr: {
            diversity: request.mmr.diversity,
            candidates:
              request.mmr.candidates ??
              Math.min(MAX_MMR_CANDIDATES, Math.max(DEFAULT_MMR_CANDIDATES, offset + request.limit)),
          },
        }),
  };
}

/** A validated recommend request as the search use case's options, defaults applied. */
export function recommendQueryOf(request: RecommendRequest): SearchQuery {
  return {
    ...resultQueryOf(request),
    examples: { positive: request.positive, negative: request.negative, strategy: request.strategy },
  };
}
