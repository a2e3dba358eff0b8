import { z } from 'zod';

/** Metadata values a filter can compare for equality. */
const filterValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** `filter` of a search request: every condition given must hold (AND). */
export const searchFilterSchema = z
  .object({
    /** One filename, or any of several. */
    filename: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(100)]).optional(),
    /** Each key's value in the chunk's metadata must equal the given value (strict equality). */
    metadata: z.record(z.string().min(1), filterValue).optional(),
  })
  .strict();

export type SearchFilter = z.infer<typeof searchFilterSchema>;

export const MAX_SEARCH_LIMIT = 100;
export const DEFAULT_SEARCH_LIMIT = 5;

/** The body of `POST /bots/{botId}/search`. The embedding's length is checked against the bot later. */
export const searchRequestSchema = z
  .object({
    embedding: z.array(z.number().finite()).min(1).max(65536),
    limit: z.number().int().min(1).max(MAX_SEARCH_LIMIT).default(DEFAULT_SEARCH_LIMIT),
    /** Results scoring below this cosine similarity are left out. */
    score_threshold: z.number().finite().min(-1).max(1).optional(),
    filter: searchFilterSchema.optional(),
  })
  .strict();

export type SearchRequest = z.infer<typeof searchRequestSchema>;
