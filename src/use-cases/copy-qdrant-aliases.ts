import type { BotSource } from '../contracts/qdrant-point';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors';
import type { BotAliases, BotRegistry, QdrantSource } from '../ports';
import { putAlias } from './aliases';

/** What became of a collection's Qdrant aliases. */
export type AliasCopy = {
  /** Aliases pointing at the migrated bot now (or, on a dry run, that would). */
  copied: string[];
  /** Aliases left as they are, each with the reason. */
  skipped: { alias: string; reason: string }[];
};

/**
 * Gives the migrated bot the collection's Qdrant aliases: each is created, or moved, to point at the bot
 * (`putAlias`: one conditional write each, owned by `owner`). An alias that cannot be taken (a bot has
 * its name, another user owns it, the name breaks the rules) is skipped with the reason; the rest go on.
 * A collection split over several bots (`--bot-from-payload`) or a migration without an owner copies none.
 * @throws QdrantSourceError when Qdrant's aliases cannot be read.
 */
export async function copyQdrantAliases(
  deps: {
    source: Pick<QdrantSource, 'aliases'>;
    bots: Pick<BotRegistry, 'get'>;
    aliases: Pick<BotAliases, 'put'>;
  },
  options: { bot: BotSource; owner?: string; dryRun: boolean },
): Promise<AliasCopy> {
  const names = await deps.source.aliases();
  const skipAll = (reason: string): AliasCopy => ({
    copied: [],
    skipped: names.map((alias) => ({ alias, reason })),
  });
  if (options.bot.kind !== 'fixed') {
    return skipAll('the collection was split over several bots; point the alias with PUT /aliases/{alias}');
  }
  if (options.owner === undefined) return skipAll('an alias needs an owner: run again with --owner');
  const botId = options.bot.botId;
  const copy: AliasCopy = { copied: [], skipped: [] };
  for (const alias of names) {
    try {
      if (!options.dryRun) await putAlias(deps, alias, botId, options.owner);
      copy.copied.push(alias);
    } catch (error) {
      const refused =
        error instanceof ValidationError ||
        error instanceof ForbiddenError ||
        error instanceof NotFoundError ||
        error instanceof ConflictError;
      if (!refused) throw error;
      copy.skipped.push({ alias, reason: error.message });
    }
  }
  return copy;
}
