import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { foreignRecordReason, tableOfStreamArn } from '../../src/contracts/stream-record-origin';
import { type SyncStreamBatchDeps, syncStreamBatch } from '../../src/use-cases/sync-stream-batch';
import { FakeBotStats, FakeSnapshotStore } from '../fixtures/fake-stream-ports';
import { testSeed } from '../fixtures/random';
import { type ChunkItem, chunkItem, StreamEventFactory } from '../fixtures/stream-events';

/**
 * Records no VectorEmbeddings write can produce are skipped; records of real items the snapshot cannot
 * serve are counted once and kept out of it. Neither is ever reported for retry (it would stall the shard).
 */
const DIM = 4;
const BOT = 'bot-odd';

type Logged = { level: 'warn' | 'error'; message: string; extra: Record<string, unknown> };

function world() {
  const stats = new FakeBotStats(DIM);
  const snapshots = new FakeSnapshotStore();
  snapshots.publishEmpty(BOT, 0, DIM);
  const logged: Logged[] = [];
  const deps: SyncStreamBatchDeps = {
    stats,
    snapshots,
    log: {
      warn: (message, extra) => logged.push({ level: 'warn', message, extra: extra ?? {} }),
      error: (message, extra) => logged.push({ level: 'error', message, extra: extra ?? {} }),
    },
    defaultEmbeddingDimension: DIM,
  };
  const served = () => Object.keys(snapshots.textsOf(BOT) ?? {}).sort();
  return { deps, stats, served, logged };
}

const events = new StreamEventFactory();
const item = (index: number, options: { dimension?: number; filename?: string } = {}): ChunkItem =>
  chunkItem(BOT, options.filename ?? 'a.pdf', index, {
    dimension: options.dimension ?? DIM,
    encoding: 'list',
    chunkId: `c${index}`,
  });

/** An INSERT whose marshalled new image is edited as a hand-made record would be. */
function insertEdited(index: number, edit: (image: Record<string, AttributeValue>) => void): DynamoDBRecord {
  const record = events.insert(item(index));
  edit(record.dynamodb?.NewImage as Record<string, AttributeValue>);
  return record;
}

describe('stream records no VectorEmbeddings write can produce', () => {
  it('skips each one with a log line, counts nothing of them, reports none, and counts the rest', async () => {
    const { deps, stats, served, logged } = world();
    const good = events.insert(item(0));
    const unknownEvent = { ...events.insert(item(1)), eventName: 'UPSERT' } as unknown as DynamoDBRecord;
    const noChunkKey = events.insert(item(2));
    delete noChunkKey.dynamodb?.Keys?.chunk_id;
    const nanVector = insertEdited(3, (image) => {
      (image.embedding?.L as AttributeValue[])[0] = { N: 'NaN' };
    });
    const fiveMegabytes = insertEdited(4, (image) => {
      image.text = { S: 'x'.repeat(5 * 1024 * 1024) };
    });
    const hugeVector = insertEdited(5, (image) => {
      image.embedding = { L: Array.from({ length: 100_000 }, (_, i) => ({ N: `0.${123_456_789 + i}` })) };
    });

    const report = await syncStreamBatch(deps, [
      good,
      unknownEvent,
      noChunkKey,
      nanVector,
      fiveMegabytes,
      hugeVector,
    ]);

    expect(report).toMatchObject({ failures: [], counted: 1, skipped: 5, unusable: 0 });
    expect(stats.totals).toMatchObject({ chunks: 1, documents: 1 });
    expect(served()).toEqual(['c0']);
    const skips = logged.filter((entry) => entry.message.startsWith('Stream record skipped'));
    expect(skips.map((entry) => entry.extra.field)).toEqual([
      'eventName',
      'dynamodb.Keys',
      'dynamodb.NewImage',
      'dynamodb.NewImage',
      'dynamodb.NewImage',
    ]);
    expect(String(skips[2]?.extra.reason)).toMatch(/"NaN" is not a DynamoDB number/);
    expect(String(skips[3]?.extra.reason)).toMatch(/at most 409600 bytes/);
  });
});

describe('stream records of items the snapshot cannot serve', () => {
  const cases: [string, () => DynamoDBRecord][] = [
    ['an embedding of 3 dimensions for a 4-dimension bot', () => events.insert(item(10, { dimension: 3 }))],
    [
      'an embedding holding 1E+30 (beyond the write path’s 1e15)',
      () =>
        insertEdited(11, (image) => {
          (image.embedding?.L as AttributeValue[])[0] = { N: '1E+30' };
        }),
    ],
    [
      'packed binary holding NaN',
      () =>
        insertEdited(12, (image) => {
          image.embedding = {
            B: Buffer.from(new Float32Array([Number.NaN, 1, 2, 3]).buffer).toString('base64'),
          };
        }),
    ],
  ];

  it.each(cases)('counts %s once, keeps it out of the snapshot and never reports it', async (_name, make) => {
    const { deps, stats, served, logged } = world();
    const record = make();
    const chunkId = record.dynamodb?.Keys?.chunk_id?.S;

    const first = await syncStreamBatch(deps, [events.insert(item(0)), record]);
    const again = await syncStreamBatch(deps, [record]);

    expect(first).toMatchObject({ failures: [], counted: 2, unusable: 1, skipped: 0 });
    expect(again).toMatchObject({ failures: [], counted: 0, duplicates: 1, unusable: 0 });
    expect(stats.totals).toMatchObject({ chunks: 2, documents: 1 });
    expect(stats.documents.get('a.pdf')?.chunkCount).toBe(2);
    expect(served()).toEqual(['c0']);
    const kept = logged.filter((entry) => entry.message.startsWith('Chunk kept out of the snapshot'));
    expect(kept.map((entry) => entry.extra.chunkId)).toEqual([chunkId]);
  });

  it('counts a chunk without a filename in total_chunks and in no document, and takes it back on REMOVE', async () => {
    const { deps, stats, served } = world();
    const nameless: Record<string, unknown> = { ...item(20) };
    delete nameless.filename;

    const inserted = await syncStreamBatch(deps, [
      events.insert(item(0)),
      events.record('INSERT', { newImage: nameless }),
    ]);

    expect(inserted).toMatchObject({ failures: [], counted: 2, unusable: 1 });
    expect(stats.totals).toMatchObject({ chunks: 2, documents: 1 });
    expect([...stats.documents.keys()]).toEqual(['a.pdf']);
    expect(served()).toEqual(['c0']);

    const removed = await syncStreamBatch(deps, [events.record('REMOVE', { oldImage: nameless })]);

    expect(removed).toMatchObject({ failures: [], counted: 1 });
    expect(stats.totals).toMatchObject({ chunks: 1, documents: 1 });
  });
});

describe('where a stream record comes from', () => {
  const record = events.insert(item(0));
  const arn = 'arn:aws:dynamodb:eu-west-1:123456789012:table/VectorEmbeddings/stream/2026-01-01T00:00:00.000';

  it('reads the table of a stream ARN', () => {
    expect(tableOfStreamArn(arn)).toBe('VectorEmbeddings');
    expect(tableOfStreamArn('arn:aws:sqs:us-east-1:123456789012:ingestion')).toBeUndefined();
  });

  it('accepts the VectorEmbeddings stream and names what is wrong with any other source', () => {
    expect(foreignRecordReason({ ...record, eventSourceARN: arn }, 'VectorEmbeddings')).toBeUndefined();
    expect(foreignRecordReason({ ...record, eventSource: 'aws:sqs' }, 'VectorEmbeddings')).toMatch(
      /eventSource is "aws:sqs"/,
    );
    expect(
      foreignRecordReason(
        { ...record, eventSourceARN: arn.replace('VectorEmbeddings', 'BotDocuments') },
        'VectorEmbeddings',
      ),
    ).toMatch(/not a stream of table VectorEmbeddings/);
    expect(foreignRecordReason({ ...record, eventSourceARN: arn }, 'VectorEmbeddings-prod')).toMatch(
      /not a stream of table VectorEmbeddings-prod/,
    );
    const { SequenceNumber: _, ...unnumbered } = record.dynamodb ?? {};
    expect(foreignRecordReason({ ...record, dynamodb: unnumbered }, 'VectorEmbeddings')).toMatch(
      /SequenceNumber/,
    );
  });
});

describe('fuzzed stream records', () => {
  type Mutation = (record: DynamoDBRecord) => unknown;
  const image = (record: DynamoDBRecord) => record.dynamodb?.NewImage as Record<string, AttributeValue>;
  const mutations: Mutation[] = [
    (r) => ({ ...r, eventName: 'TRUNCATE' }),
    (r) => ({ ...r, dynamodb: undefined }),
    (r) => ({ ...r, dynamodb: { ...r.dynamodb, SequenceNumber: undefined } }),
    (r) => ({ ...r, dynamodb: { ...r.dynamodb, Keys: { bot_id: { N: '7' }, chunk_id: { S: 'x' } } } }),
    (r) => ({ ...r, dynamodb: { ...r.dynamodb, NewImage: undefined } }),
    (r) => ({ ...r, dynamodb: { ...r.dynamodb, NewImage: 'junk' } }),
    (r) => {
      image(r).embedding = { L: [{ N: 'Infinity' }, { N: '1' }, { N: '2' }, { N: '3' }] };
      return r;
    },
    (r) => {
      image(r).embedding = { L: [{ N: '1E+400' }, { N: '1' }, { N: '2' }, { N: '3' }] };
      return r;
    },
    (r) => {
      image(r).embedding = { S: 'not a vector' };
      return r;
    },
    (r) => {
      image(r).filename = { N: '12' };
      return r;
    },
    (r) => {
      delete image(r).text;
      return r;
    },
    (r) => {
      image(r).chunk_index = { S: 'first' };
      return r;
    },
    (r) => {
      image(r).metadata = { L: [] };
      return r;
    },
    (r) => {
      image(r).embedding = { L: Array.from({ length: 383 }, () => ({ N: '0.5' })) };
      return r;
    },
  ];

  it('never throws, never reports a record, accounts for each once and counts nothing twice', async () => {
    const seed = testSeed();
    console.log(`fuzzed stream records seed ${seed}`);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.nat(mutations.length - 1), { nil: undefined }), {
          minLength: 1,
          maxLength: 30,
        }),
        async (plan) => {
          const { deps, stats, served } = world();
          const fuzzEvents = new StreamEventFactory();
          const good: string[] = [];
          const batch = plan.map((mutation, i) => {
            const record = fuzzEvents.insert(item(i));
            if (mutation === undefined) {
              good.push(`c${i}`);
              return record;
            }
            return (mutations[mutation] as Mutation)(record) as DynamoDBRecord;
          });

          const first = await syncStreamBatch(deps, batch);
          const again = await syncStreamBatch(deps, batch);

          expect(first.failures).toEqual([]);
          expect(again.failures).toEqual([]);
          expect(first.counted + first.skipped).toBe(batch.length);
          expect(again.counted).toBe(0);
          expect(stats.totals.chunks).toBe(first.counted);
          expect(served()).toEqual(good.sort());
        },
      ),
      { seed, numRuns: 60 },
    );
  });
});
