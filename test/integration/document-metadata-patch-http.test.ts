import { randomUUID } from 'node:crypto';
import { type Answer, alice, bob, call, chunk, DIM, runner, useHttpWorld } from '../fixtures/http-world';

/** `PATCH /bots/{botId}/documents?filename=…` through the HTTP API (test/fixtures/http-world.ts). */

useHttpWorld();

type Hit = { chunk_id: string; metadata: Record<string, unknown> & { filename: string } };

async function newBot(): Promise<string> {
  const botId = `bot-${randomUUID()}`;
  const created = await call({
    route: 'PUT /bots/{botId}',
    pathParameters: { botId },
    token: alice,
    body: { embedding_dimension: DIM },
  });
  expect(created.status).toBe(201);
  for (const [filename, seed] of [
    ['a.md', 10],
    ['b.md', 20],
  ] as const) {
    const chunks = Array.from({ length: 3 }, (_, i) => chunk(i, seed + i, { lang: 'en', part: { n: i } }));
    const written = await call({
      route: 'POST /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
      body: { filename, file_size: 30, chunks },
    });
    expect(written.status).toBe(200);
  }
  await runner.drain(30_000);
  return botId;
}

function patch(botId: string, filename: string, body: unknown, token = alice): Promise<Answer> {
  return call({
    route: 'PATCH /bots/{botId}/documents',
    pathParameters: { botId },
    queryStringParameters: { filename },
    token,
    body,
  });
}

async function search(botId: string, filter?: unknown): Promise<{ source: string; hits: Hit[] }> {
  const answer = await call({
    route: 'POST /bots/{botId}/search',
    pathParameters: { botId },
    token: alice,
    body: { embedding: chunk(0, 10).embedding, limit: 10, ...(filter === undefined ? {} : { filter }) },
  });
  expect(answer.status).toBe(200);
  return { source: answer.body.source as string, hits: answer.body.results as Hit[] };
}

async function bot(botId: string) {
  const answer = await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice });
  return answer.body as { total_chunks: number; total_documents: number };
}

const byLang = (lang: string) => ({ must: [{ key: 'metadata.lang', match: { value: lang } }] });

describe('PATCH a document’s metadata', () => {
  it('merges keys into every chunk: filters on the snapshot and on DynamoDB see it, counts stay', async () => {
    const botId = await newBot();
    // A snapshot exists before the patch, so the stream handler must update its rows.
    await search(botId);
    expect((await search(botId)).source).toBe('snapshot');
    const before = await bot(botId);

    const answer = await patch(botId, 'a.md', { metadata: { lang: 'fr', reviewed: true }, mode: 'merge' });
    expect(answer).toEqual({
      status: 200,
      body: { bot_id: botId, filename: 'a.md', chunks_updated: 3 },
    });
    await runner.drain(30_000);

    const french = await search(botId, byLang('fr'));
    expect(french.source).toBe('snapshot');
    expect(french.hits.map((hit) => hit.metadata.filename)).toEqual(['a.md', 'a.md', 'a.md']);
    for (const hit of french.hits) {
      expect(hit.metadata).toMatchObject({
        lang: 'fr',
        reviewed: true,
        part: { n: hit.metadata.chunk_index },
      });
    }
    expect((await search(botId, byLang('en'))).hits.map((hit) => hit.metadata.filename)).toEqual([
      'b.md',
      'b.md',
      'b.md',
    ]);
    expect(await bot(botId)).toMatchObject({
      total_chunks: before.total_chunks,
      total_documents: before.total_documents,
    });
    const listed = await call({
      route: 'GET /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
    });
    expect((listed.body.documents as Array<{ chunk_count: number }>).map((doc) => doc.chunk_count)).toEqual([
      3, 3,
    ]);
  });

  it('replaces the metadata when mode is replace', async () => {
    const botId = await newBot();
    await search(botId);
    expect((await patch(botId, 'b.md', { metadata: { topic: 'x' }, mode: 'replace' })).status).toBe(200);
    await runner.drain(30_000);
    const hits = (await search(botId, { must: [{ key: 'metadata.topic', match: { value: 'x' } }] })).hits;
    expect(hits).toHaveLength(3);
    for (const hit of hits) {
      expect(hit.metadata).toEqual({ topic: 'x', filename: 'b.md', chunk_index: hit.metadata.chunk_index });
    }
  });

  it('answers 404 for a document the bot does not have, and for another owner 403', async () => {
    const botId = await newBot();
    const missing = await patch(botId, 'nope.md', { metadata: { a: 1 } });
    expect(missing.status).toBe(404);
    expect((await patch(botId, 'a.md', { metadata: { a: 1 } }, bob)).status).toBe(403);
  });

  it.each([
    ['no metadata', {}, 'metadata'],
    ['metadata that is a list', { metadata: [1] }, 'metadata'],
    ['an unknown mode', { metadata: {}, mode: 'upsert' }, 'mode'],
    ['an unknown field', { metadata: {}, vector: [1] }, undefined],
    ['an empty nested key', { metadata: { a: { '': 1 } } }, 'metadata.a'],
    ['a number DynamoDB cannot hold', { metadata: { a: { b: 1e300 } } }, 'metadata.a.b'],
    ['a top-level __proto__ key', JSON.parse('{"metadata": {"__proto__": {"x": 1}}}'), 'metadata'],
    ['a nested __proto__ key', JSON.parse('{"metadata": {"a": {"__proto__": 1}}}'), 'metadata.a'],
  ])('refuses %s with a 400, changing nothing', async (_, body, field) => {
    const botId = await newBot();
    const answer = await patch(botId, 'a.md', body);
    expect(answer.status).toBe(400);
    if (field !== undefined) expect(answer.body.error?.field).toBe(field);
    const hits = (await search(botId, byLang('en'))).hits;
    expect(hits).toHaveLength(6);
  });
});
