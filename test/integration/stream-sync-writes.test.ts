import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { syncStreamBatch } from '../../src/use-cases/sync-stream-batch';
import { botStatsOf } from '../../src/wiring/adapters';
import { SNAPSHOT_MODES } from '../fixtures/snapshot-modes';
import { chunkItem, StreamEventFactory } from '../fixtures/stream-events';
import { chunks, newBot, quietLog, useStreamSyncWorld } from '../fixtures/stream-sync-world';

describe.each(SNAPSHOT_MODES)('stream sync writes (%s snapshots)', (mode) => {
  const { botRecord, config, counts } = useStreamSyncWorld(mode);

  /** The stream handler's adapter as wired in this mode, on a client that counts the calls it sends. */
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
    const stats = botStatsOf({ config, documents: createDocumentClient(client) });
    return { stats, sent, close: () => client.destroy() };
  }

  it('costs one transaction for a batch of 100 records of one bot, document and second (claim item + bot + document, + the change log item in the memory mode)', async () => {
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
      expect(sent.filter((name) => name === 'TransactWriteItemsCommand')).toHaveLength(1);
      // GetItem of the bot, BatchGetItem of the claim item and of the document, one transaction.
      expect(sent).toHaveLength(4);
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
      // Each record is one document, all share one claim item: 1 + 97 + 1 actions and one left for the
      // change log item (the memory mode writes it), then 1 + 53 + 1 (+ 1).
      expect(sent.filter((name) => name === 'TransactWriteItemsCommand')).toHaveLength(2);
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
  const { catalog, deliver } = useStreamSyncWorld();

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
