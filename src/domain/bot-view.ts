import { DEFAULT_BM25 } from './ranking/bm25';
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
  /** Present once the owner set either BM25 parameter (PUT /bots/{botId}); both values in effect. */
  bm25?: { k1: number; b: number };
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
    ...(bot.bm25_k1 === undefined && bot.bm25_b === undefined
      ? {}
      : { bm25: { k1: bot.bm25_k1 ?? DEFAULT_BM25.k1, b: bot.bm25_b ?? DEFAULT_BM25.b } }),
  };
}
