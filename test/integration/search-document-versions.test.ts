import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../../src/config';
import type { HttpHandler } from '../../src/http/route';
import type { StreamRunner } from '../../tools/local/stream-runner';
import { httpEvent } from '../fixtures/http-events';
import {
  alice,
  type Call,
  call,
  chunk,
  DIM,
  runner,
  secret,
  suffix,
  useHttpWorld,
  type Answer as WorldAnswer,
} from '../fixtures/http-world';
import {
  wired as memoryWired,
  startRunner as startMemoryRunner,
  useMemoryWorld,
} from '../fixtures/memory-world';
import { randomVector, rng } from '../fixtures/search-world';
import { wireHandlers } from '../fixtures/wired-handlers';

/**
 * Searches racing replacements of a document never see chunks of two versions of it, on every route of
 * the Redis snapshot (held copy, scan, filter, groups, MMR, hybrid, keyword, batch), of a memory-mode
 * container (its own tables and stream handler: test/fixtures/memory-world.ts) and on the DynamoDB
 * fallback with Redis absent. Each version's chunks carry their version in metadata: a result list with
 * chunks of the document under two different tags saw a mix.
 */
useHttpWorld();
// Registered before the memory world's hooks: its runner stops before the world deletes its tables.
afterAll(async () => {
  await memoryRunner?.stop();
});
useMemoryWorld({ AUTH_MODE: 'local-key', LOCAL_JWT_SECRET: secret });
let memoryRunner: StreamRunner | undefined;
// Rounds of searches race each replacement on two shared cores: minutes, not the default two.
jest.setTimeout(300_000);

const FILE = 'guide.md';
/** Sizes of the successive versions: growing and shrinking, over several write batches of 25. */
const SIZES = [40, 12, 50, 8];
const LAST = `v${SIZES.length - 1}`;

/** The handlers over this file's tables as another container runs them, with Redis or without it. */
function wiredOver(redisUrl: string | undefined) {
  return wireHandlers(
    loadConfig({
      ...process.env,
      REDIS_URL: redisUrl,
      AUTH_MODE: 'local-key',
      LOCAL_JWT_SECRET: secret,
      TABLE_VECTOR_EMBEDDINGS: `VectorEmbeddings-http-${suffix}`,
      TABLE_BOT_COLLECTIONS: `BotCollections-http-${suffix}`,
      TABLE_BOT_DOCUMENTS: `BotDocuments-http-${suffix}`,
      EMBEDDING_ENCODING: 'binary',
    }),
  );
}
const withRedis = wiredOver(process.env.REDIS_URL);
const withoutRedis = wiredOver(undefined);
afterAll(() => {
  withRedis.close();
  withoutRedis.close();
});

type Answer = { status: number; body: Record<string, unknown> };
type Invoke = (route: 'search' | 'batch', body: unknown) => Promise<Answer>;
type Hit = { chunk_id: string; metadata: { filename: string; v?: string } };

/** Search and batch search of `botId` through one wiring's handlers, as API Gateway invokes them. */
function searcher(wired: ReturnType<typeof wiredOver>, botId: string): Invoke {
  return async (route, body) => {
    const path = route === 'search' ? '/bots/{botId}/search' : '/bots/{botId}/search/batch';
    const handler = wired.http[`POST ${path}` as keyof typeof wired.http] as HttpHandler;
    const response = (await handler(
      httpEvent({ method: 'POST', route: path, pathParameters: { botId }, token: alice, body }),
    )) as APIGatewayProxyStructuredResultV2;
    return { status: response.statusCode ?? 200, body: JSON.parse(response.body ?? '{}') };
  };
}

function versionBody(tag: string, count: number) {
  return {
    filename: FILE,
    file_size: count * 100,
    chunks: Array.from({ length: count }, (_, i) => chunk(i, i * 7919 + 1, { v: tag })),
  };
}

/** The versions of FILE among the hits of one result list. */
function versionsIn(hits: Hit[]): string[] {
  return [
    ...new Set(hits.filter((hit) => hit.metadata.filename === FILE).map((hit) => hit.metadata.v ?? '?')),
  ];
}

/** Every search route's request, each able to return the whole document. */
function searches(seed: number): Record<string, unknown>[] {
  const embedding = randomVector(DIM, rng(seed));
  return [
    { embedding, limit: 100 },
    { embedding, limit: 100, filter: { must: [{ key: 'filename', match: { value: FILE } }] } },
    { embedding, limit: 5, group_by: 'filename', group_size: 100 },
    { embedding, limit: 60, mmr: { diversity: 0.3, candidates: 200 } },
    { embedding, query_text: 'chunk seed', limit: 100 },
    { query_text: 'chunk', limit: 100 },
  ];
}

/** The versions of FILE in each result list of one round of searches (every route, and a batch). */
async function searchOnce(seed: number, invoke: Invoke): Promise<string[][]> {
  const bodies = searches(seed);
  const answers = await Promise.all([
    ...bodies.map((body) => invoke('search', body)),
    invoke('batch', { searches: bodies }),
  ]);
  const seen: string[][] = [];
  const record = (body: Record<string, unknown>) => {
    if (Array.isArray(body.results)) seen.push(versionsIn(body.results as Hit[]));
    for (const group of (body.groups as { hits: Hit[] }[] | undefined) ?? [])
      seen.push(versionsIn(group.hits));
  };
  for (const answer of answers) {
    expect(answer.status).toBe(200);
    const { searches: batch } = answer.body;
    if (Array.isArray(batch)) for (const one of batch) record(one as Record<string, unknown>);
    else record(answer.body);
  }
  return seen;
}

/** Where a test writes: the HTTP routes of a stack and the wait for its stream runner. */
type Stack = { write: (request: Call) => Promise<WorldAnswer>; drain: () => Promise<unknown> };
const redisStack: Stack = { write: (request) => call(request), drain: () => runner.drain(30_000) };
/** The memory world's routes and runner (SNAPSHOT_MODE=memory: the stream handler keeps the change log). */
const memoryStack: Stack = {
  write: (request) => call(request, memoryWired.http as unknown as Record<string, HttpHandler>),
  drain: async () => {
    memoryRunner ??= await startMemoryRunner();
    return memoryRunner.drain(30_000);
  },
};

async function newBot(stack: Stack = redisStack): Promise<string> {
  const botId = `bot-${randomUUID()}`;
  const put = await stack.write({
    route: 'PUT /bots/{botId}',
    pathParameters: { botId },
    token: alice,
    body: { embedding_dimension: DIM },
  });
  expect(put.status).toBe(201);
  // A second document, so that searches rank more than one.
  const other = await stack.write({
    route: 'POST /bots/{botId}/documents',
    pathParameters: { botId },
    token: alice,
    body: { filename: 'other.md', file_size: 1, chunks: [chunk(0, 5, { v: 'other' })] },
  });
  expect(other.status).toBe(200);
  return botId;
}

/** Replaces FILE version after version while `invoke` searches without pause: every version set seen. */
async function raceReplacements(
  botId: string,
  invoke: Invoke,
  stack: Stack = redisStack,
): Promise<{ seen: string[][]; rounds: number }> {
  const seen: string[][] = [];
  let rounds = 0;
  for (const [round, size] of SIZES.entries()) {
    let done = false;
    const writing = stack
      .write({
        route: 'POST /bots/{botId}/documents',
        pathParameters: { botId },
        token: alice,
        body: versionBody(`v${round}`, size),
      })
      .finally(() => {
        done = true;
      });
    // Search while the replacement is written, and on while the stream brings it to the snapshot.
    let after = 0;
    while (!done || after++ < 4) {
      seen.push(...(await searchOnce(round * 1000 + rounds, invoke)));
      rounds++;
    }
    expect((await writing).status).toBe(200);
  }
  return { seen, rounds };
}

const byFile = { must: [{ key: 'filename', match: { value: FILE } }] };

describe('searches racing replacements of a document', () => {
  it('never see chunks of two versions through the snapshot', async () => {
    const botId = await newBot();
    const invoke = searcher(withRedis, botId);

    const { seen, rounds } = await raceReplacements(botId, invoke);
    await runner.drain(30_000);

    const mixed = seen.filter((versions) => versions.length > 1);
    expect({ searchedWhileWriting: rounds > SIZES.length, mixed }).toEqual({
      searchedWhileWriting: true,
      mixed: [],
    });
    const settled = await searchOnce(7, invoke);
    expect(
      settled.filter((versions) => versions.length > 0).every((versions) => versions.join() === LAST),
    ).toBe(true);
    const full = await invoke('search', { embedding: randomVector(DIM, rng(3)), limit: 100, filter: byFile });
    expect(full.body.source).toBe('snapshot');
    expect((full.body.results as Hit[]).length).toBe(SIZES[SIZES.length - 1]);
  });

  it('never see chunks of two versions through a memory-mode container', async () => {
    await memoryStack.drain();
    const botId = await newBot(memoryStack);
    const invoke = searcher(memoryWired, botId);

    const { seen, rounds } = await raceReplacements(botId, invoke, memoryStack);
    await memoryStack.drain();

    const mixed = seen.filter((versions) => versions.length > 1);
    expect({ searchedWhileWriting: rounds > SIZES.length, mixed }).toEqual({
      searchedWhileWriting: true,
      mixed: [],
    });
    const full = await invoke('search', { embedding: randomVector(DIM, rng(3)), limit: 100, filter: byFile });
    expect(full.body.source).toBe('snapshot');
    expect(versionsIn(full.body.results as Hit[])).toEqual([LAST]);
    expect((full.body.results as Hit[]).length).toBe(SIZES[SIZES.length - 1]);
  });

  it('never see chunks of two versions from DynamoDB with Redis absent', async () => {
    const botId = await newBot();
    const invoke = searcher(withoutRedis, botId);

    const { seen, rounds } = await raceReplacements(botId, invoke);

    const mixed = seen.filter((versions) => versions.length > 1);
    expect({ searchedWhileWriting: rounds > SIZES.length, mixed }).toEqual({
      searchedWhileWriting: true,
      mixed: [],
    });
    const full = await invoke('search', { embedding: randomVector(DIM, rng(3)), limit: 100, filter: byFile });
    expect(full.body.source).toBe('dynamodb');
    expect(versionsIn(full.body.results as Hit[])).toEqual([LAST]);
    expect((full.body.results as Hit[]).length).toBe(SIZES[SIZES.length - 1]);
  });
});
