import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DeleteTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { ConfigError } from '../../src/errors';
import { createTableInput, ensureTables, OWNER_INDEX } from '../../src/tables/definition';
import { closeBaseDeps, createBaseDeps } from '../../src/wiring/base';
import { doctorDeps } from '../../src/wiring/doctor';
import { alice, bob, botWithDocuments, call, DIM, useHttpWorld } from '../fixtures/http-world';
import { silentLogger, silentMetrics } from '../fixtures/wired-handlers';

/** The routes the console reads through, over real DynamoDB Local and Redis, each answer checked against openapi.yaml. */
useHttpWorld();

type Listed = { bots: { bot_id: string; total_chunks: number; snapshot: string }[]; next_cursor?: string };

describe('GET /bots', () => {
  it("lists the caller's bots only, a page at a time, with counts and snapshot state", async () => {
    const withTwo = await botWithDocuments(alice, { 'a.md': 2 });
    const withOne = await botWithDocuments(alice, { 'b.md': 1 });
    const chunksOf: Record<string, number> = { [withTwo]: 2, [withOne]: 1 };
    const mine = [withTwo, withOne].sort();
    const theirs = await botWithDocuments(bob, { 'c.md': 1 });
    const seen: Listed['bots'] = [];
    let cursor: string | undefined;
    do {
      const page = await call({
        route: 'GET /bots',
        token: alice,
        queryStringParameters: { limit: '1', ...(cursor === undefined ? {} : { cursor }) },
      });
      expect(page.status).toBe(200);
      const body = page.body as Listed;
      expect(body.bots.length).toBeLessThanOrEqual(1);
      seen.push(...body.bots);
      cursor = body.next_cursor;
    } while (cursor !== undefined);
    expect(seen.map((bot) => bot.bot_id)).toEqual(mine);
    expect(seen.map((bot) => bot.total_chunks)).toEqual(mine.map((id) => chunksOf[id]));
    expect(seen.every((bot) => ['current', 'absent', 'stale'].includes(bot.snapshot))).toBe(true);
    const bobs = (await call({ route: 'GET /bots', token: bob })).body as Listed;
    expect(bobs.bots.map((bot) => bot.bot_id)).toEqual([theirs]);
  });

  it('refuses a bad cursor or limit with a 400 naming it, and no token with a 401', async () => {
    const cursor = await call({
      route: 'GET /bots',
      token: alice,
      queryStringParameters: { cursor: 'bm9wZQ' },
    });
    expect(cursor).toMatchObject({ status: 400, body: { error: { field: 'cursor' } } });
    const limit = await call({ route: 'GET /bots', token: alice, queryStringParameters: { limit: '101' } });
    expect(limit).toMatchObject({ status: 400, body: { error: { field: 'limit' } } });
    expect((await call({ route: 'GET /bots' })).status).toBe(401);
  });
});

describe('GET /bots/{botId}/documents/chunks', () => {
  it("pages through a document's chunks in chunk_index order, to its owner only", async () => {
    const botId = await botWithDocuments(alice, { 'long.md': 5, 'other.md': 1 });
    const indexes: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await call({
        route: 'GET /bots/{botId}/documents/chunks',
        pathParameters: { botId },
        token: alice,
        queryStringParameters: {
          filename: 'long.md',
          limit: '2',
          with_vectors: 'true',
          ...(cursor === undefined ? {} : { cursor }),
        },
      });
      expect(page.status).toBe(200);
      const body = page.body as {
        total: number;
        chunks: { chunk_index: number; text: string; metadata: unknown; vector: number[] }[];
        next_cursor?: string;
      };
      expect(body.total).toBe(5);
      for (const chunk of body.chunks) {
        expect(chunk.vector).toHaveLength(DIM);
        expect(chunk.metadata).toEqual({ lang: chunk.chunk_index % 2 === 0 ? 'en' : 'de' });
      }
      indexes.push(...body.chunks.map((chunk) => chunk.chunk_index));
      cursor = body.next_cursor;
    } while (cursor !== undefined);
    expect(indexes).toEqual([0, 1, 2, 3, 4]);

    const theirs = await call({
      route: 'GET /bots/{botId}/documents/chunks',
      pathParameters: { botId },
      token: bob,
      queryStringParameters: { filename: 'long.md' },
    });
    expect(theirs.status).toBe(403);
    const noName = await call({
      route: 'GET /bots/{botId}/documents/chunks',
      pathParameters: { botId },
      token: alice,
    });
    expect(noName).toMatchObject({ status: 400, body: { error: { field: 'filename' } } });
  });
});

describe('GET /bots/{botId}/doctor', () => {
  it("gives the owner the doctor's verdict, changing nothing", async () => {
    const botId = await botWithDocuments(alice, { 'a.md': 3, 'b.md': 2 });
    const verdict = await call({
      route: 'GET /bots/{botId}/doctor',
      pathParameters: { botId },
      token: alice,
    });
    expect(verdict).toMatchObject({
      status: 200,
      body: {
        bot_id: botId,
        healthy: true,
        recorded: { chunks: 5, documents: 2 },
        truth: { chunks: 5, documents: 2 },
        drifted_documents: [],
        totals_drift: null,
      },
    });
    expect(
      (await call({ route: 'GET /bots/{botId}/doctor', pathParameters: { botId }, token: bob })).status,
    ).toBe(403);
  });
});

describe("BotCollections' owner-index", () => {
  it('is added to a table created without it, and the doctor refuses to run until it is', async () => {
    const name = `BotCollections-noindex-${randomUUID().slice(0, 8)}`;
    const config = loadConfig({ ...process.env, TABLE_BOT_COLLECTIONS: name });
    const dynamodb = createDynamoDbClient(config);
    const base = createBaseDeps(config, { logger: silentLogger(), metrics: silentMetrics });
    try {
      const { GlobalSecondaryIndexes: _index, ...withoutIndex } = createTableInput('BotCollections', name);
      await dynamodb.send(
        new CreateTableCommand({
          ...withoutIndex,
          AttributeDefinitions: [{ AttributeName: 'bot_id', AttributeType: 'S' }],
        }),
      );
      await expect(doctorDeps(base)).rejects.toThrow(ConfigError);
      await ensureTables(dynamodb, config.tables);
      const { Table: table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
      expect(table?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual([OWNER_INDEX]);
      await expect(doctorDeps(base)).resolves.toBeDefined();
    } finally {
      await dynamodb.send(new DeleteTableCommand({ TableName: name })).catch(() => undefined);
      dynamodb.destroy();
      closeBaseDeps(base);
    }
  });
});
