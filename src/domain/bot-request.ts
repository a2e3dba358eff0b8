import { z } from 'zod';

/** The body of `PUT /bots/{botId}`: settings the owner chooses. Both optional; an empty body is `{}`. */
export const putBotRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(256).optional(),
    /** Length of every embedding of the bot; 384 when a new bot does not say. */
    embedding_dimension: z.number().int().min(1).max(65536).optional(),
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
