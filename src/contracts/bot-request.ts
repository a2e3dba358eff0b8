import { z } from 'zod';
import { metadataSchema, upsertDocumentMessageSchema } from './ingestion-messages';

/** The body of `PUT /bots/{botId}`: settings the owner chooses. Both optional; an empty body is `{}`. */
export const putBotRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(256).optional(),
    /** Length of every embedding of the bot; 384 when a new bot does not say. */
    embedding_dimension: z.number().int().min(1).max(65536).optional(),
    /** BM25 parameters of the bot's keyword search (defaults k1 1.2, b 0.75); either may be given alone. */
    bm25: z
      .object({ k1: z.number().finite().min(0).max(10).optional(), b: z.number().min(0).max(1).optional() })
      .strict()
      .optional(),
  })
  .strict();

export type PutBotRequest = z.infer<typeof putBotRequestSchema>;

/** Query of `GET /bots/{botId}/documents`. */
export const listDocumentsQuerySchema = z
  .object({
    limit: z
      .string()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(1).max(1000))
      .optional(),
    cursor: z.string().min(1).max(4096).optional(),
  })
  .strict();

/**
 * The body of `POST /bots/{botId}/documents`: the ingestion queue's `upsert_document` message without
 * `type` and `bot_id` (the path names the bot) and without `owner_user_id` (the caller owns the bot).
 */
export const upsertDocumentRequestSchema = upsertDocumentMessageSchema
  .omit({ type: true, bot_id: true, owner_user_id: true })
  .strict();

export type UpsertDocumentRequest = z.infer<typeof upsertDocumentRequestSchema>;

/** A whole number given as a query parameter, within [min, max]. */
const queryInteger = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** Query of `GET /bots`: the caller's bots, 100 at most a page (one BatchGetItem). */
export const listBotsQuerySchema = z
  .object({ limit: queryInteger(1, 100).optional(), cursor: z.string().min(1).max(4096).optional() })
  .strict();

/** Query of `GET /bots/{botId}/documents/chunks`; `filename` is read on its own (filenameParameter). */
export const listChunksQuerySchema = z
  .object({
    filename: z.string(),
    limit: queryInteger(1, 100).optional(),
    cursor: z.string().min(1).max(4096).optional(),
    with_vectors: z.enum(['true', 'false']).optional(),
  })
  .strict();

/**
 * The body of `PATCH /bots/{botId}/documents?filename=…`: metadata for every chunk of the document,
 * merged into each chunk's metadata (top-level keys) or replacing it. The values are checked as an
 * upsert's chunk metadata is (`checkMetadata`).
 */
export const patchDocumentMetadataRequestSchema = z
  .object({
    metadata: metadataSchema,
    mode: z.enum(['merge', 'replace']).default('merge'),
  })
  .strict();

export type PatchDocumentMetadataRequest = z.infer<typeof patchDocumentMetadataRequestSchema>;
/** The body of `PUT /aliases/{alias}`: the bot the alias points at (its id, checked as a bot id). */
export const putAliasRequestSchema = z.object({ bot_id: z.string() }).strict();
