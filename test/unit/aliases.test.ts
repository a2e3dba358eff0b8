import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../src/errors';
import { ALIAS_TTL_MS, AliasResolver, putAlias } from '../../src/use-cases/aliases';
import { requireOwnedBotOrAlias } from '../../src/use-cases/authorize-bot';
import { copyQdrantAliases } from '../../src/use-cases/copy-qdrant-aliases';
import { FakeBotAliases, FakeBotRegistry } from '../fixtures/fake-ports';

/** A clock the test moves by hand (lru-cache's `perf`). */
function manualClock() {
  let now = 1_000;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function world() {
  const bots = new FakeBotRegistry(8);
  const aliases = new FakeBotAliases();
  const clock = manualClock();
  const resolver = new AliasResolver(aliases, { ttlMs: ALIAS_TTL_MS, now: clock.now });
  return { bots, aliases, clock, resolver };
}

describe('the alias resolver', () => {
  it('reads an alias once per TTL, shared by concurrent requests, and sees a switch once the TTL passed', async () => {
    const { aliases, clock, resolver } = world();
    aliases.aliases.set('prod', { alias: 'prod', bot_id: 'v1', user_id: 'u', updated_at: '' });

    const first = await Promise.all([
      resolver.resolve('prod'),
      resolver.resolve('prod'),
      resolver.resolve('prod'),
    ]);
    expect(first.map((a) => a?.bot_id)).toEqual(['v1', 'v1', 'v1']);
    expect(aliases.reads).toBe(1);

    await aliases.put('prod', 'v2', 'u');
    clock.advance(ALIAS_TTL_MS - 1);
    expect((await resolver.resolve('prod'))?.bot_id).toBe('v1');
    expect(aliases.reads).toBe(1);
    clock.advance(2);
    expect((await resolver.resolve('prod'))?.bot_id).toBe('v2');
    expect(aliases.reads).toBe(2);
  });

  it('never serves a removed alias once the TTL has passed, and caches that a name is no alias', async () => {
    const { aliases, clock, resolver } = world();
    await aliases.put('prod', 'v1', 'u');
    expect((await resolver.resolve('prod'))?.bot_id).toBe('v1');
    await aliases.remove('prod', 'u');
    clock.advance(ALIAS_TTL_MS + 1);
    expect(await resolver.resolve('prod')).toBeUndefined();
    const reads = aliases.reads;
    expect(await resolver.resolve('prod')).toBeUndefined();
    expect(aliases.reads).toBe(reads);
  });

  it('does not cache a failed read', async () => {
    const { aliases, resolver } = world();
    await aliases.put('prod', 'v1', 'u');
    const get = aliases.get.bind(aliases);
    aliases.get = async () => {
      throw new Error('DynamoDB is down');
    };
    await expect(resolver.resolve('prod')).rejects.toThrow('DynamoDB is down');
    aliases.get = get;
    expect((await resolver.resolve('prod'))?.bot_id).toBe('v1');
  });
});

describe('resolving a bot id or an alias', () => {
  it('answers a bot id as the owner check does, and an alias with the bot it points at', async () => {
    const { bots, aliases, resolver } = world();
    bots.add('v1', { user_id: 'u' });
    await aliases.put('prod', 'v1', 'u');
    expect((await requireOwnedBotOrAlias(bots, resolver, 'v1', 'u')).bot_id).toBe('v1');
    expect((await requireOwnedBotOrAlias(bots, resolver, 'prod', 'u')).bot_id).toBe('v1');
    await expect(requireOwnedBotOrAlias(bots, resolver, 'nothing', 'u')).rejects.toThrow(NotFoundError);
  });

  it("refuses another user's alias, and an alias of a deleted bot even where deleted bots are readable", async () => {
    const { bots, aliases, resolver } = world();
    bots.add('v1', { user_id: 'u', status: 'deleted' });
    bots.add('v2', { user_id: 'u', status: 'deleting' });
    await aliases.put('gone', 'v1', 'u');
    await aliases.put('going', 'v2', 'u');
    await expect(requireOwnedBotOrAlias(bots, resolver, 'gone', 'other')).rejects.toThrow(ForbiddenError);
    await expect(requireOwnedBotOrAlias(bots, resolver, 'gone', 'u', { allowDeleted: true })).rejects.toThrow(
      /points at bot v1, which was deleted/,
    );
    expect((await requireOwnedBotOrAlias(bots, resolver, 'v1', 'u', { allowDeleted: true })).status).toBe(
      'deleted',
    );
    await expect(requireOwnedBotOrAlias(bots, resolver, 'going', 'u')).rejects.toThrow(ConflictError);
  });
});

describe('putting an alias', () => {
  it('creates, then moves, the caller’s alias to the caller’s bots', async () => {
    const { bots, aliases } = world();
    bots.add('v1', { user_id: 'u' });
    bots.add('v2', { user_id: 'u' });
    expect(await putAlias({ bots, aliases }, 'prod', 'v1', 'u')).toEqual({ created: true });
    expect(await putAlias({ bots, aliases }, 'prod', 'v2', 'u')).toEqual({ created: false });
    expect(aliases.aliases.get('prod')).toMatchObject({ bot_id: 'v2', user_id: 'u' });
  });

  it('refuses a name that is a bot id, a target the caller does not own, and another user’s alias', async () => {
    const { bots, aliases } = world();
    bots.add('v1', { user_id: 'u' });
    bots.add('theirs', { user_id: 'other' });
    bots.add('old', { user_id: 'u', status: 'deleted' });
    await aliases.put('taken', 'theirs', 'other');
    const refusal = (alias: string, botId: string) =>
      putAlias({ bots, aliases }, alias, botId, 'u').catch((e) => e);

    expect(await refusal('theirs', 'v1')).toMatchObject({ constructor: ValidationError, field: 'alias' });
    expect(await refusal('..', 'v1')).toMatchObject({ constructor: ValidationError, field: 'alias' });
    expect(await refusal('prod', '')).toMatchObject({ constructor: ValidationError, field: 'bot_id' });
    expect(await refusal('prod', 'theirs')).toBeInstanceOf(ForbiddenError);
    expect(await refusal('prod', 'missing')).toBeInstanceOf(NotFoundError);
    expect(await refusal('prod', 'old')).toBeInstanceOf(NotFoundError);
    expect(await refusal('taken', 'v1')).toBeInstanceOf(ForbiddenError);
    expect([...aliases.aliases.keys()]).toEqual(['taken']);
  });
});

describe("copying a collection's Qdrant aliases", () => {
  const source = { aliases: async () => ['a', 'b'] };

  it('copies none to a collection split over several bots, saying why', async () => {
    const { bots, aliases } = world();
    const copy = await copyQdrantAliases(
      { source, bots, aliases },
      { bot: { kind: 'payload', key: 'tenant' }, owner: 'u', dryRun: false },
    );
    expect(copy.copied).toEqual([]);
    expect(copy.skipped.map((s) => s.alias)).toEqual(['a', 'b']);
    expect(copy.skipped[0]?.reason).toMatch(/split over several bots/);
    expect(aliases.aliases.size).toBe(0);
  });

  it('points each alias at the bot, and skips one another user owns while copying the rest', async () => {
    const { bots, aliases } = world();
    bots.add('b1', { user_id: 'u' });
    await aliases.put('a', 'elsewhere', 'other');
    const copy = await copyQdrantAliases(
      { source, bots, aliases },
      { bot: { kind: 'fixed', botId: 'b1' }, owner: 'u', dryRun: false },
    );
    expect(copy).toEqual({ copied: ['b'], skipped: [{ alias: 'a', reason: 'alias a is not yours' }] });
    expect(aliases.aliases.get('b')).toMatchObject({ bot_id: 'b1', user_id: 'u' });
  });
});
