import type { Fusion } from '../../src/domain/ranking/fusion';
import {
  type Answer,
  alice,
  botWithDocuments,
  call,
  DIM,
  useHttpWorld,
  withoutRedis,
} from '../fixtures/http-world';
import { randomVector, rng } from '../fixtures/search-world';

/**
 * Hybrid search through `POST /bots/{botId}/search` when no chunk matches a query term, for every fusion,
 * from the Redis snapshot and from DynamoDB: the answer says `keyword_matches: 0` and every score is
 * the vector side's alone, never lifted by normalising an empty keyword side (test/fixtures/http-world.ts).
 */

useHttpWorld();
const fromDynamoDb = withoutRedis();

type Hit = {
  chunk_id: string;
  score: number;
  vector_score: number;
  keyword_score: number;
  fused_score: number;
};
type Stored = { id: string; unit: Float64Array; lang: string };

const FUSIONS: Fusion[] = [
  { method: 'rrf', k: 60 },
  { method: 'rrf', k: 5, weights: { vector: 0.25, keyword: 4 } },
  { method: 'weighted', alpha: 0.6 },
  { method: 'dbsf' },
];
let botId: string;
let stored: Stored[];
const query = randomVector(DIM, rng(99));

/** The stored embedding at unit length in float32, as the snapshot keeps it. */
function unit32(vector: number[]): Float64Array {
  const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0));
  return Float64Array.from(Float32Array.from(vector.map((x) => x / norm)));
}

/** The fused score of each candidate when its keyword side is empty: its vector part, computed plainly. */
function vectorAlone(fusion: Fusion, cosines: number[]): number[] {
  const order = cosines.map((_, i) => i).sort((a, b) => (cosines[b] as number) - (cosines[a] as number));
  const rank = new Map(order.map((i, r) => [i, r + 1]));
  if (fusion.method === 'rrf') {
    return cosines.map((_, i) => (fusion.weights?.vector ?? 1) / (fusion.k + (rank.get(i) as number)));
  }
  const min = Math.min(...cosines);
  const max = Math.max(...cosines);
  if (fusion.method === 'weighted') return cosines.map((c) => fusion.alpha * ((c - min) / (max - min)));
  const mean = cosines.reduce((a, b) => a + b, 0) / cosines.length;
  const sd = Math.sqrt(cosines.reduce((a, c) => a + (c - mean) ** 2, 0) / (cosines.length - 1));
  return cosines.map((c) => (c - (mean - 3 * sd)) / (6 * sd));
}

beforeAll(async () => {
  botId = await botWithDocuments(alice, { 'a.md': 12, 'b.md': 8 });
  stored = [];
  for (const filename of ['a.md', 'b.md']) {
    const page = await call({
      route: 'GET /bots/{botId}/documents/chunks',
      pathParameters: { botId },
      queryStringParameters: { filename, limit: '100', with_vectors: 'true' },
      token: alice,
    });
    for (const chunk of page.body.chunks as {
      chunk_id: string;
      vector: number[];
      metadata: { lang: string };
    }[]) {
      stored.push({ id: chunk.chunk_id, unit: unit32(chunk.vector), lang: chunk.metadata.lang });
    }
  }
  expect(stored).toHaveLength(20);
}, 120_000);

function search(from: 'snapshot' | 'dynamodb', body: Record<string, unknown>): Promise<Answer> {
  const request = {
    route: 'POST /bots/{botId}/search' as const,
    pathParameters: { botId },
    token: alice,
    body,
  };
  return from === 'snapshot' ? call(request) : fromDynamoDb(request);
}

describe('hybrid search whose query terms match no chunk', () => {
  it.each(FUSIONS)('%j says keyword_matches: 0 and scores by the vector side alone', async (fusion) => {
    const length = Math.sqrt(query.reduce((sum, x) => sum + x * x, 0));
    for (const lang of [undefined, 'en']) {
      const candidates = stored.filter((chunk) => lang === undefined || chunk.lang === lang);
      const cosines = candidates.map(
        (chunk) => chunk.unit.reduce((s, x, i) => s + x * (query[i] as number), 0) / length,
      );
      const fused = vectorAlone(fusion, cosines);
      const want = candidates
        .map((chunk, i) => ({ id: chunk.id, fused: fused[i] as number }))
        .sort((a, b) => b.fused - a.fused || (a.id < b.id ? -1 : 1))
        .slice(0, 6);
      for (const from of ['snapshot', 'dynamodb'] as const) {
        const body = {
          query_text: 'zebra quartz',
          embedding: query,
          fusion,
          limit: 6,
          ...(lang === undefined ? {} : { filter: { metadata: { lang } } }),
        };
        if (from === 'snapshot') await search(from, body);
        const answer = await search(from, body);
        expect({ from, status: answer.status, source: answer.body.source }).toEqual({
          from,
          status: 200,
          source: from,
        });
        expect(answer.body.keyword_matches).toBe(0);
        const hits = answer.body.results as Hit[];
        expect(hits.map((hit) => hit.chunk_id)).toEqual(want.map((hit) => hit.id));
        for (const [i, hit] of hits.entries()) {
          expect(hit.keyword_score).toBe(0);
          expect(hit.fused_score).toBe(hit.score);
          expect(hit.score).toBeCloseTo((want[i] as { fused: number }).fused, 6);
        }
      }
    }
  });

  it('counts the chunks that pass the filter and match a term', async () => {
    for (const from of ['snapshot', 'dynamodb'] as const) {
      const all = await search(from, { query_text: 'chunk', embedding: query, fusion: { method: 'dbsf' } });
      expect(all.body.keyword_matches).toBe(20);
      const english = await search(from, {
        query_text: 'chunk',
        limit: 1,
        filter: { metadata: { lang: 'en' } },
      });
      expect(english.body.keyword_matches).toBe(stored.filter((chunk) => chunk.lang === 'en').length);
      const plain = await search(from, { embedding: query });
      expect(plain.body).not.toHaveProperty('keyword_matches');
    }
  });
});
