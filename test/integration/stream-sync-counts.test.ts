import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { DynamoBotStats } from '../../src/adapters/dynamodb/bot-stats';
import { DynamoDocumentCatalog } from '../../src/adapters/dynamodb/document-catalog';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { type StreamLog, syncStreamBatch } from '../../src/use-cases/sync-stream-batch';
import { lambdaContext } from '../fixtures/lambda-context';
import { type ChunkItem, chunkItem, StreamEventFactory, streamEvent } from '../fixtures/stream-events';
import { wireHandlers } from '../fixtures/wired-handlers';

const config = loadConfig(process.env);
/** handlers/stream-sync.ts's handler over this test's config (its own clients). */
const wired = wireHandlers(config);
const handler = wired.streamSync;
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);
const catalog = new DynamoDocumentCatalog(documents, config.tables.botDocuments);
const quietLog: StreamLog = { warn: () => {}, error: () => {} };

afterAll(() => {
  dynamodb.destroy();
  wired.close();
});

const newBot = () => `bot-${randomUUID()}`;

async function deliver(records: DynamoDBRecord[]): Promise<string[]> {
  const response = await handler(streamEvent(records), lambdaContext());
  return response.batchItemFailures.map((failure) => failure.itemIdentifier);
}

async function botRecord(botId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documents.send(
    new GetCommand({ TableName: config.tables.botCollections, Key: { bot_id: botId }, ConsistentRead: true }),
  );
  return Item;
}

async function counts(botId: string) {
  const item = await botRecord(botId);
  const docs: Record<string, number> = {};
  for await (const page of catalog.all(botId)) for (const doc of page) docs[doc.filename] = doc.chunk_count;
  return { total_chunks: item?.total_chunks, total_documents: item?.total_documents, documents: docs };
}

/** Chunks 0..n-1 of a document. */
const chunks = (botId: string, filename: string, n: number, from = 0): ChunkItem[] =>
  Array.from({ length: n }, (_, i) => chunkItem(botId, filename, from + i));

describe('stream sync counts', () => {
  it('counts a batch once when the same batch is delivered twice', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    const batch = [
      ...chunks(bot, 'a.pdf', 3).map((c) => events.insert(c)),
      ...chunks(bot, 'b.pdf', 2).map((c) => events.insert(c)),
    ];

    expect(await deliver(batch)).toEqual([]);
    expect(await deliver(batch)).toEqual([]);

    expect(await counts(bot)).toEqual({
      total_chunks: 5,
      total_documents: 2,
      documents: { 'a.pdf': 3, 'b.pdf': 2 },
    });
  });

  it('counts exactly once when a batch is retried whole after the first half was processed', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    const a = chunks(bot, 'a.pdf', 4);
    const batch = [
      ...a.map((c) => events.insert(c)),
      events.remove(a[0] as ChunkItem),
      events.insert(chunkItem(bot, 'b.pdf', 0)),
      events.remove(a[1] as ChunkItem),
    ];

    await deliver(batch.slice(0, 3));
    expect(await deliver(batch)).toEqual([]);

    expect(await counts(bot)).toEqual({
      total_chunks: 3,
      total_documents: 2,
      documents: { 'a.pdf': 2, 'b.pdf': 1 },
    });
  });

  it('counts exactly once when a batch is bisected and the halves are retried after the whole', async () => {
    const bots = [newBot(), newBot()];
    const events = new StreamEventFactory();
    const batch = bots.flatMap((bot) => chunks(bot, 'doc.txt', 5).map((c) => events.insert(c)));
    const half = batch.length / 2;

    await deliver(batch);
    await deliver(batch.slice(0, half));
    await deliver(batch.slice(half));
    await deliver(batch.slice(half, half + 3));

    for (const bot of bots) {
      expect(await counts(bot)).toEqual({ total_chunks: 5, total_documents: 1, documents: { 'doc.txt': 5 } });
    }
  });

  it('counts exactly once when the halves come first and the whole batch after', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    const batch = chunks(bot, 'doc.txt', 6).map((c) => events.insert(c));

    await deliver(batch.slice(0, 3));
    await deliver(batch.slice(3));
    await deliver(batch);

    expect(await counts(bot)).toEqual({ total_chunks: 6, total_documents: 1, documents: { 'doc.txt': 6 } });
  });

  it('changes no count for a MODIFY that overwrites a chunk', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    const [first, second] = chunks(bot, 'a.pdf', 2) as [ChunkItem, ChunkItem];
    await deliver([events.insert(first), events.insert(second)]);

    await deliver([events.modify(first, { ...first, text: 'rewritten' })]);

    expect(await counts(bot)).toEqual({ total_chunks: 2, total_documents: 1, documents: { 'a.pdf': 2 } });
  });

  it('moves a chunk between documents for a MODIFY that changes its filename', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    const [first, second] = chunks(bot, 'a.pdf', 2) as [ChunkItem, ChunkItem];
    await deliver([events.insert(first), events.insert(second)]);

    const move = events.modify(second, { ...second, filename: 'b.pdf', file_size: 4242 });
    await deliver([move]);
    await deliver([move]);

    expect(await counts(bot)).toEqual({
      total_chunks: 2,
      total_documents: 2,
      documents: { 'a.pdf': 1, 'b.pdf': 1 },
    });
    const page = await catalog.list(bot);
    expect(page.documents.find((d) => d.filename === 'b.pdf')?.file_size).toBe(4242);
  });

  it('applies REMOVEs and does not decrement twice for a redelivered REMOVE', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    const a = chunks(bot, 'a.pdf', 3);
    await deliver(a.map((c) => events.insert(c)));

    const removal = events.remove(a[2] as ChunkItem);
    await deliver([removal]);
    await deliver([removal]);
    await deliver([removal]);

    expect(await counts(bot)).toEqual({ total_chunks: 2, total_documents: 1, documents: { 'a.pdf': 2 } });
  });

  it('brings a deleted bot to zero counts and an empty BotDocuments', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    const all = [...chunks(bot, 'a.pdf', 3), ...chunks(bot, 'b.pdf', 2), ...chunks(bot, 'c.pdf', 1)];
    await deliver(all.map((c) => events.insert(c)));

    const removals = all.map((c) => events.remove(c));
    await deliver(removals.slice(0, 4));
    await deliver(removals);

    expect(await counts(bot)).toEqual({ total_chunks: 0, total_documents: 0, documents: {} });
    expect(await botRecord(bot)).toMatchObject({ total_chunks: 0, total_documents: 0 });
  });

  it('reports a malformed record while the rest of the batch takes effect exactly once', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    const good = chunks(bot, 'a.pdf', 3);
    const wrongDimension = chunkItem(bot, 'a.pdf', 3, { dimension: 12 });
    const nameless: Record<string, unknown> = { ...chunkItem(bot, 'b.pdf', 0) };
    delete nameless.filename;
    const batch = [
      events.insert(good[0] as ChunkItem),
      events.insert(wrongDimension),
      events.insert(good[1] as ChunkItem),
      events.record('INSERT', { newImage: nameless }),
      events.insert(good[2] as ChunkItem),
    ];
    const reported = [batch[1], batch[3]].map((r) => r?.dynamodb?.SequenceNumber);

    expect(await deliver(batch)).toEqual(reported);
    // Lambda retries from the lowest reported record; that redelivery must not count anything again.
    expect(await deliver(batch.slice(1))).toEqual(reported);

    // The wrong-dimension chunk exists in the table, so it counts; the record without a filename cannot.
    expect(await counts(bot)).toEqual({ total_chunks: 4, total_documents: 1, documents: { 'a.pdf': 4 } });
  });

  it('never overwrites the owner fields of an existing bot', async () => {
    const bot = newBot();
    const owner = {
      bot_id: bot,
      user_id: 'user-7',
      name: 'Support bot',
      status: 'inactive',
      embedding_dimension: 384,
      created_at: '2025-05-05T05:05:05.000Z',
      total_chunks: 0,
      total_documents: 0,
    };
    await documents.send(new PutCommand({ TableName: config.tables.botCollections, Item: owner }));
    const events = new StreamEventFactory();

    await deliver(chunks(bot, 'a.pdf', 2).map((c) => events.insert(c)));

    expect(await botRecord(bot)).toMatchObject({ ...owner, total_chunks: 2, total_documents: 1 });
  });

  it('creates the record of a bot it has not seen with defaults and no owner', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();

    await deliver([events.insert(chunkItem(bot, 'a.pdf', 0))]);

    const item = await botRecord(bot);
    expect(item).toMatchObject({
      bot_id: bot,
      total_chunks: 1,
      total_documents: 1,
      embedding_dimension: 384,
      status: 'active',
    });
    expect(item?.user_id).toBeUndefined();
    expect(Date.parse(String(item?.created_at))).not.toBeNaN();
  });

  it('compares sequence numbers as BigInt: 100000000000000000000 comes after 99999999999999999999', async () => {
    const bot = newBot();
    const events = new StreamEventFactory({ firstSequence: 99_999_999_999_999_999_999n, step: 1n });
    const first = events.insert(chunkItem(bot, 'a.pdf', 0));
    const second = events.insert(chunkItem(bot, 'a.pdf', 1));
    expect(first.dynamodb?.SequenceNumber).toBe('99999999999999999999');
    expect(second.dynamodb?.SequenceNumber).toBe('100000000000000000000');

    await deliver([first]);
    await deliver([second]);
    await deliver([first, second]);

    expect(await counts(bot)).toEqual({ total_chunks: 2, total_documents: 1, documents: { 'a.pdf': 2 } });
  });

  it('counts the same batch exactly once when two invocations race on it', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    const batch = chunks(bot, 'a.pdf', 20).map((c) => events.insert(c));

    const results = await Promise.all([deliver(batch), deliver(batch), deliver(batch)]);

    expect(results).toEqual([[], [], []]);
    expect(await counts(bot)).toEqual({ total_chunks: 20, total_documents: 1, documents: { 'a.pdf': 20 } });
  });
});

describe('stream sync writes', () => {
  /** The real adapter on a client that counts the TransactWriteItems calls it sends. */
  function countingStats() {
    const client = createDynamoDbClient(config);
    const sent: string[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        sent.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );
    const stats = new DynamoBotStats(createDocumentClient(client), {
      botCollectionsTable: config.tables.botCollections,
      botDocumentsTable: config.tables.botDocuments,
      streamClaimsTable: config.tables.streamClaims,
      defaultEmbeddingDimension: 384,
    });
    return { stats, sent, close: () => client.destroy() };
  }

  it('costs two transactions for a batch of 100 records of one bot and document (100 claims + bot + document)', async () => {
    const { stats, sent, close } = countingStats();
    try {
      const bot = newBot();
      const events = new StreamEventFactory();
      const batch = chunks(bot, 'big.pdf', 100).map((c) => events.insert(c));

      const report = await syncStreamBatch(
        { stats, snapshots: null, log: quietLog, defaultEmbeddingDimension: 384 },
        batch,
      );

      expect(report).toMatchObject({ failures: [], counted: 100, duplicates: 0 });
      expect(sent.filter((name) => name === 'TransactWriteItemsCommand')).toHaveLength(2);
      // GetItem of the bot, BatchGetItem of the claims and of the document, two transactions (98 + 2 records).
      expect(sent).toHaveLength(5);
      expect(await counts(bot)).toEqual({
        total_chunks: 100,
        total_documents: 1,
        documents: { 'big.pdf': 100 },
      });
    } finally {
      close();
    }
  });

  it('splits a batch touching 150 documents into transactions of at most 100 actions and counts every one', async () => {
    const { stats, sent, close } = countingStats();
    try {
      const bot = newBot();
      const events = new StreamEventFactory();
      const batch = Array.from({ length: 150 }, (_, i) => events.insert(chunkItem(bot, `doc-${i}.txt`, 0)));

      const report = await syncStreamBatch(
        { stats, snapshots: null, log: quietLog, defaultEmbeddingDimension: 384 },
        batch,
      );

      expect(report.counted).toBe(150);
      // Each record is one document and one claim: 49 records per transaction (1 + 49 + 49 actions).
      expect(sent.filter((name) => name === 'TransactWriteItemsCommand')).toHaveLength(4);
      const result = await counts(bot);
      expect(result.total_chunks).toBe(150);
      expect(result.total_documents).toBe(150);
      expect(Object.keys(result.documents)).toHaveLength(150);
    } finally {
      close();
    }
  });

  it('reports only the failing bot when its counts cannot be written, and the others stand', async () => {
    const healthy = newBot();
    const failing = newBot();
    const events = new StreamEventFactory();
    // A sort key over 1024 bytes: DynamoDB rejects the BotDocuments write, so this bot's transaction fails.
    const oversized = chunkItem(failing, 'x'.repeat(1100), 0);
    const batch = [
      events.insert(chunkItem(healthy, 'a.pdf', 0)),
      events.insert(oversized),
      events.insert(chunkItem(healthy, 'a.pdf', 1)),
    ];
    const errors: string[] = [];
    const { stats, close } = countingStats();
    try {
      const report = await syncStreamBatch(
        {
          stats,
          snapshots: null,
          log: { warn: () => {}, error: (message) => errors.push(message) },
          defaultEmbeddingDimension: 384,
        },
        batch,
      );

      expect(report.failures).toEqual([batch[1]?.dynamodb?.SequenceNumber]);
      expect(report.failedBots).toBe(1);
      expect(errors).toEqual([expect.stringMatching(/not committed/)]);
      expect(await counts(healthy)).toEqual({
        total_chunks: 2,
        total_documents: 1,
        documents: { 'a.pdf': 2 },
      });
      expect(await botRecord(failing)).toBeUndefined();
    } finally {
      close();
    }
  });
});

describe('document catalog', () => {
  it('lists a bot’s documents page by page in filename order', async () => {
    const bot = newBot();
    const events = new StreamEventFactory();
    await deliver(Array.from({ length: 7 }, (_, i) => events.insert(chunkItem(bot, `doc-${i}.md`, 0))));

    const first = await catalog.list(bot, { limit: 3 });
    const second = await catalog.list(bot, { limit: 3, cursor: first.nextCursor ?? '' });
    const third = await catalog.list(bot, { limit: 3, cursor: second.nextCursor ?? '' });

    expect([first, second, third].flatMap((p) => p.documents.map((d) => d.filename))).toEqual(
      Array.from({ length: 7 }, (_, i) => `doc-${i}.md`),
    );
    expect(third.nextCursor).toBeUndefined();
    expect(first.documents[0]).toEqual({
      filename: 'doc-0.md',
      chunk_count: 1,
      file_size: 1000 + 'doc-0.md'.length,
      created_at: '2026-01-02T03:04:05.000Z',
      updated_at: expect.any(String),
    });
  });

  it('rejects a cursor it did not issue, naming the field', async () => {
    await expect(catalog.list(newBot(), { cursor: 'not-a-cursor' })).rejects.toMatchObject({
      field: 'cursor',
    });
  });
});
