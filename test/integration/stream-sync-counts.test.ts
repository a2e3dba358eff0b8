import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { SNAPSHOT_MODES } from '../fixtures/snapshot-modes';
import { type ChunkItem, chunkItem, StreamEventFactory } from '../fixtures/stream-events';
import { chunks, newBot, useStreamSyncWorld } from '../fixtures/stream-sync-world';

describe.each(SNAPSHOT_MODES)('stream sync counts (%s snapshots)', (mode) => {
  const { botRecord, catalog, config, counts, deliver, documents } = useStreamSyncWorld(mode);

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

  it('counts a wrong-dimension chunk and one without a filename once each, and reports neither', async () => {
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
    expect(await deliver(batch)).toEqual([]);
    // A redelivery (Lambda delivers at least once) counts nothing again.
    expect(await deliver(batch.slice(1))).toEqual([]);

    // Both exist in the table, so both count; the one without a filename belongs to no document.
    expect(await counts(bot)).toEqual({ total_chunks: 5, total_documents: 1, documents: { 'a.pdf': 4 } });
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
