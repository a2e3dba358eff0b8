import { LRUCache } from 'lru-cache';
import { checkBotId } from '../contracts/dynamo-limits';
import type { BotAlias } from '../domain/types';
import { ValidationError } from '../errors';
import type { BotAliases, BotRegistry } from '../ports';
import { requireOwnedBot } from './authorize-bot';

/**
 * How long a container trusts what it read of an alias (its target and owner, or that there is none).
 * A switch or a removal reaches every container within this time; ownership of the target bot is
 * checked on every request regardless.
 */
export const ALIAS_TTL_MS = 5_000;

/** How many alias names one container remembers (names only: a few hundred bytes each). */
const ALIAS_CACHE_ENTRIES = 10_000;

/** What the cache holds for a name: the alias, or null when there is no alias by that name. */
type Cached = { alias: BotAlias | null };

/**
 * Alias lookups with a per-container cache: at most one read of BotAliases per name per `ttlMs`, shared by
 * concurrent requests (lru-cache's `fetchMethod`). An entry past its TTL is never served: the next
 * request reads the table again, so a removed or moved alias stops resolving to its old bot once
 * `ttlMs` has passed. A failed read is not cached.
 */
export class AliasResolver {
  private readonly cache: LRUCache<string, Cached>;

  constructor(aliases: Pick<BotAliases, 'get'>, options: { ttlMs?: number; now?: () => number } = {}) {
    const now = options.now;
    this.cache = new LRUCache<string, Cached>({
      max: ALIAS_CACHE_ENTRIES,
      ttl: options.ttlMs ?? ALIAS_TTL_MS,
      // Read the clock on every lookup (lru-cache otherwise reuses a reading for up to 1 ms).
      ttlResolution: 0,
      ...(now === undefined ? {} : { perf: { now } }),
      fetchMethod: async (name) => ({ alias: (await aliases.get(name)) ?? null }),
    });
  }

  /** The alias named `name`, or undefined when there is none (as of at most the TTL ago). */
  async resolve(name: string): Promise<BotAlias | undefined> {
    const cached = await this.cache.fetch(name);
    return cached?.alias ?? undefined;
  }

  /** Drops what this container knows of `name` (after it changed the alias itself). */
  forget(name: string): void {
    this.cache.delete(name);
  }
}

/**
 * Checks an alias name: the rules of a bot id (it stands in a bot id's place in every path).
 * @throws ValidationError (field `alias`).
 */
export function checkAliasName(name: string): void {
  checkBotId(name, 'alias');
}

/**
 * Points `alias` at `botId` for `userId`: creates it, or moves the caller's own alias in one conditional
 * write, so a search sees the old bot or the new one. Returns whether it was created.
 * @throws ValidationError (field `alias`) when the name breaks the bot id rules or a bot has that id;
 * (field `bot_id`) when the target id breaks them.
 * @throws NotFoundError when the target bot does not exist or is deleted. @throws ConflictError while it is
 * being deleted. @throws ForbiddenError when the caller owns neither the target bot nor (if taken) the alias.
 */
export async function putAlias(
  deps: { bots: Pick<BotRegistry, 'get'>; aliases: Pick<BotAliases, 'put'> },
  alias: string,
  botId: string,
  userId: string,
): Promise<{ created: boolean }> {
  checkAliasName(alias);
  checkBotId(botId, 'bot_id');
  if ((await deps.bots.get(alias)) !== undefined) {
    throw new ValidationError(`alias: ${alias} is a bot id; an alias needs a name no bot has`, 'alias');
  }
  await requireOwnedBot(deps.bots, botId, userId);
  return deps.aliases.put(alias, botId, userId);
}
