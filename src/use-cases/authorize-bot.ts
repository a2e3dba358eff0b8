import type { BotAlias, BotCollection } from '../domain/types';
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

/**
 * `requireOwnedBot` for a path segment that may be an alias: when `idOrAlias` names an alias, the bot it
 * points at, which the caller must own as they own the alias. An alias of a deleted bot does not resolve
 * (404), whatever `allowDeleted` says: only the bot id itself reaches a deleted bot.
 * Costs one read of BotAliases per name per container and TTL (see `AliasResolver`), then the bot's read.
 * @throws NotFoundError, ConflictError, ForbiddenError as `requireOwnedBot` does, and ForbiddenError when
 * the alias belongs to someone else.
 */
export async function requireOwnedBotOrAlias(
  bots: Pick<BotRegistry, 'get'>,
  aliases: { resolve(name: string): Promise<BotAlias | undefined> },
  idOrAlias: string,
  userId: string,
  options: { allowDeleted?: boolean } = {},
): Promise<BotCollection> {
  const alias = await aliases.resolve(idOrAlias);
  if (alias === undefined) return requireOwnedBot(bots, idOrAlias, userId, options);
  if (alias.user_id !== userId) throw new ForbiddenError(`alias ${idOrAlias} is not yours`);
  const bot = await requireOwnedBot(bots, alias.bot_id, userId, options);
  if (bot.status === 'deleted') {
    throw new NotFoundError(`alias ${idOrAlias} points at bot ${alias.bot_id}, which was deleted`);
  }
  return bot;
}
