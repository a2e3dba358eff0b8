import type { BotCollection, BotStatus } from './types';

/** A bot as the API returns it: the BotCollections record without the stream handler's bookkeeping. */
export type BotView = {
  bot_id: string;
  user_id: string | null;
  name: string | null;
  status: BotStatus;
  embedding_dimension: number;
  total_chunks: number;
  total_documents: number;
  created_at: string;
  updated_at: string;
};

/** The API's view of a BotCollections record (`stream_seq` and `snapshot_epoch` stay internal). */
export function toBotView(bot: BotCollection): BotView {
  return {
    bot_id: bot.bot_id,
    user_id: bot.user_id ?? null,
    name: bot.name ?? null,
    status: bot.status,
    embedding_dimension: bot.embedding_dimension,
    total_chunks: bot.total_chunks,
    total_documents: bot.total_documents,
    created_at: bot.created_at,
    updated_at: bot.updated_at,
  };
}
