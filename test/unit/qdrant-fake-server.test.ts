import { randomUUID } from 'node:crypto';
import { QdrantClient } from '@qdrant/js-client-rest';
import { QdrantCollectionReader } from '../../src/adapters/qdrant/collection-reader';
import { FakeQdrant } from '../fixtures/qdrant-server';

const qdrant = new FakeQdrant();
const uuid = randomUUID();
beforeAll(async () => {
  await qdrant.start();
  qdrant.collections.set('docs', {
    vectors: { text: { size: 2, distance: 'Cosine' } },
    points: [
      { id: uuid, payload: { tenant: 'a' }, vector: { text: [0, 1] } },
      { id: 9007199254740993n, payload: { tenant: 'b' }, vector: { text: [1, 0] } },
      { id: 3n, payload: { tenant: 'a' }, vector: { text: [1, 1] } },
    ],
  });
});
afterAll(() => qdrant.stop());

describe('the fake Qdrant of the migration tests', () => {
  it("answers Qdrant's own JS client: collection info, scroll pages and exact counts", async () => {
    const client = new QdrantClient({ url: qdrant.url, checkCompatibility: false });
    const info = await client.getCollection('docs');
    expect(info.points_count).toBe(3);
    expect(info.config.params.vectors).toEqual({ text: { size: 2, distance: 'Cosine' } });
    const page = await client.scroll('docs', { limit: 1, with_vector: true, with_payload: true });
    expect(page.points).toEqual([{ id: 3, payload: { tenant: 'a' }, vector: { text: [1, 1] } }]);
    expect(typeof page.next_page_offset).toBe('number');
    const last = await client.scroll('docs', { offset: uuid, limit: 5, with_vector: false });
    expect(last).toEqual({ points: [{ id: uuid, payload: { tenant: 'a' } }], next_page_offset: null });
    expect(
      await client.count('docs', {
        exact: true,
        filter: { must: [{ key: 'tenant', match: { value: 'a' } }] },
      }),
    ).toEqual({
      count: 2,
    });
    await expect(client.getCollection('nope')).rejects.toThrow(/Not Found/i);
  });

  it('is read by our reader with ids past 2^53 exact, paging through next_page_offset', async () => {
    const reader = new QdrantCollectionReader({ url: `${qdrant.url}/`, collection: 'docs' });
    expect(await reader.info()).toEqual({
      pointsCount: 3,
      vectors: [{ name: 'text', size: 2, distance: 'Cosine' }],
    });
    const first = await reader.scroll(null, 1);
    expect(first.points.map((p) => p.id)).toEqual([{ kind: 'integer', text: '3' }]);
    expect(first.next).toEqual({ kind: 'integer', text: '9007199254740993' });
    const second = await reader.scroll(first.next, 1);
    expect(second.points[0]).toEqual({
      id: { kind: 'integer', text: '9007199254740993' },
      payload: { tenant: 'b' },
      vector: { text: [1, 0] },
    });
    expect(second.next).toEqual({ kind: 'uuid', text: uuid });
    expect((await reader.scroll(second.next, 1)).next).toBeNull();
    expect(await reader.count({ key: 'tenant', value: 'b' })).toBe(1);
  });
});

describe("the fake Qdrant's aliases", () => {
  it("answers Qdrant's own JS client, and our reader finds a collection's aliases by any of its names", async () => {
    qdrant.collections.set('other', { vectors: { size: 2, distance: 'Cosine' }, points: [] });
    qdrant.aliases.set('docs-prod', 'docs').set('docs-next', 'docs').set('other-prod', 'other');
    const client = new QdrantClient({ url: qdrant.url, checkCompatibility: false });
    expect(await client.getAliases()).toEqual({
      aliases: [
        { alias_name: 'docs-prod', collection_name: 'docs' },
        { alias_name: 'docs-next', collection_name: 'docs' },
        { alias_name: 'other-prod', collection_name: 'other' },
      ],
    });
    expect(await client.getCollectionAliases('docs')).toEqual({
      aliases: [
        { alias_name: 'docs-prod', collection_name: 'docs' },
        { alias_name: 'docs-next', collection_name: 'docs' },
      ],
    });
    await expect(client.getCollectionAliases('nope')).rejects.toThrow(/Not Found/i);

    for (const collection of ['docs', 'docs-prod']) {
      const reader = new QdrantCollectionReader({ url: qdrant.url, collection });
      expect(await reader.aliases()).toEqual(['docs-next', 'docs-prod']);
    }
    expect(await new QdrantCollectionReader({ url: qdrant.url, collection: 'other' }).aliases()).toEqual([
      'other-prod',
    ]);
  });
});
