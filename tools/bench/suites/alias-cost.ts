import { DynamoBotAliases } from '../../../src/adapters/dynamodb/bot-aliases';
import { AliasResolver, putAlias } from '../../../src/use-cases/aliases';
import { createWriteDeps } from '../../../src/wiring/write-path';
import type { BenchContext } from '../context';

const WRITES = 50;
const USER = 'bench-user';

/**
 * What an alias costs: `PUT /aliases/{alias}` creating an alias and moving it between two bots (the use
 * case: two bot reads, one conditional PutItem) and removing it (`DELETE /aliases/{alias}`: one conditional
 * DeleteItem), the DynamoDB requests each sends, and a resolution through the per-container cache, read
 * from BotAliases and then held.
 */
export async function aliasCost(context: BenchContext): Promise<void> {
  const { env } = context;
  const write = createWriteDeps({ config: env.config, documents: env.documents });
  let requests = 0;
  env.documents.middlewareStack.add(
    (next) => async (args) => {
      requests += 1;
      return next(args);
    },
    { step: 'initialize', name: 'benchAliasRequestCounter' },
  );
  try {
    const stamp = Date.now();
    const bots = [`bench-alias-a-${stamp}`, `bench-alias-b-${stamp}`];
    for (const botId of bots) await write.bots.ensure(botId, { user_id: USER });
    const aliases = new DynamoBotAliases(env.documents, env.config.tables.botAliases);
    const deps = { bots: write.bots, aliases };

    const measure = async (kind: 'create' | 'move', run: (i: number) => Promise<unknown>) => {
      const before = requests;
      const started = performance.now();
      for (let i = 0; i < WRITES; i++) await run(i);
      return { kind, ms: (performance.now() - started) / WRITES, requests: (requests - before) / WRITES };
    };
    const create = await measure('create', (i) =>
      putAlias(deps, `bench-alias-${stamp}-${i}`, bots[0] as string, USER),
    );
    const move = await measure('move', (i) =>
      putAlias(deps, `bench-alias-${stamp}-${i}`, bots[1] as string, USER),
    );
    const resolver = new AliasResolver(aliases);
    const miss = await measure('create', (i) => resolver.resolve(`bench-alias-${stamp}-${i}`));
    const hit = await measure('create', (i) => resolver.resolve(`bench-alias-${stamp}-${i}`));
    const remove = await measure('create', (i) => aliases.remove(`bench-alias-${stamp}-${i}`, USER));
    context.results.aliases?.push({
      writes: WRITES,
      createMs: create.ms,
      createRequests: create.requests,
      moveMs: move.ms,
      moveRequests: move.requests,
      resolveMissMs: miss.ms,
      resolveMissRequests: miss.requests,
      resolveHitMs: hit.ms,
      resolveHitRequests: hit.requests,
      removeMs: remove.ms,
      removeRequests: remove.requests,
    });
    context.progress.note(
      `aliases: create ${create.ms.toFixed(2)} ms, move ${move.ms.toFixed(2)} ms, resolve ${miss.ms.toFixed(2)} ms (held: ${hit.ms.toFixed(3)} ms)`,
    );
  } finally {
    env.documents.middlewareStack.remove('benchAliasRequestCounter');
  }
}
