import { ScoreBuffer, type TopKKernel } from '../../../src/domain/ranking/scoring';
import type { BotCollection } from '../../../src/domain/types';
import type { ChunkStore } from '../../../src/ports';
import type { SnapshotCache, SnapshotStore } from '../../../src/snapshot';
import { makeSearch } from '../../../src/use-cases/search';
import type { SearchMethod } from './method';

/** The BotCollections record the search is handed, as the HTTP handler hands the one it read to authorize. */
export function benchBot(botId: string, chunks: number): BotCollection {
  return {
    bot_id: botId,
    user_id: 'bench',
    name: botId,
    total_chunks: chunks,
    total_documents: Math.ceil(chunks / 25),
    embedding_dimension: 384,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    status: 'active',
    snapshot_epoch: 0,
  };
}

/**
 * (b), (c), (d): the product's search use case (src/use-cases/search/) over real adapters. The bot
 * record is passed in, as the HTTP handler passes the one it read for authorization, so the timing
 * excludes that one GetItem. Every answer must come from `expected`: a silent fallback from the
 * snapshot to DynamoDB would otherwise be timed under the wrong name.
 */
export function ourSearch(
  parts: {
    chunks: Pick<ChunkStore, 'readBot' | 'get'>;
    snapshots: SnapshotStore | null;
    cache: SnapshotCache | null;
    /** The native scan, as the HTTP wiring gives it; without it the portable loop scores. */
    kernel?: TopKKernel;
    bot: BotCollection;
    warn: (message: string) => void;
    /** How long a search may run before it answers 503 (default: the product's deadline). */
    deadlineMs?: number;
  },
  expected: 'snapshot' | 'dynamodb',
): SearchMethod {
  const { bot } = parts;
  const search = makeSearch({
    bots: { get: async (botId) => (botId === bot.bot_id ? bot : undefined) },
    chunks: parts.chunks,
    snapshots: parts.snapshots,
    cache: parts.cache,
    scores: new ScoreBuffer(),
    ...(parts.kernel === undefined ? {} : { kernel: parts.kernel }),
    ...(parts.deadlineMs === undefined ? {} : { deadlineMs: parts.deadlineMs }),
    logger: { warn: (message: string) => parts.warn(message), info: () => {} },
  });
  return {
    async search(query, k) {
      const answer = await search(bot.bot_id, query, { limit: k, bot });
      if (answer.source !== expected) {
        throw new Error(`search of ${bot.bot_id} answered from ${answer.source}, expected ${expected}`);
      }
      return answer.results.map((hit) => hit.chunk_id);
    },
  };
}
