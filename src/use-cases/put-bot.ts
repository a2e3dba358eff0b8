import type { PutBotRequest } from '../contracts/bot-request';
import type { BotCollection } from '../domain/types';
import { ConflictError } from '../errors';
import type { BotAliases, BotRegistry } from '../ports';

/**
 * Creates the bot owned by `userId` (dimension `defaultDimension` unless given) or updates the caller's own.
 * A bot its owner deleted is created again, empty: only the settings given, a new created_at, and none of
 * its former chunks (the delete removed them all before it answered). Returns the record afterwards and
 * whether this call created it.
 * @throws ConflictError when another user owns (or owned) the bot, when it is being deleted, or when the
 * dimension would change while the bot still has chunks (they would no longer be comparable with queries),
 * and when a new bot's id is an alias (the read routes would resolve the alias, not the bot).
 */
export async function putBot(
  {
    bots,
    aliases,
  }: { bots: Pick<BotRegistry, 'get' | 'putOwned' | 'recreate'>; aliases: Pick<BotAliases, 'get'> },
  botId: string,
  userId: string,
  request: PutBotRequest,
  defaultDimension: number,
): Promise<{ bot: BotCollection; created: boolean }> {
  const existing = await bots.get(botId);
  if (existing === undefined && (await aliases.get(botId)) !== undefined) {
    throw new ConflictError(`${botId} is an alias; a bot needs an id no alias has`);
  }
  if (existing?.user_id !== undefined && existing.user_id !== userId) {
    throw new ConflictError(`bot ${botId} belongs to another user`);
  }
  if (existing?.status === 'deleting') {
    throw new ConflictError(`bot ${botId} is being deleted; send this again once the delete answered`);
  }
  if (existing?.status === 'deleted') {
    const settings = {
      ...(request.name === undefined ? {} : { name: request.name }),
      ...(request.bm25?.k1 === undefined ? {} : { bm25_k1: request.bm25.k1 }),
      ...(request.bm25?.b === undefined ? {} : { bm25_b: request.bm25.b }),
      embedding_dimension: request.embedding_dimension ?? defaultDimension,
    };
    return { bot: await bots.recreate(botId, userId, settings), created: true };
  }
  if (
    existing !== undefined &&
    request.embedding_dimension !== undefined &&
    request.embedding_dimension !== existing.embedding_dimension &&
    existing.total_chunks > 0
  ) {
    throw new ConflictError(
      `embedding_dimension cannot change from ${existing.embedding_dimension} while the bot has ${existing.total_chunks} chunks`,
    );
  }
  const settings = {
    ...(request.name === undefined ? {} : { name: request.name }),
    ...(request.bm25?.k1 === undefined ? {} : { bm25_k1: request.bm25.k1 }),
    ...(request.bm25?.b === undefined ? {} : { bm25_b: request.bm25.b }),
    ...(request.embedding_dimension !== undefined
      ? { embedding_dimension: request.embedding_dimension }
      : existing === undefined
        ? { embedding_dimension: defaultDimension }
        : {}),
  };
  const bot = await bots.putOwned(botId, userId, settings);
  return { bot, created: existing === undefined };
}
