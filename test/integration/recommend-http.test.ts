import {
  type Answer,
  alice,
  bob,
  botWithDocuments,
  call,
  DIM,
  useHttpWorld,
  withoutRedis,
} from '../fixtures/http-world';

/**
 * `POST /bots/{botId}/recommend` and search by chunk id (`query`) through the HTTP handlers, from the Redis
 * snapshot and from DynamoDB with Redis absent, against a brute-force ranking of every stored chunk
 * computed here from the stored embeddings (test/fixtures/http-world.ts).
 */

useHttpWorld();

/** The same routes as a container without Redis answers them: every search reads DynamoDB. */
const fromDynamoDb = withoutRedis();

type Stored = { id: string; filename: string; lang: string; unit: Float64Array };
type Hit = { chunk_id: string; score: number; metadata: { filename: string } };
type Body = Record<string, unknown>;
type Route = 'search' | 'recommend';

const FILES = { 'a.md': 30, 'b.md': 25, 'c.md': 20 };
let botId: string;
let stored: Stored[];

/** The stored embedding at unit length in float32, as the snapshot keeps it, widened to float64. */
function unit32(vector: number[]): Float64Array {
  let sum = 0;
  for (const x of vector) sum += x * x;
  const norm = Math.sqrt(sum);
  return Float64Array.from(Float32Array.from(vector.map((x) => x / norm)));
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
};
const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
const sigmoid = (x: number) => 0.5 * (x / (1 + Math.abs(x)) + 1);
const byId = (id: string) => stored.find((chunk) => chunk.id === id) as Stored;
const mean = (ids: string[]) => {
  const out = new Float64Array(DIM);
  for (const id of ids) {
    for (const [i, x] of byId(id).unit.entries()) out[i] = (out[i] as number) + x / ids.length;
  }
  return out;
};

/** Qdrant's scores over every stored chunk, computed the plain way. */
function scorer(positive: string[], negative: string[], strategy: string): (chunk: Stored) => number {
  if (strategy === 'best_score') {
    return (chunk) => {
      const best = (ids: string[]) => Math.max(...ids.map((id) => dot(chunk.unit, byId(id).unit)));
      const p = positive.length === 0 ? Number.NEGATIVE_INFINITY : best(positive);
      const n = negative.length === 0 ? Number.NEGATIVE_INFINITY : best(negative);
      return p > n ? sigmoid(p) : -sigmoid(n);
    };
  }
  const pos = mean(positive);
  const neg = mean(negative);
  const query = negative.length === 0 ? pos : pos.map((x, i) => 2 * x - (neg[i] as number));
  return (chunk) => cosine(chunk.unit, query);
}

type Expected = { ids: string[]; scores: number[]; groups?: string[] };

/** The brute-force answer: examples left out, the filter on `lang`, best first, ties by chunk id. */
function expected(
  positive: string[],
  negative: string[],
  strategy: string,
  options: { lang?: string; limit: number; offset?: number; groupSize?: number; threshold?: number },
): Expected {
  const score = scorer(positive, negative, strategy);
  const ranked = stored
    .filter((chunk) => !positive.includes(chunk.id) && !negative.includes(chunk.id))
    .filter((chunk) => options.lang === undefined || chunk.lang === options.lang)
    .map((chunk) => ({ chunk, score: score(chunk) }))
    .filter((hit) => options.threshold === undefined || hit.score >= options.threshold)
    .sort((a, b) => b.score - a.score || (a.chunk.id < b.chunk.id ? -1 : 1));
  if (options.groupSize === undefined) {
    const page = ranked.slice(options.offset ?? 0, (options.offset ?? 0) + options.limit);
    return { ids: page.map((hit) => hit.chunk.id), scores: page.map((hit) => hit.score) };
  }
  const groups: string[] = [];
  const hits: typeof ranked = [];
  for (const hit of ranked) {
    if (!groups.includes(hit.chunk.filename)) groups.push(hit.chunk.filename);
  }
  const kept = groups.slice(0, options.limit);
  for (const group of kept) {
    hits.push(...ranked.filter((hit) => hit.chunk.filename === group).slice(0, options.groupSize));
  }
  return { ids: hits.map((hit) => hit.chunk.id), scores: hits.map((hit) => hit.score), groups: kept };
}

function ask(from: 'snapshot' | 'dynamodb', route: Route, body: Body): Promise<Answer> {
  const request = {
    route: `POST /bots/{botId}/${route}` as const,
    pathParameters: { botId },
    token: alice,
    body,
  };
  return from === 'snapshot' ? call(request) : fromDynamoDb(request);
}

/** Asks both sources and checks each answers exactly the brute-force ranking. */
async function expectBruteForce(route: Route, body: Body, want: Expected): Promise<void> {
  for (const from of ['snapshot', 'dynamodb'] as const) {
    // The first snapshot answer may rebuild the snapshot; the second is served from it.
    if (from === 'snapshot') await ask(from, route, body);
    const answer = await ask(from, route, body);
    expect({ from, status: answer.status }).toEqual({ from, status: 200 });
    expect(answer.body.source).toBe(from);
    const groups = answer.body.groups as { id: string; hits: Hit[] }[] | undefined;
    const hits = groups?.flatMap((group) => group.hits) ?? (answer.body.results as Hit[]);
    expect({ from, ids: hits.map((hit) => hit.chunk_id) }).toEqual({ from, ids: want.ids });
    for (const [i, hit] of hits.entries()) expect(hit.score).toBeCloseTo(want.scores[i] as number, 5);
    if (want.groups !== undefined) {
      expect(groups?.map((group) => group.id)).toEqual(want.groups);
    }
  }
}

beforeAll(async () => {
  botId = await botWithDocuments(alice, FILES);
  stored = [];
  for (const filename of Object.keys(FILES)) {
    const page = await call({
      route: 'GET /bots/{botId}/documents/chunks',
      pathParameters: { botId },
      queryStringParameters: { filename, limit: '100', with_vectors: 'true' },
      token: alice,
    });
    expect(page.status).toBe(200);
    for (const chunk of page.body.chunks as {
      chunk_id: string;
      metadata: { lang: string };
      vector: number[];
    }[]) {
      stored.push({ id: chunk.chunk_id, filename, lang: chunk.metadata.lang, unit: unit32(chunk.vector) });
    }
  }
  expect(stored).toHaveLength(75);
}, 120_000);

describe('search by chunk id', () => {
  it('ranks by the stored vector of the chunk, leaving that chunk out, with a filter and an offset', async () => {
    const query = (stored[7] as Stored).id;
    await expectBruteForce(
      'search',
      { query, limit: 10 },
      expected([query], [], 'average_vector', { limit: 10 }),
    );
    await expectBruteForce(
      'search',
      { query, limit: 5, offset: 3, filter: { metadata: { lang: 'en' } } },
      expected([query], [], 'average_vector', { limit: 5, offset: 3, lang: 'en' }),
    );
  });

  it('answers 404 naming an id the bot does not hold, and 400 for query with embedding', async () => {
    for (const from of ['snapshot', 'dynamodb'] as const) {
      const missing = await ask(from, 'search', { query: 'no-such-chunk~0000000000000000' });
      expect(missing.status).toBe(404);
      expect((missing.body.error as { message: string }).message).toContain(
        '"no-such-chunk~0000000000000000"',
      );
    }
    const both = await ask('snapshot', 'search', {
      query: (stored[0] as Stored).id,
      embedding: [1, 0, 0, 0, 0, 0, 0, 0],
    });
    expect(both.status).toBe(400);
    expect((both.body.error as { field: string }).field).toBe('query');
  });
});

describe('recommend', () => {
  const ids = (): string[] => stored.map((chunk) => chunk.id);

  it('average_vector equals avg(pos) + (avg(pos) - avg(neg)) over every chunk, examples left out', async () => {
    const [p1, p2, n1] = [ids()[3], ids()[40], ids()[60]] as [string, string, string];
    await expectBruteForce(
      'recommend',
      { positive: [p1, p2], negative: [n1], limit: 12 },
      expected([p1, p2], [n1], 'average_vector', { limit: 12 }),
    );
    await expectBruteForce(
      'recommend',
      {
        positive: [p1],
        limit: 4,
        offset: 2,
        filter: { must: [{ key: 'metadata.lang', match: { value: 'de' } }] },
      },
      expected([p1], [], 'average_vector', { limit: 4, offset: 2, lang: 'de' }),
    );
  });

  it('best_score ranks by the best positive and negative similarity, with groups and with negatives only', async () => {
    const [p1, p2, n1, n2] = [ids()[0], ids()[33], ids()[50], ids()[70]] as [string, string, string, string];
    await expectBruteForce(
      'recommend',
      { positive: [p1, p2], negative: [n1, n2], strategy: 'best_score', limit: 20 },
      expected([p1, p2], [n1, n2], 'best_score', { limit: 20 }),
    );
    await expectBruteForce(
      'recommend',
      {
        positive: [p1],
        negative: [n1],
        strategy: 'best_score',
        limit: 2,
        group_by: 'filename',
        group_size: 3,
      },
      expected([p1], [n1], 'best_score', { limit: 2, groupSize: 3 }),
    );
    const closerToPositive = expected([p1], [n1, n2], 'best_score', { limit: 50, threshold: 0 });
    expect(closerToPositive.ids.length).toBeGreaterThan(0);
    expect(closerToPositive.ids.length).toBeLessThan(stored.length - 3);
    await expectBruteForce(
      'recommend',
      { positive: [p1], negative: [n1, n2], strategy: 'best_score', limit: 50, score_threshold: 0 },
      closerToPositive,
    );
    const negativesOnly = expected([], [n1, n2], 'best_score', { limit: 6, lang: 'en' });
    expect(negativesOnly.scores.every((score) => score < 0)).toBe(true);
    await expectBruteForce(
      'recommend',
      { negative: [n1, n2], strategy: 'best_score', limit: 6, filter: { metadata: { lang: 'en' } } },
      negativesOnly,
    );
  });

  it('answers 404 naming unknown example ids and 400 for requests it cannot answer', async () => {
    const known = (stored[1] as Stored).id;
    for (const from of ['snapshot', 'dynamodb'] as const) {
      const missing = await ask(from, 'recommend', { positive: [known], negative: ['ghost-1', 'ghost-2'] });
      expect(missing.status).toBe(404);
      expect((missing.body.error as { message: string }).message).toMatch(/"ghost-1".*"ghost-2"/);
    }
    const noPositive = await ask('snapshot', 'recommend', { negative: [known] });
    expect(noPositive.status).toBe(400);
    expect((noPositive.body.error as { field: string }).field).toBe('positive');
    const sameBoth = await ask('snapshot', 'recommend', { positive: [known], negative: [known] });
    expect(sameBoth.status).toBe(200);
    expect((sameBoth.body.results as Hit[]).map((hit) => hit.chunk_id)).not.toContain(known);
    const nothing = await ask('snapshot', 'recommend', { positive: [], strategy: 'best_score' });
    expect(nothing.status).toBe(400);
  });

  it("refuses another user's bot", async () => {
    const answer = await call({
      route: 'POST /bots/{botId}/recommend',
      pathParameters: { botId },
      token: bob,
      body: { positive: [(stored[0] as Stored).id] },
    });
    expect(answer.status).toBe(403);
  });
});
