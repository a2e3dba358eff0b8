import { randomUUID } from 'node:crypto';
import { unversionedChunkId } from '../../src/domain/document-version';
import { type Answer, alice, call, chunk, DIM, runner, useHttpWorld } from '../fixtures/http-world';

/**
 * Qdrant filters through `POST /bots/{botId}/search` as a client sends them: JSON integer ids past 2^53,
 * UUIDs in Qdrant's other forms, and datetime bounds (test/fixtures/http-world.ts).
 */

useHttpWorld();

const TWO_TO_53 = 2n ** 53n;
const UUID = randomUUID();
/** Chunk ids as the migration stores Qdrant point ids: 2^53 + 1 and its double's neighbour 2^53, a UUID. */
const ids = [(TWO_TO_53 + 1n).toString(), TWO_TO_53.toString(), UUID];

let botId: string;

beforeAll(async () => {
  botId = `bot-${randomUUID()}`;
  const created = await call({
    route: 'PUT /bots/{botId}',
    pathParameters: { botId },
    token: alice,
    body: { embedding_dimension: DIM },
  });
  expect(created.status).toBe(201);
  const written = await call({
    route: 'POST /bots/{botId}/documents',
    pathParameters: { botId },
    token: alice,
    body: {
      filename: 'ids.md',
      file_size: 300,
      created_at: '2024-06-03T10:00:00Z',
      chunks: ids.map((id, i) => ({ ...chunk(i, 100 + i), chunk_id: id })),
    },
  });
  expect(written.status).toBe(200);
  await runner.drain(30_000);
});

/** A search whose body is this JSON text, so integer literals reach the API exactly as written. */
function search(filterJson: string): Promise<Answer> {
  const embedding = JSON.stringify(chunk(0, 100).embedding);
  return call({
    route: 'POST /bots/{botId}/search',
    pathParameters: { botId },
    token: alice,
    rawBody: `{"embedding":${embedding},"limit":10,"filter":${filterJson}}`,
  });
}

const hitIds = (answer: Answer) =>
  (answer.body.results as Array<{ chunk_id: string }>).map((hit) => unversionedChunkId(hit.chunk_id)).sort();

describe('Qdrant filters over HTTP', () => {
  it('matches an integer id past 2^53 sent as a JSON integer exactly', async () => {
    const answer = await search(`{"must":[{"has_id":[${TWO_TO_53 + 1n}]}]}`);
    expect(answer.status).toBe(200);
    expect(hitIds(answer)).toEqual([(TWO_TO_53 + 1n).toString()]);
    expect(hitIds(await search(`{"must":[{"has_id":[${TWO_TO_53}]}]}`))).toEqual([TWO_TO_53.toString()]);
  });

  it('matches a UUID sent upper-case, without dashes or as a URN', async () => {
    const forms = [UUID.toUpperCase(), UUID.replaceAll('-', ''), `urn:uuid:${UUID}`];
    const answer = await search(JSON.stringify({ must: [{ has_id: forms }] }));
    expect(hitIds(answer)).toEqual([UUID]);
  });

  it('reads zone-less datetime bounds as UTC and answers a 400 naming a bound it cannot read', async () => {
    expect(
      hitIds(await search('{"must":[{"key":"created_at","range":{"gte":"2024-06-03T10:00:00"}}]}')),
    ).toHaveLength(3);
    expect(hitIds(await search('{"must":[{"key":"created_at","range":{"gt":"2024-06-03 10:00"}}]}'))).toEqual(
      [],
    );
    const refused = await search('{"must":[{"key":"created_at","range":{"lt":"06.03.2024"}}]}');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'bad_request', field: 'filter.must[0].range.lt' });
    expect(refused.body.error?.message).toContain('RFC 3339');
  });

  it('passes nothing for should: []', async () => {
    expect(hitIds(await search('{"should":[]}'))).toEqual([]);
  });
});
