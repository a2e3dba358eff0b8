import { randomUUID } from 'node:crypto';
import { signDevToken } from '../../src/auth/dev-token';
import {
  alice,
  bob,
  botWithDocuments,
  type Call,
  call,
  chunk,
  DIM,
  handlers,
  runner,
  secret,
  suffix,
  useHttpWorld,
} from '../fixtures/http-world';
import { randomVector, rng } from '../fixtures/search-world';

/** The HTTP API's routes through a bot's life and between owners (test/fixtures/http-world.ts). */

useHttpWorld();

describe('the HTTP API', () => {
  it('takes a bot through its life: create, update, upload, count, list, search, delete', async () => {
    const botId = `bot-${randomUUID()}`;
    const created = await call({
      route: 'PUT /bots/{botId}',
      pathParameters: { botId },
      token: alice,
      body: { name: 'Support' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      bot_id: botId,
      user_id: `alice-${suffix}`,
      name: 'Support',
      embedding_dimension: 384,
      status: 'active',
    });
    const updated = await call({
      route: 'PUT /bots/{botId}',
      pathParameters: { botId },
      token: alice,
      body: { name: 'Help desk', embedding_dimension: DIM },
    });
    expect(updated).toMatchObject({ status: 200, body: { name: 'Help desk', embedding_dimension: DIM } });

    const target = chunk(2, 77, { lang: 'en' });
    const report = [chunk(0, 70), chunk(1, 71), target];
    await call({
      route: 'POST /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
      body: { filename: 'reports/q1 2026.txt', file_size: 300, chunks: report },
    });
    await call({
      route: 'POST /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
      body: { filename: 'faq.md', file_size: 50, chunks: [chunk(0, 80)] },
    });
    await runner.drain(30_000);

    expect(
      (await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice })).body,
    ).toMatchObject({ total_chunks: 4, total_documents: 2 });
    const listed = await call({
      route: 'GET /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
    });
    expect(listed.body.documents).toEqual([
      expect.objectContaining({ filename: 'faq.md', chunk_count: 1, file_size: 50 }),
      expect.objectContaining({ filename: 'reports/q1 2026.txt', chunk_count: 3, file_size: 300 }),
    ]);
    const paged = await call({
      route: 'GET /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
      queryStringParameters: { limit: '1' },
    });
    expect(paged.body.documents).toHaveLength(1);
    expect(typeof paged.body.next_cursor).toBe('string');

    const sources: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const found = await call({
        route: 'POST /bots/{botId}/search',
        pathParameters: { botId },
        token: alice,
        body: { embedding: target.embedding, limit: 2 },
      });
      expect(found.status).toBe(200);
      expect((found.body.results as { text: string; metadata: unknown }[])[0]).toMatchObject({
        text: target.text,
        metadata: { filename: 'reports/q1 2026.txt', chunk_index: 2, lang: 'en' },
      });
      sources.push(found.body.source);
    }
    // The stream handler built the bot's snapshot when the upload's records arrived,
    // so even the first search after loading is served from it.
    expect(sources).toEqual(['snapshot', 'snapshot']);

    const removed = await call({
      route: 'DELETE /bots/{botId}/documents',
      pathParameters: { botId },
      queryStringParameters: { filename: 'reports/q1 2026.txt' },
      token: alice,
    });
    expect(removed.body).toEqual({ bot_id: botId, filename: 'reports/q1 2026.txt', chunks_deleted: 3 });
    await runner.drain(30_000);
    const afterDelete = await call({
      route: 'POST /bots/{botId}/search',
      pathParameters: { botId },
      token: alice,
      body: { embedding: target.embedding, limit: 5 },
    });
    expect(afterDelete.body.source).toBe('snapshot');
    expect(
      (afterDelete.body.results as { metadata: { filename: string } }[]).map((hit) => hit.metadata.filename),
    ).toEqual(['faq.md']);
    expect(
      (await call({ route: 'GET /bots/{botId}/documents', pathParameters: { botId }, token: alice })).body
        .documents,
    ).toEqual([expect.objectContaining({ filename: 'faq.md' })]);

    expect(
      (
        await call({
          route: 'DELETE /bots/{botId}',
          pathParameters: { botId },
          queryStringParameters: { confirm: botId },
          token: alice,
        })
      ).body,
    ).toEqual({
      bot_id: botId,
      status: 'deleted',
      chunks_deleted: 1,
    });
    await runner.drain(30_000);
    expect(
      (await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice })).body,
    ).toMatchObject({
      status: 'deleted',
      total_chunks: 0,
      total_documents: 0,
    });
    const gone = await call({
      route: 'POST /bots/{botId}/search',
      pathParameters: { botId },
      token: alice,
      body: { embedding: target.embedding },
    });
    expect(gone.status).toBe(404);
    expect(
      (
        await call({
          route: 'DELETE /bots/{botId}',
          pathParameters: { botId },
          queryStringParameters: { confirm: botId },
          token: alice,
        })
      ).status,
    ).toBe(200);
  });

  it('keeps every route of one owner’s bot closed to another owner, and leaves the bot untouched', async () => {
    const aliceBot = await botWithDocuments(alice, { 'a.txt': 3, 'b.txt': 2 });
    const probe = { embedding: randomVector(DIM, rng(5)), limit: 5 };
    const before = await call({
      route: 'POST /bots/{botId}/search',
      pathParameters: { botId: aliceBot },
      token: alice,
      body: probe,
    });
    const attempts: Call[] = [
      { route: 'GET /bots/{botId}', pathParameters: { botId: aliceBot } },
      { route: 'POST /bots/{botId}/search', pathParameters: { botId: aliceBot }, body: probe },
      { route: 'GET /bots/{botId}/documents', pathParameters: { botId: aliceBot } },
      {
        route: 'POST /bots/{botId}/documents',
        pathParameters: { botId: aliceBot },
        body: { filename: 'a.txt', file_size: 1, chunks: [chunk(0, 9)] },
      },
      {
        route: 'DELETE /bots/{botId}/documents',
        pathParameters: { botId: aliceBot },
        queryStringParameters: { filename: 'a.txt' },
      },
      {
        route: 'DELETE /bots/{botId}',
        pathParameters: { botId: aliceBot },
        queryStringParameters: { confirm: aliceBot },
      },
    ];
    for (const attempt of attempts) {
      const answer = await call({ ...attempt, token: bob });
      expect({ route: attempt.route, status: answer.status, code: answer.body.error?.code }).toEqual({
        route: attempt.route,
        status: 403,
        code: 'forbidden',
      });
    }
    const takeover = await call({
      route: 'PUT /bots/{botId}',
      pathParameters: { botId: aliceBot },
      token: bob,
      body: { name: 'mine now' },
    });
    expect(takeover).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    await runner.drain(30_000);

    const bot = await call({ route: 'GET /bots/{botId}', pathParameters: { botId: aliceBot }, token: alice });
    expect(bot.body).toMatchObject({
      user_id: `alice-${suffix}`,
      status: 'active',
      total_chunks: 5,
      total_documents: 2,
    });
    expect(bot.body.name).toBeNull();
    const after = await call({
      route: 'POST /bots/{botId}/search',
      pathParameters: { botId: aliceBot },
      token: alice,
      body: probe,
    });
    // `before` may come from DynamoDB and `after` from the snapshot: same chunks, scores equal to float32 precision.
    type Hit = { chunk_id: string; text: string; score: number };
    const [was, is] = [before.body.results as Hit[], after.body.results as Hit[]];
    expect(is).toHaveLength(5);
    expect(is.map((hit) => [hit.chunk_id, hit.text])).toEqual(was.map((hit) => [hit.chunk_id, hit.text]));
    is.forEach((hit, i) => {
      expect(Math.abs(hit.score - (was[i]?.score as number))).toBeLessThan(1e-6);
    });
  });

  it('never answers one owner’s search with another bot’s chunks', async () => {
    const aliceBot = await botWithDocuments(alice, { 'alice.txt': 6 });
    const bobBot = await botWithDocuments(bob, { 'bob.txt': 6 });
    for (let i = 0; i < 6; i++) {
      // Bob's bot holds exactly the vectors of Alice's: each would score 1.0 if it leaked.
      const embedding = chunk(i, 1000 + i).embedding;
      for (const [token, botId, filename] of [
        [bob, bobBot, 'bob.txt'],
        [alice, aliceBot, 'alice.txt'],
      ] as const) {
        const found = await call({
          route: 'POST /bots/{botId}/search',
          pathParameters: { botId },
          token,
          body: { embedding, limit: 100 },
        });
        const results = found.body.results as { metadata: { filename: string } }[];
        expect(results).toHaveLength(6);
        expect(results.every((hit) => hit.metadata.filename === filename)).toBe(true);
      }
    }
  });

  it('answers 401 on every route without a valid token', async () => {
    const botId = await botWithDocuments(alice, { 'a.txt': 1 });
    const expired = await signDevToken(secret, `alice-${suffix}`, {
      expiresIn: Math.floor(Date.now() / 1000) - 10,
    });
    const forged = await signDevToken('a-different-key-that-is-32-characters-long', `alice-${suffix}`);
    const badTokens: (string | undefined)[] = [undefined, 'not-a-jwt', expired, forged];
    for (const route of Object.keys(handlers)) {
      for (const token of badTokens) {
        const answer = await call({
          route,
          pathParameters: { botId, filename: 'a.txt' },
          body: { embedding: randomVector(DIM, rng(1)) },
          ...(token === undefined ? {} : { token }),
        });
        expect({ route, status: answer.status, code: answer.body.error?.code }).toEqual({
          route,
          status: 401,
          code: 'unauthorized',
        });
      }
    }
    expect(
      (await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice })).body.total_chunks,
    ).toBe(1);
  });

  it('answers 404 for a bot that does not exist', async () => {
    const botId = `bot-${randomUUID()}`;
    const botRoutes = Object.keys(handlers).filter((r) => r.includes('{botId}') && r !== 'PUT /bots/{botId}');
    for (const route of botRoutes) {
      const answer = await call({
        route,
        pathParameters: { botId, filename: 'a.txt' },
        token: alice,
        body: {
          embedding: randomVector(DIM, rng(1)),
          filename: 'a.txt',
          file_size: 1,
          chunks: [chunk(0, 1)],
        },
      });
      expect({ route, status: answer.status }).toEqual({ route, status: 404 });
    }
  });
});
