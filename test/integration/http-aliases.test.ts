import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { httpEvent } from '../fixtures/http-events';
import {
  alice,
  bob,
  botWithDocuments,
  call,
  chunk,
  DIM,
  searchBatchHandler,
  useHttpWorld,
} from '../fixtures/http-world';
import { randomVector, rng } from '../fixtures/search-world';
import { waitUntil } from '../fixtures/wait';

/**
 * Aliases through the HTTP handlers (test/fixtures/http-world.ts, whose alias cache lives 100 ms): created,
 * moved, used by every read and search route, refused where they do not belong, removed.
 */

useHttpWorld();

const newAlias = () => `alias-${randomUUID()}`;
const query = randomVector(DIM, rng(4242));

type Hit = { chunk_id: string; metadata: { filename: string } };

/** POST /bots/{botId}/search/batch as API Gateway invokes it: status and parsed body. */
async function searchBatch(botId: string, body: unknown, token = alice) {
  const response = (await searchBatchHandler(
    httpEvent({
      method: 'POST',
      route: '/bots/{botId}/search/batch',
      pathParameters: { botId },
      token,
      body,
    }),
  )) as APIGatewayProxyStructuredResultV2;
  return { status: response.statusCode, body: JSON.parse(response.body ?? '{}') };
}

async function putAlias(alias: string, botId: unknown, token = alice) {
  return call({ route: 'PUT /aliases/{alias}', pathParameters: { alias }, token, body: { bot_id: botId } });
}

async function search(botId: string, token = alice) {
  return call({
    route: 'POST /bots/{botId}/search',
    pathParameters: { botId },
    token,
    body: { embedding: query, limit: 10 },
  });
}

/** The filenames a search's results come from. */
const filenamesOf = (results: unknown) => new Set((results as Hit[]).map((hit) => hit.metadata.filename));

describe('aliases', () => {
  it('answers every read and search route by alias exactly as by the bot id', async () => {
    const botId = await botWithDocuments(alice, { 'a.md': 3, 'b.md': 2 });
    const alias = newAlias();

    expect(await putAlias(alias, botId)).toEqual({ status: 201, body: { alias, bot_id: botId } });

    const byId = await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice });
    const byAlias = await call({
      route: 'GET /bots/{botId}',
      pathParameters: { botId: alias },
      token: alice,
    });
    expect(byAlias.status).toBe(200);
    expect(byAlias.body).toMatchObject({ bot_id: botId, total_chunks: 5, total_documents: 2 });
    await waitUntil('the alias listed on its bot', async () => {
      const bot = await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice });
      return JSON.stringify(bot.body.aliases) === JSON.stringify([alias]);
    });
    expect({ ...byAlias.body, aliases: [] }).toEqual({ ...byId.body, aliases: [] });

    expect((await search(alias)).body).toEqual((await search(botId)).body);
    const batch = {
      searches: [
        { embedding: query, limit: 2 },
        { query_text: 'chunk', limit: 3 },
      ],
    };
    const batchByAlias = await searchBatch(alias, batch);
    expect(batchByAlias.status).toBe(200);
    expect(batchByAlias.body).toEqual((await searchBatch(botId, batch)).body);
    const documentsBy = (id: string) =>
      call({ route: 'GET /bots/{botId}/documents', pathParameters: { botId: id }, token: alice });
    expect((await documentsBy(alias)).body).toEqual((await documentsBy(botId)).body);
    const chunksBy = (id: string) =>
      call({
        route: 'GET /bots/{botId}/documents/chunks',
        pathParameters: { botId: id },
        queryStringParameters: { filename: 'a.md' },
        token: alice,
      });
    const chunks = await chunksBy(alias);
    expect(chunks.body.total).toBe(3);
    expect(chunks.body).toEqual((await chunksBy(botId)).body);
    const doctor = await call({
      route: 'GET /bots/{botId}/doctor',
      pathParameters: { botId: alias },
      token: alice,
    });
    expect(doctor.body).toMatchObject({ bot_id: botId, healthy: true });
  });

  it('moves an alias in one switch: searches by it answer from the new bot, and GET lists it there', async () => {
    const first = await botWithDocuments(alice, { 'first.md': 2 });
    const second = await botWithDocuments(alice, { 'second.md': 2 });
    const alias = newAlias();
    expect((await putAlias(alias, first)).status).toBe(201);
    expect(filenamesOf((await search(alias)).body.results)).toEqual(new Set(['first.md']));

    expect(await putAlias(alias, second)).toEqual({ status: 200, body: { alias, bot_id: second } });
    await waitUntil('searches by the alias to answer from the new bot', async () => {
      const answer = await search(alias);
      return filenamesOf(answer.body.results).has('second.md');
    });
    await waitUntil('the alias listed on the new bot only', async () => {
      const [a, b] = await Promise.all(
        [first, second].map((botId) =>
          call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice }),
        ),
      );
      return JSON.stringify([a?.body.aliases, b?.body.aliases]) === JSON.stringify([[], [alias]]);
    });
  });

  it('refuses bad aliases with a 400 naming the field, and writes nothing', async () => {
    const botId = await botWithDocuments(alice, { 'a.md': 1 });
    const alias = newAlias();
    const refused = [
      [await putAlias('..', botId), 'alias'],
      [await putAlias(' ', botId), 'alias'],
      [await putAlias('x'.repeat(2049), botId), 'alias'],
      [await putAlias(botId, botId), 'alias'],
      [await putAlias(alias, ''), 'bot_id'],
      [await putAlias(alias, 7), 'bot_id'],
      [await putAlias(alias, '..'), 'bot_id'],
      [
        await call({
          route: 'PUT /aliases/{alias}',
          pathParameters: { alias },
          token: alice,
          body: { bot_id: botId, collection: 'x' },
        }),
        'collection',
      ],
      [await call({ route: 'PUT /aliases/{alias}', pathParameters: { alias }, token: alice }), 'body'],
    ] as const;
    for (const [answer, field] of refused) {
      expect({ status: answer.status, field: answer.body.error?.field }).toEqual({ status: 400, field });
    }
    expect((await search(alias)).status).toBe(404);
    expect(
      (await call({ route: 'DELETE /aliases/{alias}', pathParameters: { alias: '.' }, token: alice })).body
        .error,
    ).toMatchObject({ code: 'bad_request', field: 'alias' });
  });

  it('needs the caller to own both the alias and the bot, and answers 404 for what does not exist', async () => {
    const alicesBot = await botWithDocuments(alice, { 'a.md': 1 });
    const bobsBot = await botWithDocuments(bob, { 'b.md': 1 });
    const alias = newAlias();

    expect((await putAlias(alias, bobsBot)).status).toBe(403);
    expect((await putAlias(alias, `bot-${randomUUID()}`)).status).toBe(404);
    expect((await putAlias(alias, alicesBot)).status).toBe(201);
    // Bob can neither take the name over, nor remove it, nor search through it.
    expect((await putAlias(alias, bobsBot, bob)).status).toBe(403);
    expect(
      (await call({ route: 'DELETE /aliases/{alias}', pathParameters: { alias }, token: bob })).status,
    ).toBe(403);
    expect((await search(alias, bob)).status).toBe(403);
    expect(
      (await call({ route: 'GET /bots/{botId}', pathParameters: { botId: alias }, token: bob })).status,
    ).toBe(403);
    expect(filenamesOf((await search(alias)).body.results)).toEqual(new Set(['a.md']));
  });

  it('keeps writes to bot ids: an upload, a document delete or a bot delete by alias is a 404 that writes nothing', async () => {
    const botId = await botWithDocuments(alice, { 'a.md': 2 });
    const alias = newAlias();
    await putAlias(alias, botId);
    const upload = await call({
      route: 'POST /bots/{botId}/documents',
      pathParameters: { botId: alias },
      token: alice,
      body: { filename: 'c.md', file_size: 1, chunks: [chunk(0, 9)] },
    });
    const deleteDocument = await call({
      route: 'DELETE /bots/{botId}/documents',
      pathParameters: { botId: alias },
      queryStringParameters: { filename: 'a.md' },
      token: alice,
    });
    const deleteBot = await call({
      route: 'DELETE /bots/{botId}',
      pathParameters: { botId: alias },
      queryStringParameters: { confirm: alias },
      token: alice,
    });
    expect([upload.status, deleteDocument.status, deleteBot.status]).toEqual([404, 404, 404]);
    const bot = await call({ route: 'GET /bots/{botId}', pathParameters: { botId: alias }, token: alice });
    expect(bot.body).toMatchObject({ bot_id: botId, status: 'active', total_chunks: 2, total_documents: 1 });
  });

  it('stops resolving a removed alias, and answers 404 to removing it again', async () => {
    const botId = await botWithDocuments(alice, { 'a.md': 1 });
    const alias = newAlias();
    await putAlias(alias, botId);
    expect((await search(alias)).status).toBe(200);

    const removed = await call({ route: 'DELETE /aliases/{alias}', pathParameters: { alias }, token: alice });
    expect(removed).toEqual({ status: 200, body: { alias, status: 'deleted' } });
    await waitUntil('the removed alias to answer 404', async () => (await search(alias)).status === 404);
    const again = await call({ route: 'DELETE /aliases/{alias}', pathParameters: { alias }, token: alice });
    expect(again.status).toBe(404);
    expect((await search(botId)).status).toBe(200);
  });

  it('never resolves an alias to a deleted bot', async () => {
    const botId = await botWithDocuments(alice, { 'a.md': 1 });
    const alias = newAlias();
    await putAlias(alias, botId);
    const deleted = await call({
      route: 'DELETE /bots/{botId}',
      pathParameters: { botId },
      queryStringParameters: { confirm: botId },
      token: alice,
    });
    expect(deleted.status).toBe(200);

    for (const route of [
      'GET /bots/{botId}',
      'GET /bots/{botId}/documents',
      'GET /bots/{botId}/doctor',
    ] as const) {
      const answer = await call({ route, pathParameters: { botId: alias }, token: alice });
      expect({ route, status: answer.status }).toEqual({ route, status: 404 });
    }
    expect((await search(alias)).status).toBe(404);
    // The bot id itself still shows the deleted bot, with its alias, which can be moved or removed.
    const bot = await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice });
    expect(bot.body).toMatchObject({ status: 'deleted' });
    expect((await putAlias(alias, botId)).status).toBe(404);
    expect(
      (await call({ route: 'DELETE /aliases/{alias}', pathParameters: { alias }, token: alice })).status,
    ).toBe(200);
  });
});

describe('switching an alias under load', () => {
  it('answers every search racing the switches from the old bot or the new one: never a 5xx, never a mix', async () => {
    const bots = {
      old: await botWithDocuments(alice, { 'old.md': 6 }),
      new: await botWithDocuments(alice, { 'new.md': 6 }),
    };
    const fileOf = { [bots.old]: 'old.md', [bots.new]: 'new.md' };
    const alias = newAlias();
    await putAlias(alias, bots.old);
    /** Each answer's source: the one filename all its results (all its batch's results) come from. */
    const answers: { status: number; files: string[] }[] = [];
    const seen = { 'old.md': 0, 'new.md': 0 };
    let switching = true;

    const searcher = async (n: number) => {
      for (let i = 0; switching; i++) {
        const answer =
          (n + i) % 3 === 0
            ? await searchBatch(alias, {
                searches: [{ embedding: query, limit: 4 }, { query_text: 'chunk' }],
              })
            : await search(alias);
        const results: Hit[] =
          answer.body.searches === undefined
            ? (answer.body.results ?? [])
            : answer.body.searches.flatMap((s: { results: Hit[] }) => s.results);
        const files = [...filenamesOf(results)];
        answers.push({ status: answer.status ?? 0, files });
        if (files.length === 1) seen[files[0] as keyof typeof seen] += 1;
      }
    };
    const switcher = async () => {
      try {
        for (let round = 0; round < 6; round++) {
          const target = round % 2 === 0 ? bots.new : bots.old;
          expect((await putAlias(alias, target)).status).toBe(200);
          const file = fileOf[target] as keyof typeof seen;
          const before = seen[file];
          // The next switch waits until searches answer from this target (the cache lives 100 ms).
          await waitUntil(`searches answering from ${file}`, () => seen[file] >= before + 3);
        }
      } finally {
        switching = false;
      }
    };
    await Promise.all([switcher(), ...[0, 1, 2, 3].map(searcher)]);

    expect(answers.length).toBeGreaterThan(20);
    const wrong = answers.filter((answer) => answer.status !== 200 || answer.files.length !== 1);
    expect(wrong).toEqual([]);
    expect(seen['old.md']).toBeGreaterThan(0);
    expect(seen['new.md']).toBeGreaterThan(0);
  });
});

describe('bot ids and alias names', () => {
  it('refuses to create a bot whose id is an alias (409), so that no alias hides a bot', async () => {
    const botId = await botWithDocuments(alice, { 'a.md': 1 });
    const alias = newAlias();
    await putAlias(alias, botId);
    const created = await call({
      route: 'PUT /bots/{botId}',
      pathParameters: { botId: alias },
      token: bob,
      body: { embedding_dimension: DIM },
    });
    expect(created.status).toBe(409);
    expect(created.body.error?.message).toMatch(/is an alias/);
    expect(
      (await call({ route: 'GET /bots/{botId}', pathParameters: { botId: alias }, token: bob })).status,
    ).toBe(403);
  });
});
