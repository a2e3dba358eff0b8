import type { BotCollection } from '../domain/types';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors';
import type { BotRegistry } from '../ports';

/**
 * The bot's record when `userId` owns it.
 * @throws NotFoundError when the bot has no record (or, unless `allowDeleted`, is marked deleted).
 * @throws ConflictError when, unless `allowDeleted`, the bot is being deleted.
 * @throws ForbiddenError when it belongs to someone else or to nobody yet (a bot created by ingestion
 * without an owner is claimed with `PUT /bots/{botId}`).
 */
export async function requireOwnedBot(
  bots: Pick<BotRegistry, 'get'>,
  botId: string,
  userId: string,
  options: { allowDeleted?: boolean } = {},
): Promise<BotCollection> {
  const bot = await bots.get(botId);
  if (bot === undefined) throw new NotFoundError(`bot ${botId} does not exist`);
  if (bot.user_id !== userId) throw new ForbiddenError(`bot ${botId} is not yours`);
  if (options.allowDeleted !== true) {
    if (bot.status === 'deleted') throw new NotFoundError(`bot ${botId} was deleted`);
    if (bot.status === 'deleting') throw new ConflictError(`bot ${botId} is being deleted`);
  }
  return bot;
}
