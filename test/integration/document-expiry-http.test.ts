import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse } from 'aws-lambda';
import { type Answer, alice, call, chunk, DIM, ingest, runner, useHttpWorld } from '../fixtures/http-world';
import { lambdaContext } from '../fixtures/lambda-context';
import { sqsEvent } from '../fixtures/sqs-events';

/** Documents written with `expires_at` through the HTTP API (test/fixtures/http-world.ts). */

useHttpWorld();

const now = Math.floor(Date.now() / 1000);
const past = new Date((now - 120) * 1000).toISOString();
const future = now + 24 * 3600;
let botId: string;

/** Four chunks of a document, alternating lang en/de, all near the same vector (seed 7). */
const chunksOf = (offset: number) =>
  Array.from({ length: 4 }, (_, i) => ({
    ...chunk(i, 7 + offset + i, { lang: i % 2 === 0 ? 'en' : 'de' }),
    text: `memory note ${i} about llamas`,
  }));

function write(filename: string, offset: number, expiresAt?: number | string): Promise<Answer> {
  return call({
    route: 'POST /bots/{botId}/documents',
    pathParameters: { botId },
    token: alice,
    body: {
      filename,
      file_size: 40,
      ...(expiresAt === undefined ? {} : { expires_at: expiresAt }),
      chunks: chunksOf(offset),
    },
  });
}

beforeAll(async () => {
  botId = `bot-${randomUUID()}`;
  const created = await call({
    route: 'PUT /bots/{botId}',
    pathParameters: { botId },
    token: alice,
    body: { embedding_dimension: DIM },
  });
  expect(created.status).toBe(201);
  expect((await write('gone.md', 0, past)).status).toBe(200);
  expect((await write('later.md', 100, future)).status).toBe(200);
  expect((await write('kept.md', 200)).status).toBe(200);
  await runner.drain(30_000);
});

type Hit = { chunk_id: string; metadata: { filename: string; lang: string } };

async function search(body: Record<string, unknown>): Promise<{ source: string; hits: Hit[] }> {
  const answer = await call({
    route: 'POST /bots/{botId}/search',
    pathParameters: { botId },
    token: alice,
    body: { embedding: chunk(0, 7).embedding, limit: 20, ...body },
  });
  expect(answer.status).toBe(200);
  return { source: answer.body.source as string, hits: answer.body.results as Hit[] };
}

describe('documents with expires_at', () => {
  it.each([
    ['no filter', {}, 8],
    ['a metadata filter', { filter: { must: [{ key: 'metadata.lang', match: { value: 'en' } }] } }, 4],
    ['hybrid search', { query_text: 'llamas' }, 8],
    [
      'hybrid search and a filter',
      { query_text: 'llamas', filter: { must: [{ key: 'metadata.lang', match: { value: 'de' } }] } },
      4,
    ],
  ])(
    'leaves expired chunks out of search from DynamoDB and from the snapshot (%s)',
    async (_, body, expected) => {
      const answers = [await search(body), await search(body), await search(body)];
      const sources = new Set(answers.map((answer) => answer.source));
      expect(sources.has('snapshot')).toBe(true);
      for (const { hits } of answers) {
        expect(hits).toHaveLength(expected);
        expect(hits.filter((hit) => hit.metadata.filename === 'gone.md')).toEqual([]);
      }
      // Both sources give the same answer.
      expect(answers[0]?.hits.map((hit) => hit.chunk_id)).toEqual(
        answers[2]?.hits.map((hit) => hit.chunk_id),
      );
    },
  );

  it('leaves an expired chunk out when a plain query would rank it first', async () => {
    const { hits } = await search({ limit: 1 });
    expect(hits).toHaveLength(1);
    expect(hits[0]?.metadata.filename).not.toBe('gone.md');
  });

  it('lists expires_at and hides documents whose chunks have all expired', async () => {
    const listed = await call({
      route: 'GET /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
    });
    expect(listed.status).toBe(200);
    const docs = listed.body.documents as Array<{
      filename: string;
      expires_at?: number;
      chunk_count: number;
    }>;
    expect(docs.map((doc) => [doc.filename, doc.chunk_count, doc.expires_at])).toEqual([
      ['kept.md', 4, undefined],
      ['later.md', 4, future],
    ]);
  });

  it.each([
    ['a fraction of a second', 1.5],
    ['zero', 0],
    ['a date it cannot read', '06.03.2030'],
    ['a boolean', true],
  ])('refuses expires_at as %s with a 400 naming the field, writing nothing', async (_, value) => {
    const answer = await call({
      route: 'POST /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
      body: { filename: 'bad.md', file_size: 1, expires_at: value, chunks: chunksOf(300) },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'bad_request', field: 'expires_at' });
    const listed = await call({
      route: 'GET /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
    });
    expect((listed.body.documents as Array<{ filename: string }>).map((doc) => doc.filename)).not.toContain(
      'bad.md',
    );
  });

  it('takes expires_at on the ingestion queue too, as epoch seconds or a timestamp', async () => {
    const message = (filename: string, expiresAt: number | string) => ({
      type: 'upsert_document',
      bot_id: botId,
      filename,
      file_size: 40,
      expires_at: expiresAt,
      chunks: chunksOf(400),
    });
    const response = (await ingest(
      sqsEvent([
        message('queued-gone.md', now - 60),
        message('queued-later.md', new Date(future * 1000).toISOString()),
      ]),
      lambdaContext(),
    )) as SQSBatchResponse;
    expect(response.batchItemFailures).toEqual([]);
    await runner.drain(30_000);
    const listed = await call({
      route: 'GET /bots/{botId}/documents',
      pathParameters: { botId },
      token: alice,
    });
    const docs = listed.body.documents as Array<{ filename: string; expires_at?: number }>;
    expect(docs.filter((doc) => doc.filename.startsWith('queued'))).toEqual([
      expect.objectContaining({ filename: 'queued-later.md', expires_at: future }),
    ]);
    const { hits } = await search({ limit: 50 });
    expect(hits.map((hit) => hit.metadata.filename).filter((name) => name.startsWith('queued'))).toEqual(
      Array(4).fill('queued-later.md'),
    );
  });
});
