import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { makeDeleteBotHandler } from '../../handlers/http-delete-bot';
import { makePutBotHandler } from '../../handlers/http-put-bot';
import type { BotCollection } from '../../src/domain/types';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../../src/errors';
import { type BotAccess, type BotRouteDeps, botRoute } from '../../src/http/route';
import type { HttpDeps } from '../../src/wiring/http';
import { httpEvent } from '../fixtures/http-events';

/** A bot record as BotCollections holds it. */
function botRecord(botId: string, owner: string, status: 'active' | 'deleted' = 'active'): BotCollection {
  return {
    bot_id: botId,
    user_id: owner,
    name: 'b',
    status,
    embedding_dimension: 4,
    total_chunks: 0,
    total_documents: 0,
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
  } as BotCollection;
}

/**
 * Plain fakes of what a bot route needs: the token is the user id, and `bots` is the registry. The
 * ownership rule is the use case's (requireOwnedBot); here only whether the wrapper asks for it.
 */
function fakeDeps(bots: Record<string, BotCollection>) {
  const calls: string[] = [];
  const errors: unknown[] = [];
  const deps: BotRouteDeps = {
    logger: { error: (_message, ...attributes) => errors.push(...attributes) },
    authenticate: async (event) => {
      const user = event.headers?.authorization?.replace(/^Bearer /, '');
      if (user === undefined) throw new UnauthorizedError('missing Authorization header');
      calls.push(`authenticate ${user}`);
      return user;
    },
    ownedBot: async (botId, userId, options) => {
      const byAlias = options?.acceptAlias === true ? ' or alias' : '';
      calls.push(
        `ownedBot ${botId}${byAlias} ${userId} ${options?.allowDeleted === true ? 'even deleted' : 'active'}`,
      );
      // An alias `@x` names bot `x` (the resolution rule is the use case's; here only who asks for it).
      const named = byAlias !== '' && botId.startsWith('@') ? botId.slice(1) : botId;
      const bot = bots[named];
      if (bot === undefined || (bot.status === 'deleted' && options?.allowDeleted !== true)) {
        throw new NotFoundError(`bot ${botId} does not exist`);
      }
      if (bot.user_id !== userId) throw new ForbiddenError(`bot ${botId} is not yours`);
      return bot;
    },
  };
  return { deps, calls, errors };
}

const request = (botId: string, token?: string) =>
  httpEvent({
    method: 'GET',
    route: '/bots/{botId}',
    pathParameters: { botId },
    ...(token ? { token } : {}),
  });

async function answer(
  handler: (event: ReturnType<typeof request>) => Promise<unknown>,
  event = request('b1'),
) {
  const response = (await handler(event)) as APIGatewayProxyStructuredResultV2;
  return { status: response.statusCode, body: JSON.parse(String(response.body)) };
}

describe('bot route', () => {
  const bots = { b1: botRecord('b1', 'alice'), gone: botRecord('gone', 'alice', 'deleted') };
  const echo = <A extends BotAccess>(access: A, deps: BotRouteDeps) =>
    botRoute(
      () => deps,
      access,
      async ({ userId, botId, bot }) => ({
        statusCode: 200,
        body: JSON.stringify({ userId, botId, owner: bot?.user_id ?? null }),
      }),
    );

  it("serves the owner with the bot's record, after authenticating and checking ownership", async () => {
    const { deps, calls } = fakeDeps(bots);
    expect(await answer(echo('owner', deps), request('b1', 'alice'))).toEqual({
      status: 200,
      body: { userId: 'alice', botId: 'b1', owner: 'alice' },
    });
    expect(calls).toEqual(['authenticate alice', 'ownedBot b1 alice active']);
  });

  it("answers 403 to someone else's bot and 404 to a deleted one unless the route allows it", async () => {
    const { deps } = fakeDeps(bots);
    expect((await answer(echo('owner', deps), request('b1', 'bob'))).status).toBe(403);
    expect((await answer(echo('owner', deps), request('gone', 'alice'))).status).toBe(404);
    expect((await answer(echo('owner-even-deleted', deps), request('gone', 'alice'))).status).toBe(200);
  });

  it('accepts an alias on reader routes only, and serves them with the id of the bot it names', async () => {
    const { deps, calls } = fakeDeps(bots);
    expect(await answer(echo('reader', deps), request('@b1', 'alice'))).toEqual({
      status: 200,
      body: { userId: 'alice', botId: 'b1', owner: 'alice' },
    });
    expect((await answer(echo('reader-even-deleted', deps), request('@gone', 'alice'))).status).toBe(200);
    expect((await answer(echo('owner', deps), request('@b1', 'alice'))).status).toBe(404);
    expect((await answer(echo('owner-even-deleted', deps), request('@b1', 'alice'))).status).toBe(404);
    expect(calls.filter((c) => c.startsWith('ownedBot'))).toEqual([
      'ownedBot @b1 or alias alice active',
      'ownedBot @gone or alias alice even deleted',
      'ownedBot @b1 alice active',
      'ownedBot @b1 alice even deleted',
    ]);
  });

  it('lets any authenticated caller through a caller route, without reading the bot', async () => {
    const { deps, calls } = fakeDeps(bots);
    expect(await answer(echo('caller', deps), request('new-bot', 'bob'))).toEqual({
      status: 200,
      body: { userId: 'bob', botId: 'new-bot', owner: null },
    });
    expect(calls).toEqual(['authenticate bob']);
  });

  it('answers 401 before it looks at the bot id, and 400 naming botId for one no URL can address', async () => {
    const { deps, calls } = fakeDeps(bots);
    expect(await answer(echo('owner', deps), request('..'))).toEqual({
      status: 401,
      body: { error: { code: 'unauthorized', message: 'missing Authorization header' } },
    });
    expect(calls).toEqual([]);
    const bad = await answer(echo('owner', deps), request('..', 'alice'));
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^botId/);
  });

  it('answers a generic 500 for an unexpected error and logs it, never its details', async () => {
    const { deps, errors } = fakeDeps(bots);
    const failing = botRoute(
      () => deps,
      'owner',
      async () => {
        throw new Error('secret detail');
      },
    );
    const response = await answer(failing, request('b1', 'alice'));
    expect(response.status).toBe(500);
    expect(JSON.stringify(response.body)).not.toContain('secret detail');
    expect(errors).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ message: 'secret detail' }) }),
    ]);
  });

  it('still answers 500 when building the deps fails (a bad configuration)', async () => {
    const broken = botRoute(
      () => {
        throw new Error('TABLE_VECTOR_EMBEDDINGS is empty');
      },
      'owner',
      async () => ({ statusCode: 200 }),
    );
    const spy = jest.spyOn(console, 'error').mockImplementation(() => {});
    expect((await answer(broken, request('b1', 'alice'))).status).toBe(500);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });
});

describe('handler factories', () => {
  /** HttpDeps whose use cases record their calls: a handler needs nothing else to run. */
  function fakeHttpDeps(bots: Record<string, BotCollection>) {
    const { deps, calls } = fakeDeps(bots);
    const http = {
      ...deps,
      metrics: { addMetric: () => {}, publishStoredMetrics: () => {} },
      putBot: async (botId: string, userId: string, body: { name?: string }) => {
        calls.push(`putBot ${botId} ${userId} ${body.name}`);
        return { bot: botRecord(botId, userId), created: true };
      },
      deleteBot: async ({ bot_id }: { bot_id: string }) => {
        calls.push(`deleteBot ${bot_id}`);
        return { bot_id, deleted: 3 };
      },
    } as unknown as HttpDeps;
    return { http, calls };
  }

  it('PUT /bots/{botId} creates the bot for the caller through the putBot use case', async () => {
    const { http, calls } = fakeHttpDeps({});
    const handler = makePutBotHandler(() => http);
    const event = httpEvent({
      method: 'PUT',
      route: '/bots/{botId}',
      pathParameters: { botId: 'mine' },
      body: { name: 'Mine' },
      token: 'carol',
    });
    const response = await answer(handler, event);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ bot_id: 'mine', user_id: 'carol' });
    expect(calls).toEqual(['authenticate carol', 'putBot mine carol Mine']);
  });

  it('DELETE /bots/{botId} refuses without confirm and deletes with it', async () => {
    const { http, calls } = fakeHttpDeps({ b1: botRecord('b1', 'alice') });
    const handler = makeDeleteBotHandler(() => http);
    const del = (query?: Record<string, string>) =>
      httpEvent({
        method: 'DELETE',
        route: '/bots/{botId}',
        pathParameters: { botId: 'b1' },
        ...(query ? { queryStringParameters: query } : {}),
        token: 'alice',
      });
    const refused = await answer(handler, del());
    expect(refused.status).toBe(400);
    expect(calls).not.toContain('deleteBot b1');
    expect(await answer(handler, del({ confirm: 'b1' }))).toEqual({
      status: 200,
      body: { bot_id: 'b1', status: 'deleted', chunks_deleted: 3 },
    });
  });
});
