/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Functions passed to page.evaluate run in the browser: they speak the DOM.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Page, Request } from 'playwright-core';
import { signDevToken } from '../../src/auth';
import { devEmbed } from '../../src/domain/dev-embedder';
import { type DevStack, startDevStack } from '../../tools/local/dev-stack';
import {
  type Browser,
  controls,
  launchBrowser,
  screenshot,
  tabThrough,
  unlabelled,
} from '../fixtures/browser';
import { waitUntil } from '../fixtures/wait';

/**
 * The console in a real Chromium against the stack `npm run dev` starts (serverless-offline, the stream
 * runner, the global setup's DynamoDB Local and Redis under fresh table names): what it shows is what
 * the API answers that token.
 */
const suffix = randomUUID().slice(0, 8);
const STACK_START_TIMEOUT_MS = 300_000;
/** A functional deadline for the stream to apply a change, not a speed claim. */
const PIPELINE_DEADLINE_MS = 30_000;

let stack: DevStack;
let browser: Browser;
let page: Page;
let bobToken: string;
const aliceBots = [`console-a-${suffix}`, `console-b-${suffix}`];
const bobBot = `console-bob-${suffix}`;

const guide = [
  'DynamoDB streams deliver every change of the embeddings table to the stream handler in order.',
  'The Redis snapshot keeps packed float32 vectors of the bot for fast exact search.',
  'Streams retry a failed batch, so the handler counts every record exactly once.',
];
const notes = [
  'Sourdough bread needs a lively starter and a hot oven.',
  'A long cold proof gives bread flavour.',
];

async function api<T>(method: string, path: string, body?: unknown, token = stack.token) {
  const response = await fetch(`${stack.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

async function putDocument(botId: string, filename: string, texts: string[], token = stack.token) {
  const chunks = texts.map((text, i) => ({
    chunk_index: i,
    text,
    embedding: devEmbed(text),
    metadata: { topic: filename.replace(/\..*$/, '') },
  }));
  const written = await api(
    'POST',
    `/bots/${encodeURIComponent(botId)}/documents`,
    { filename, file_size: 1000, chunks },
    token,
  );
  expect(written.status).toBe(200);
}

async function counted(botId: string, chunks: number, token = stack.token) {
  await waitUntil(
    `${botId} to count ${chunks} chunks`,
    async () =>
      (await api<{ total_chunks: number }>('GET', `/bots/${botId}`, undefined, token)).body.total_chunks ===
      chunks,
    { timeoutMs: PIPELINE_DEADLINE_MS, intervalMs: 200 },
  );
}

/** Requests the page sends to the API (through the dev proxy) while `act` runs. */
async function apiRequests(act: () => Promise<unknown>): Promise<Request[]> {
  const seen: Request[] = [];
  const listener = (request: Request) => {
    if (request.url().includes('/console/api/')) seen.push(request);
  };
  page.on('request', listener);
  try {
    await act();
  } finally {
    page.off('request', listener);
  }
  return seen;
}

beforeAll(async () => {
  stack = await startDevStack({
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
      DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT,
      REDIS_URL: process.env.REDIS_URL,
      LOCAL_JWT_SECRET: randomBytes(32).toString('hex'),
      TABLE_VECTOR_EMBEDDINGS: `VectorEmbeddings-console-${suffix}`,
      TABLE_BOT_COLLECTIONS: `BotCollections-console-${suffix}`,
      TABLE_BOT_DOCUMENTS: `BotDocuments-console-${suffix}`,
    },
    log: (message) => process.stderr.write(`[console dev stack] ${message}\n`),
  });
  bobToken = await signDevToken(stack.secret, 'bob');
  for (const botId of aliceBots) {
    expect(
      (await api('PUT', `/bots/${botId}`, { name: `Bot ${botId.slice(8, 9).toUpperCase()}` })).status,
    ).toBe(201);
  }
  expect((await api('PUT', `/bots/${bobBot}`, { name: 'Not yours' }, bobToken)).status).toBe(201);
  await putDocument(aliceBots[0] as string, 'guide.md', guide);
  await putDocument(aliceBots[0] as string, 'notes.md', notes);
  await putDocument(bobBot, 'secret.md', ['bob only'], bobToken);
  await counted(aliceBots[0] as string, 5);
  browser = await launchBrowser();
  page = browser.page;
}, STACK_START_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
}, 60_000);

const botPath = (botId: string, view = '') => `${stack.consoleUrl}#/bots/${encodeURIComponent(botId)}${view}`;

/** Opens `url` as a new page view (going to the same URL with only another hash would keep the old one). */
async function visit(url: string): Promise<void> {
  await page.goto('about:blank');
  await page.goto(url);
}

/** Clicks Search and waits for the answer to be shown; returns the request sent and the API's answer. */
async function searchNow(): Promise<{ sent: Record<string, unknown>; answer: { results: SearchHit[] } }> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/search') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Search', exact: true }).click(),
  ]);
  const answer = (await response.json()) as { results: SearchHit[] };
  await page.locator('#results-title').getByText(`${answer.results.length} results`).waitFor();
  return { sent: response.request().postDataJSON() as Record<string, unknown>, answer };
}

type SearchHit = {
  chunk_id: string;
  text: string;
  score: number;
  vector_score?: number;
  keyword_score?: number;
  fused_score?: number;
  vector?: number[];
};

describe('the console in a browser', () => {
  it("lists only the token's own bots, with one request for the page", async () => {
    const requests = await apiRequests(async () => {
      await visit(stack.consoleUrl);
      await page.locator('tr[data-bot]').first().waitFor();
    });
    const listed = await page
      .locator('tr[data-bot]')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-bot')));
    expect(listed).toEqual(aliceBots);
    expect(requests.map((r) => `${r.method()} ${new URL(r.url()).pathname}`)).toEqual([
      'GET /console/api/bots',
    ]);
    const row = page.locator(`tr[data-bot="${aliceBots[0]}"]`);
    expect(await row.locator('td').allTextContents()).toEqual([
      expect.stringContaining('Bot A'),
      'active',
      '2',
      '5',
      '384',
      expect.any(String),
    ]);
    await screenshot(page, 'bots');
  });

  it('shows a search with the same hits, order and scores as the API answers the same request', async () => {
    await visit(botPath(aliceBots[0] as string, '/search'));
    await page.getByLabel('Query text', { exact: true }).fill('How do streams count every record?');
    const { sent } = await searchNow();
    expect(sent).toMatchObject({
      query_text: 'How do streams count every record?',
      embedding: expect.any(Array),
    });
    // The same request, straight to the API.
    const direct = await api<{ results: SearchHit[] }>('POST', `/bots/${aliceBots[0]}/search`, sent);
    const shown = await page.locator('[data-hit]').evaluateAll((hits) =>
      hits.map((hit) => ({
        chunk_id: hit.getAttribute('data-hit'),
        scores: [...hit.querySelectorAll('[data-score]')].map((s) => [
          s.getAttribute('data-score'),
          s.textContent,
        ]),
      })),
    );
    const four = (n: number | undefined) => (n === undefined ? '–' : n.toFixed(4));
    expect(shown).toEqual(
      direct.body.results.map((hit) => ({
        chunk_id: hit.chunk_id,
        scores: [
          ['score', four(hit.score)],
          ['vector_score', four(hit.vector_score)],
          ['keyword_score', four(hit.keyword_score)],
          ['fused_score', four(hit.fused_score)],
        ],
      })),
    );
    expect(shown.length).toBeGreaterThan(1);
    // The best hit says "Streams retry ... counts every record": the query words BM25 matched.
    expect(direct.body.results[0]?.text).toBe(guide[2]);
    expect(await page.locator('[data-hit] [data-matched]').first().textContent()).toBe(
      'streams, count, every, record',
    );
    await screenshot(page, 'search');
  });

  it('sends the filter JSON the builder shows, and "more like this" searches with the chunk\'s vector', async () => {
    await visit(botPath(aliceBots[0] as string, '/search'));
    await page.getByLabel('Query text', { exact: true }).fill('bread');
    await page.getByRole('button', { name: 'Add condition' }).click();
    await page.locator('#key-0').fill('metadata.topic');
    await page.locator('#operator-0').selectOption('any');
    await page.locator('#value-0').fill('notes,other');
    await page.getByRole('button', { name: 'Add condition' }).click();
    await page.locator('#clause-1').selectOption('must_not');
    await page.locator('#key-1').fill('chunk_index');
    await page.locator('#operator-1').selectOption('gte');
    await page.locator('#value-1').fill('1');
    const shownJson = JSON.parse(await page.getByLabel(/Filter JSON/).inputValue());
    expect(shownJson).toEqual({
      must: [{ key: 'metadata.topic', match: { any: ['notes', 'other'] } }],
      must_not: [{ key: 'chunk_index', range: { gte: 1 } }],
    });
    const { sent, answer } = await searchNow();
    expect(sent.filter).toEqual(shownJson);
    expect(answer.results.map((hit) => hit.text)).toEqual([notes[0]]);
    expect(await page.locator('[data-hit] > pre').allTextContents()).toEqual([notes[0]]);
    await screenshot(page, 'search-filter');

    const hitVector = answer.results[0]?.vector;
    expect(hitVector).toHaveLength(384);
    const [more] = await Promise.all([
      page.waitForRequest((r) => r.url().endsWith('/search') && r.method() === 'POST'),
      page.getByRole('button', { name: /More like chunk 0 of notes.md/ }).click(),
    ]);
    const body = more.postDataJSON() as { embedding: number[]; query_text?: string };
    expect(body.embedding).toEqual(hitVector);
    expect(body.query_text).toBeUndefined();
  });

  it('sends weighted RRF and DBSF as the API takes them, and says when no chunk matches a query term', async () => {
    await visit(botPath(aliceBots[0] as string, '/search'));
    await page.getByLabel('Query text', { exact: true }).fill('How do streams count every record?');
    await page.getByLabel('Fusion (hybrid)').selectOption('rrf');
    await page.getByLabel('Vector weight').fill('1');
    await page.getByLabel('Keyword weight').fill('3');
    const weighted = await searchNow();
    expect(weighted.sent.fusion).toEqual({ method: 'rrf', k: 60, weights: { vector: 1, keyword: 3 } });
    const direct = await api<{ results: SearchHit[]; keyword_matches: number }>(
      'POST',
      `/bots/${aliceBots[0]}/search`,
      weighted.sent,
    );
    expect(
      await page.locator('[data-hit]').evaluateAll((hits) => hits.map((h) => h.getAttribute('data-hit'))),
    ).toEqual(direct.body.results.map((hit) => hit.chunk_id));
    expect(direct.body.keyword_matches).toBeGreaterThan(0);
    expect(await page.locator('#keyword-matches').textContent()).toBe(
      `${direct.body.keyword_matches} chunks match a query term.`,
    );

    await page.getByLabel('Fusion (hybrid)').selectOption('dbsf');
    await page.getByLabel('Query text', { exact: true }).fill('zyxwvut');
    const dbsf = await searchNow();
    expect(dbsf.sent.fusion).toEqual({ method: 'dbsf' });
    expect((dbsf.answer as { keyword_matches?: number }).keyword_matches).toBe(0);
    expect(dbsf.answer.results.length).toBeGreaterThan(0);
    expect(await page.locator('#keyword-matches').textContent()).toBe(
      'No chunk matches a query term: ranked by the vector alone.',
    );
  });

  it("shows a document's chunks and deletes it only after its name is typed, then the counts drop", async () => {
    const botId = aliceBots[0] as string;
    await visit(botPath(botId, '/documents'));
    await page.getByRole('button', { name: 'Show chunks of guide.md' }).click();
    await page.locator('[data-chunk]').nth(2).waitFor();
    expect(await page.locator('[data-chunk] > pre').allTextContents()).toEqual(expect.arrayContaining(guide));
    await screenshot(page, 'documents');

    await page.getByRole('button', { name: 'Delete notes.md…' }).click();
    const confirm = page.getByRole('button', { name: 'Delete document' });
    expect(await confirm.isDisabled()).toBe(true);
    await page.getByLabel('Filename', { exact: true }).fill('notes');
    expect(await confirm.isDisabled()).toBe(true);
    await page.getByLabel('Filename', { exact: true }).fill('notes.md');
    await confirm.click();
    await page.getByText('Deleted notes.md (2 chunks)').waitFor();
    await page.locator('tr[data-document="notes.md"]').waitFor({ state: 'detached' });
    expect(
      await page
        .locator('tr[data-document]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-document'))),
    ).toEqual(['guide.md']);

    await visit(botPath(botId));
    await waitUntil(
      'the overview to show the counts after the deletion',
      async () => {
        await Promise.all([
          page.waitForResponse((r) => r.url().endsWith(`/bots/${botId}`)),
          page.getByRole('button', { name: 'Refresh counts' }).click(),
        ]);
        return (await page.locator('[data-count="chunks"]').textContent()) === '3';
      },
      { timeoutMs: PIPELINE_DEADLINE_MS, intervalMs: 300 },
    );
    expect(await page.locator('[data-count="documents"]').textContent()).toBe('1');
    await page.getByRole('button', { name: "Run the doctor's check" }).click();
    await page.locator('[data-verdict]').waitFor();
    expect(await page.locator('[data-verdict]').getAttribute('data-verdict')).toBe('healthy');
    await screenshot(page, 'overview');
  });

  it("shows the API's 401 message for a bad token", async () => {
    const expected = await api<{ error: { message: string } }>('GET', '/bots', undefined, 'not-a-token');
    expect(expected.status).toBe(401);
    await visit(stack.consoleUrl);
    await page.getByLabel('Token', { exact: true }).fill('not-a-token');
    await page.getByRole('button', { name: 'Use token' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe(`401 unauthorized: ${expected.body.error.message}`);
    await screenshot(page, 'bad-token');
    await page.getByLabel('Token', { exact: true }).fill(stack.token);
    await page.getByRole('button', { name: 'Use token' }).click();
    await page.locator('tr[data-bot]').first().waitFor();
  });

  it('reaches every control with the keyboard alone, every field labelled', async () => {
    const botId = aliceBots[0] as string;
    const views: [string, string][] = [
      [stack.consoleUrl, 'tr[data-bot]'],
      [botPath(botId), '[data-count]'],
      [botPath(botId, '/documents'), '[data-chunk]'],
      [botPath(botId, '/search'), '[data-condition]'],
    ];
    for (const [url, loaded] of views) {
      await visit(url);
      if (url.endsWith('/documents'))
        await page.getByRole('button', { name: 'Show chunks of guide.md' }).click();
      if (url.endsWith('/search')) await page.getByRole('button', { name: 'Add condition' }).click();
      await page.locator(loaded).first().waitFor();
      const reached = await tabThrough(page);
      const missed = (await controls(page)).filter((control) => !reached.includes(control.id));
      expect({ url, missed, unlabelled: await unlabelled(page) }).toEqual({
        url,
        missed: [],
        unlabelled: [],
      });
    }
  });

  it('fits a 360 px wide screen without sideways scrolling of the page', async () => {
    const botId = aliceBots[0] as string;
    await page.setViewportSize({ width: 360, height: 800 });
    try {
      for (const [url, name, loaded] of [
        [stack.consoleUrl, 'bots-360', 'tr[data-bot]'],
        [botPath(botId, '/documents'), 'documents-360', 'tr[data-document]'],
        [botPath(botId, '/search'), 'search-360', '#filter-json'],
      ] as const) {
        await visit(url);
        await page.locator(loaded).first().waitFor();
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        expect({ url, width }).toEqual({ url, width: 360 });
        await screenshot(page, name);
      }
    } finally {
      await page.setViewportSize({ width: 1200, height: 900 });
    }
  });
});
