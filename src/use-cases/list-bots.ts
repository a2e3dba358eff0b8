import pLimit from 'p-limit';
import { type BotView, toBotView } from '../domain/bot-view';
import type { BotCollection } from '../domain/types';
import type { BotRegistry } from '../ports';
import type { SnapshotStore } from '../snapshot';

/**
 * Whether a bot's Redis snapshot can serve search: `current` (built under the bot's epoch), `stale`
 * (the next search rebuilds it), `absent` (the next search builds it), `unavailable` (Redis did not answer
 * or is not configured: search reads DynamoDB).
 */
export type SnapshotState = 'current' | 'stale' | 'absent' | 'unavailable';

/** A bot as `GET /bots` lists it: its view plus the state of its snapshot. */
export type ListedBot = BotView & { snapshot: SnapshotState };

export type ListBotsDeps = {
  bots: Pick<BotRegistry, 'listOwned'>;
  /** null: no Redis configured; every bot's snapshot is `unavailable`. */
  snapshots: Pick<SnapshotStore, 'currentVersion'> | null;
};

/** Snapshot versions read at once for one page (one small round trip each). */
const SNAPSHOT_READS_IN_FLIGHT = 8;

/**
 * One page of the bots `userId` owns, each with its counts and snapshot state.
 * @throws ValidationError naming `cursor` when it is not one this API returned
 */
export async function listBots(
  deps: ListBotsDeps,
  userId: string,
  page: { limit: number; cursor?: string },
): Promise<{ bots: ListedBot[]; nextCursor?: string }> {
  const owned = await deps.bots.listOwned(userId, page);
  const limit = pLimit(SNAPSHOT_READS_IN_FLIGHT);
  const bots = await Promise.all(
    owned.bots.map((bot) =>
      limit(
        async (): Promise<ListedBot> => ({ ...toBotView(bot), snapshot: await snapshotState(deps, bot) }),
      ),
    ),
  );
  return owned.nextCursor === undefined ? { bots } : { bots, nextCursor: owned.nextCursor };
}

async function snapshotState(deps: ListBotsDeps, bot: BotCollection): Promise<SnapshotState> {
  if (deps.snapshots === null) return 'unavailable';
  try {
    const current = await deps.snapshots.currentVersion(bot.bot_id);
    if (current === null) return 'absent';
    return current.epoch === (bot.snapshot_epoch ?? 0) ? 'current' : 'stale';
  } catch {
    // Redis down (or its circuit open): the listing still answers; search would read DynamoDB.
    return 'unavailable';
  }
}
