import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { makeSearchHandler } from '../../handlers/http-search';
import { type BatchClock, makeSearchBatchHandler } from '../../handlers/http-search-batch';
import {
  LAMBDA_RESPONSE_BYTES,
  MAX_RESULTS_PER_RESPONSE,
  MAX_VECTOR_VALUE_JSON_BYTES,
  MAX_VECTOR_VALUES_PER_RESPONSE,
} from '../../src/contracts/response-limits';
import type { BotCollection, SearchHit } from '../../src/domain/types';
import type { SearchOptions, SearchResult } from '../../src/use-cases/search';
import type { SnapshotHttpDeps } from '../../src/wiring/http-snapshots';
import { httpEvent } from '../fixtures/http-events';

const DIM = 384;
const bot = {
  bot_id: 'b1',
  user_id: 'alice',
  name: 'b',
  status: 'active',
  embedding_dimension: DIM,
  total_chunks: 0,
  total_documents: 0,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
} as BotCollection;

/** The float32 whose shortest round-trip double is longest: 23 characters. */
const LONGEST_VALUE = Math.fround(-1.1754943508222875e-38);

/** A hit as search returns it, with a text of `textBytes` characters and, when asked, a worst-case vector. */
function hit(i: number, textBytes: number, withVector: boolean): SearchHit {
  return {
    chunk_id: `chunk-${String(i).padStart(8, '0')}`,
    text: 'x'.repeat(textBytes),
    score: -0.12345678901234568,
    metadata: { filename: `document-${i % 50}.md`, chunk_index: i, source: 'report' },
    vector_score: -0.12345678901234568,
    keyword_score: 12.345678901234567,
    fused_score: 0.012345678901234568,
    ...(withVector ? { vector: Array.from({ length: DIM }, () => LONGEST_VALUE) } : {}),
  };
}

/** SnapshotHttpDeps whose search answers every query with as many hits as it may return, each of `textBytes`. */
function fakeDeps(textBytes: number, onSearch: () => void = () => {}) {
  const searched: SearchOptions[] = [];
  const deps = {
    logger: { error: () => {} },
    metrics: { addMetric: () => {}, publishStoredMetrics: () => {} },
    authenticate: async () => 'alice',
    ownedBot: async () => bot,
    search: async (_botId: string, _embedding: unknown, options: SearchOptions): Promise<SearchResult> => {
      searched.push(options);
      onSearch();
      const groups = options.groupBy === undefined ? undefined : options.limit;
      const perGroup = options.groupBy?.groupSize ?? 1;
      const count = (groups ?? options.limit) * perGroup;
      const results = Array.from({ length: count }, (_, i) =>
        hit(i, textBytes, options.withVectors === true),
      );
      return {
        source: 'snapshot',
        results,
        ...(groups === undefined
          ? {}
          : {
              groups: Array.from({ length: groups }, (_, g) => ({
                id: `document-${g}.md`,
                hits: results.slice(g * perGroup, (g + 1) * perGroup),
              })),
            }),
      };
    },
  } as unknown as SnapshotHttpDeps;
  return { deps, searched };
}

const embedding = Array.from({ length: DIM }, (_, i) => (i % 7) - 3);
const event = (route: '/bots/{botId}/search' | '/bots/{botId}/search/batch', body: unknown) =>
  httpEvent({ method: 'POST', route, pathParameters: { botId: 'b1' }, body, token: 'alice' });

async function answer(promise: Promise<unknown>) {
  const response = (await promise) as APIGatewayProxyStructuredResultV2;
  return {
    status: response.statusCode,
    bytes: Buffer.byteLength(JSON.stringify(response)),
    body: JSON.parse(String(response.body)),
    retryAfter: response.headers?.['retry-after'],
  };
}

describe('requests a deployed function could not answer', () => {
  it('refuses a batch of 32 searches of 100 results with vectors before searching, naming the limit', async () => {
    const { deps, searched } = fakeDeps(100);
    const searches = Array.from({ length: 32 }, () => ({ embedding, limit: 100, with_vectors: true }));
    const refused = await answer(
      makeSearchBatchHandler(() => deps)(event('/bots/{botId}/search/batch', { searches })),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe('searches');
    expect(refused.body.error.message).toContain(`at most ${MAX_RESULTS_PER_RESPONSE}`);
    expect(searched).toHaveLength(0);
  });

  it('refuses one grouped search of 100 groups of 100 before searching', async () => {
    const { deps, searched } = fakeDeps(100);
    const body = { embedding, limit: 100, group_by: 'filename', group_size: 100 };
    const refused = await answer(makeSearchHandler(() => deps)(event('/bots/{botId}/search', body)));
    expect(refused.status).toBe(400);
    expect(refused.body.error.field).toBe('limit');
    expect(refused.body.error.message).toMatch(/10000 results.*at most 1000/);
    expect(searched).toHaveLength(0);
  });

  it('refuses more vector values than a response carries', async () => {
    const { deps } = fakeDeps(10);
    const searches = Array.from({ length: 3 }, () => ({ embedding, limit: 100, with_vectors: true }));
    const refused = await answer(
      makeSearchBatchHandler(() => deps)(event('/bots/{botId}/search/batch', { searches })),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain(`at most ${MAX_VECTOR_VALUES_PER_RESPONSE}`);
  });

  it('refuses a batch of 32 hybrid searches of 1,000 terms each before searching', async () => {
    const { deps, searched } = fakeDeps(10);
    const query_text = Array.from({ length: 1000 }, (_, i) => `term${i}x`).join(' ');
    const searches = Array.from({ length: 32 }, () => ({ embedding, query_text, limit: 5 }));
    const refused = await answer(
      makeSearchBatchHandler(() => deps)(event('/bots/{botId}/search/batch', { searches })),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/32000 query_text terms.*at most 1000/);
    expect(searched).toHaveLength(0);
  });

  it('stops a batch that runs past its deadline with 503 and Retry-After, before API Gateway would cut it', async () => {
    let now = 0;
    const clock: BatchClock = { now: () => now, deadlineMs: 24_000 };
    const { deps, searched } = fakeDeps(10, () => {
      now += 10_000;
    });
    const searches = Array.from({ length: 5 }, () => ({ embedding, limit: 5 }));
    const stopped = await answer(
      makeSearchBatchHandler(() => deps, clock)(event('/bots/{botId}/search/batch', { searches })),
    );
    expect(stopped.status).toBe(503);
    expect(stopped.body.error.code).toBe('unavailable');
    expect(stopped.body.error.message).toMatch(/24 s deadline after 3 of 5 searches/);
    expect(Number(stopped.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(searched).toHaveLength(3);
  });

  it('answers 413 naming the limit when the texts of accepted results would exceed 6 MB, never a 200 Lambda cannot return', async () => {
    const { deps } = fakeDeps(100_000);
    const answered = await answer(
      makeSearchHandler(() => deps)(event('/bots/{botId}/search', { embedding, limit: 100 })),
    );
    expect(answered.status).toBe(413);
    expect(answered.body.error.message).toContain(`at most ${LAMBDA_RESPONSE_BYTES} bytes`);
  });
});

describe('the worst accepted request', () => {
  it('leaves room for the texts: at most results and vector values, with the longest numbers, take under 4 MB', async () => {
    // Computed: every vector value at its longest, every result's scaffolding (ids, scores, metadata).
    expect(MAX_VECTOR_VALUES_PER_RESPONSE * MAX_VECTOR_VALUE_JSON_BYTES).toBeLessThan(2.5 * 1024 * 1024);
    // Built: 1,000 results over a batch, 260 of them with 384-d vectors (99,840 values), empty texts.
    const { deps } = fakeDeps(0);
    const searches = [
      ...Array.from({ length: 2 }, () => ({ embedding, limit: 100, with_vectors: true })),
      { embedding, limit: 60, with_vectors: true },
      ...Array.from({ length: 28 }, () => ({ embedding, limit: 25 })),
      { embedding, limit: 40 },
    ];
    const fits = await answer(
      makeSearchBatchHandler(() => deps)(event('/bots/{botId}/search/batch', { searches })),
    );
    expect(fits.status).toBe(200);
    const results = fits.body.searches.flatMap((s: { results: unknown[] }) => s.results).length;
    expect(results).toBe(MAX_RESULTS_PER_RESPONSE);
    expect(fits.bytes).toBeLessThan(4 * 1024 * 1024);
  });

  it('answers every accepted request within 6 MB: 200 under the cap, else 413 (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60_000 }),
        fc.array(
          fc.record({
            limit: fc.integer({ min: 1, max: 100 }),
            with_vectors: fc.boolean(),
            grouped: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
          }),
          { minLength: 1, maxLength: 32 },
        ),
        async (textBytes, shapes) => {
          const { deps } = fakeDeps(textBytes);
          const searches = shapes.map(({ limit, with_vectors, grouped }) => ({
            embedding,
            limit,
            with_vectors,
            ...(grouped === undefined ? {} : { group_by: 'filename', group_size: grouped }),
          }));
          const got = await answer(
            makeSearchBatchHandler(() => deps)(event('/bots/{botId}/search/batch', { searches })),
          );
          expect([200, 400, 413]).toContain(got.status);
          if (got.status === 200) expect(got.bytes).toBeLessThanOrEqual(LAMBDA_RESPONSE_BYTES);
        },
      ),
      { numRuns: 40 },
    );
  });
});
