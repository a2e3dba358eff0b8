import {
  alice,
  botWithDocuments,
  type Call,
  call,
  chunk,
  DIM,
  runner,
  useHttpWorld,
  validationBot,
} from '../fixtures/http-world';

/** The HTTP API on bad input: a 4xx naming what is wrong, and nothing written (test/fixtures/http-world.ts). */

useHttpWorld();

describe('the HTTP API on bad input', () => {
  it.each<[string, Call, string]>([
    ['search without an embedding', { route: 'POST /bots/{botId}/search', body: { limit: 3 } }, 'embedding'],
    [
      'search with an embedding of the wrong dimension',
      { route: 'POST /bots/{botId}/search', body: { embedding: [1, 2, 3] } },
      'embedding',
    ],
    [
      'search with a zero embedding',
      { route: 'POST /bots/{botId}/search', body: { embedding: new Array(DIM).fill(0) } },
      'embedding',
    ],
    [
      'search with a text in the embedding',
      { route: 'POST /bots/{botId}/search', body: { embedding: ['a'] } },
      'embedding[0]',
    ],
    [
      'search with limit 0',
      { route: 'POST /bots/{botId}/search', body: { embedding: new Array(DIM).fill(1), limit: 0 } },
      'limit',
    ],
    [
      'search with limit 101',
      { route: 'POST /bots/{botId}/search', body: { embedding: new Array(DIM).fill(1), limit: 101 } },
      'limit',
    ],
    [
      'search with a text threshold',
      {
        route: 'POST /bots/{botId}/search',
        body: { embedding: new Array(DIM).fill(1), score_threshold: 'high' },
      },
      'score_threshold',
    ],
    [
      'search with a numeric filename filter',
      {
        route: 'POST /bots/{botId}/search',
        body: { embedding: new Array(DIM).fill(1), filter: { filename: 5 } },
      },
      'filter.filename',
    ],
    [
      'search with an unknown field',
      { route: 'POST /bots/{botId}/search', body: { embedding: new Array(DIM).fill(1), top_k: 3 } },
      'top_k',
    ],
    [
      'search with a body that is not JSON',
      { route: 'POST /bots/{botId}/search', rawBody: '{"embedding": [' },
      'body',
    ],
    ['search without a body', { route: 'POST /bots/{botId}/search' }, 'body'],
    [
      'upload without chunks',
      { route: 'POST /bots/{botId}/documents', body: { filename: 'x.txt', file_size: 1, chunks: [] } },
      'chunks',
    ],
    [
      'upload with an empty text',
      {
        route: 'POST /bots/{botId}/documents',
        body: { filename: 'x.txt', file_size: 1, chunks: [{ ...chunk(0, 1), text: ' ' }] },
      },
      'chunks[0].text',
    ],
    [
      'upload with a short embedding',
      {
        route: 'POST /bots/{botId}/documents',
        body: { filename: 'x.txt', file_size: 1, chunks: [chunk(0, 1), { ...chunk(1, 2), embedding: [1] }] },
      },
      'chunks[1].embedding',
    ],
    [
      'upload with a negative file size',
      {
        route: 'POST /bots/{botId}/documents',
        body: { filename: 'x.txt', file_size: -1, chunks: [chunk(0, 1)] },
      },
      'file_size',
    ],
    [
      'upload naming an owner',
      {
        route: 'POST /bots/{botId}/documents',
        body: { filename: 'x.txt', file_size: 1, owner_user_id: 'eve', chunks: [chunk(0, 1)] },
      },
      'owner_user_id',
    ],
    [
      'put with dimension 0',
      { route: 'PUT /bots/{botId}', body: { embedding_dimension: 0 } },
      'embedding_dimension',
    ],
    ['put with an empty name', { route: 'PUT /bots/{botId}', body: { name: '' } }, 'name'],
    [
      'list with a limit that is not a number',
      { route: 'GET /bots/{botId}/documents', queryStringParameters: { limit: 'ten' } },
      'limit',
    ],
    ['search with a JSON null body', { route: 'POST /bots/{botId}/search', rawBody: 'null' }, 'body'],
    ['search with an empty body', { route: 'POST /bots/{botId}/search', rawBody: '' }, 'body'],
    ['upload with a JSON null body', { route: 'POST /bots/{botId}/documents', rawBody: 'null' }, 'body'],
    ...[1e20, 3e38, 1e200].map((value): [string, Call, string] => [
      `search with an embedding value of ${value}`,
      { route: 'POST /bots/{botId}/search', body: { embedding: [value, ...new Array(DIM - 1).fill(1)] } },
      'embedding',
    ]),
    [
      'list with a cursor naming an empty filename',
      {
        route: 'GET /bots/{botId}/documents',
        queryStringParameters: { cursor: Buffer.from('{"f":""}').toString('base64url') },
      },
      'cursor',
    ],
    [
      'list with a forged cursor',
      { route: 'GET /bots/{botId}/documents', queryStringParameters: { cursor: 'bm9wZQ' } },
      'cursor',
    ],
  ])('answers 400 naming the field for %s', async (_, request, field) => {
    const botId = await validationBot();
    const answer = await call({ ...request, pathParameters: { botId }, token: alice });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'bad_request', field });
    expect(answer.body.error?.message).toContain(field);
  });

  it('deletes a document named by the filename query parameter, dots, slashes and % included', async () => {
    const botId = await botWithDocuments(alice, { '..': 1, '100% done/notes.txt': 1, 'plain.txt': 1 });
    for (const filename of ['..', '100% done/notes.txt']) {
      const removed = await call({
        route: 'DELETE /bots/{botId}/documents',
        pathParameters: { botId },
        queryStringParameters: { filename },
        token: alice,
      });
      expect(removed.body).toEqual({ bot_id: botId, filename, chunks_deleted: 1 });
    }
    await runner.drain(30_000);
    const listed = await call({
      route: 'GET /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
    });
    expect((listed.body.documents as { filename: string }[]).map((doc) => doc.filename)).toEqual([
      'plain.txt',
    ]);
  });

  it('deletes a bot only when the request repeats its id in confirm', async () => {
    const botId = await botWithDocuments(alice, { 'keep.txt': 2 });
    for (const query of [undefined, { confirm: 'other' }]) {
      const refused = await call({
        route: 'DELETE /bots/{botId}',
        pathParameters: { botId },
        ...(query === undefined ? {} : { queryStringParameters: query }),
        token: alice,
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error?.field).toBe('confirm');
    }
    const bot = await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice });
    expect(bot.body).toMatchObject({ status: 'active', total_chunks: 2 });
  });

  it('answers 413 for a body over 6 MiB and writes nothing', async () => {
    const botId = await botWithDocuments(alice, { 'x.txt': 1 });
    const text = 'x'.repeat(7 * 1024 * 1024);
    const upload = await call({
      route: 'POST /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
      body: { filename: 'big.txt', file_size: text.length, chunks: [{ ...chunk(0, 1), text }] },
    });
    expect(upload).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    const searchBig = await call({
      route: 'POST /bots/{botId}/search',
      pathParameters: { botId },
      token: alice,
      rawBody: `{"embedding":[${'1,'.repeat(4 * 1024 * 1024)}1]}`,
    });
    expect(searchBig.status).toBe(413);
    await runner.drain(30_000);
    expect(
      (await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice })).body
        .total_documents,
    ).toBe(1);
  });

  it('refuses to change the dimension of a bot that has chunks', async () => {
    const botId = await botWithDocuments(alice, { 'x.txt': 2 });
    const answer = await call({
      route: 'PUT /bots/{botId}',
      pathParameters: { botId },
      token: alice,
      body: { embedding_dimension: 16 },
    });
    expect(answer).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
    expect(
      (await call({ route: 'GET /bots/{botId}', pathParameters: { botId }, token: alice })).body
        .embedding_dimension,
    ).toBe(DIM);
  });
});
