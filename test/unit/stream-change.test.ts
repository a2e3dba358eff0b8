import { parseStreamRecord, snapshotChangeOf } from '../../src/contracts/stream-record';
import { ValidationError } from '../../src/errors';
import { chunkItem, embeddingFor, StreamEventFactory } from '../fixtures/stream-events';

describe('stream change parsing', () => {
  const events = new StreamEventFactory();

  it('reads keys, event, sequence number as BigInt and both images of a MODIFY', () => {
    const before = chunkItem('bot-1', 'a.pdf', 0, { dimension: 4 });
    const after = { ...chunkItem('bot-1', 'b.pdf', 0, { dimension: 4 }), chunk_id: before.chunk_id };
    const record = events.modify(before, after, '123456789012345678901234567890');

    const change = parseStreamRecord(record);

    expect(change).toMatchObject({
      eventName: 'MODIFY',
      botId: 'bot-1',
      chunkId: 'a.pdf#0',
      sequenceNumber: '123456789012345678901234567890',
      sequence: 123456789012345678901234567890n,
    });
    expect(change.oldImage?.filename).toBe('a.pdf');
    expect(change.newImage?.filename).toBe('b.pdf');
    expect(change.newImage?.fileSize).toBe(after.file_size);
    expect(change.eventId).toBe(record.eventID);
  });

  it('keeps a Binary embedding delivered as base64 decodable to the floats that were written', () => {
    const item = chunkItem('bot-1', 'a.pdf', 3, { dimension: 8, encoding: 'binary' });
    const change = parseStreamRecord(events.insert(item));

    expect(typeof change.newImage?.embedding).toBe('string');
    const { change: snapshot, invalid } = snapshotChangeOf(change, 8);
    expect(invalid).toBeUndefined();
    expect(snapshot.kind).toBe('upsert');
    if (snapshot.kind !== 'upsert') return;
    expect(Array.from(snapshot.embedding)).toEqual(embeddingFor(3 + 'a.pdf'.length * 1000, 8));
    expect(snapshot.row).toEqual({
      chunk_id: 'a.pdf#3',
      filename: 'a.pdf',
      chunk_index: 3,
      metadata: { source: 'a.pdf' },
      created_at: '2026-01-02T03:04:05.000Z',
    });
    expect(snapshot.text).toBe('chunk 3 of a.pdf');
  });

  it('decodes a List<Number> embedding the same way', () => {
    const item = chunkItem('bot-1', 'a.pdf', 1, { dimension: 5, encoding: 'list' });
    const { change, invalid } = snapshotChangeOf(parseStreamRecord(events.insert(item)), 5);
    expect(invalid).toBeUndefined();
    expect(change.kind === 'upsert' && Array.from(change.embedding)).toEqual(item.embedding);
  });

  it('turns a REMOVE into a snapshot deletion', () => {
    const item = chunkItem('bot-1', 'a.pdf', 1, { dimension: 5 });
    expect(snapshotChangeOf(parseStreamRecord(events.remove(item)), 5)).toEqual({
      change: { kind: 'delete', chunk_id: 'a.pdf#1' },
      invalid: undefined,
    });
  });

  it('deletes from the snapshot and names the field when the embedding has the wrong dimension', () => {
    const item = chunkItem('bot-1', 'a.pdf', 1, { dimension: 6 });
    const { change, invalid } = snapshotChangeOf(parseStreamRecord(events.insert(item)), 384);
    expect(change).toEqual({ kind: 'delete', chunk_id: 'a.pdf#1' });
    expect(invalid?.field).toBe('NewImage.embedding');
    expect(invalid?.message).toMatch(/6 dimensions.*384/);
  });

  it('deletes from the snapshot when the embedding is malformed binary', () => {
    const item = {
      ...chunkItem('bot-1', 'a.pdf', 1, { dimension: 4 }),
      embedding: new Uint8Array([1, 2, 3]),
    };
    const { change, invalid } = snapshotChangeOf(parseStreamRecord(events.insert(item)), 4);
    expect(change.kind).toBe('delete');
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(invalid?.message).toMatch(/3 bytes/);
  });

  it('rejects a record whose keys lack chunk_id, naming the keys', () => {
    const record = events.insert(chunkItem('bot-1', 'a.pdf', 0, { dimension: 4 }));
    if (record.dynamodb?.Keys !== undefined) delete record.dynamodb.Keys.chunk_id;
    expect(() => parseStreamRecord(record)).toThrow(expect.objectContaining({ field: 'dynamodb.Keys' }));
  });

  it('rejects an INSERT without a new image; takes an image without a filename as a chunk of no document', () => {
    const record = events.insert(chunkItem('bot-1', 'a.pdf', 0, { dimension: 4 }));
    if (record.dynamodb !== undefined) delete record.dynamodb.NewImage;
    expect(() => parseStreamRecord(record)).toThrow(expect.objectContaining({ field: 'dynamodb.NewImage' }));

    const nameless: Record<string, unknown> = { ...chunkItem('bot-1', 'a.pdf', 0, { dimension: 4 }) };
    delete nameless.filename;
    const noFilename = parseStreamRecord(events.record('INSERT', { newImage: nameless }));
    expect(noFilename.newImage?.filename).toBeUndefined();
    expect(snapshotChangeOf(noFilename, 4).invalid?.field).toBe('NewImage.filename');
  });

  it('rejects an unknown event name and a non-numeric sequence number', () => {
    const record = events.insert(chunkItem('bot-1', 'a.pdf', 0, { dimension: 4 }));
    expect(() => parseStreamRecord({ ...record, eventName: 'TRUNCATE' as 'INSERT' })).toThrow(
      ValidationError,
    );
    const badSequence = { ...record, dynamodb: { ...record.dynamodb, SequenceNumber: '12ab' } };
    expect(() => parseStreamRecord(badSequence)).toThrow(
      expect.objectContaining({ field: 'dynamodb.SequenceNumber' }),
    );
  });
});

describe('snapshot change of a metadata or expiry change', () => {
  const events = new StreamEventFactory();

  it.each(['binary', 'list'] as const)(
    'is a row change, with no vector, when only metadata and expiry moved (%s embedding)',
    (encoding) => {
      const before = chunkItem('bot-1', 'a.pdf', 2, { dimension: 4, encoding });
      const after = { ...before, metadata: { lang: 'fr' }, expires_at: 1_900_000_000 };
      const { change, invalid } = snapshotChangeOf(parseStreamRecord(events.modify(before, after)), 4);
      expect(invalid).toBeUndefined();
      expect(change).toEqual({
        kind: 'row',
        row: {
          chunk_id: before.chunk_id,
          filename: 'a.pdf',
          chunk_index: 2,
          metadata: { lang: 'fr' },
          created_at: before.created_at,
          expires_at: 1_900_000_000,
        },
      });
    },
  );

  it.each([
    ['the embedding', { embedding: embeddingFor(99, 4) }],
    ['the text', { text: 'other text' }],
    ['the chunk_index', { chunk_index: 3 }],
  ])('is a whole upsert when %s changed too', (_, changed) => {
    const before = chunkItem('bot-1', 'a.pdf', 2, { dimension: 4 });
    const after = { ...before, metadata: { lang: 'fr' }, ...changed };
    const { change } = snapshotChangeOf(parseStreamRecord(events.modify(before, after)), 4);
    expect(change.kind).toBe('upsert');
  });

  it('is a whole upsert when the old image could not be served (metadata not a map)', () => {
    const before = { ...chunkItem('bot-1', 'a.pdf', 2, { dimension: 4 }), metadata: 'oops' };
    const after = { ...before, metadata: { lang: 'fr' } };
    const { change } = snapshotChangeOf(parseStreamRecord(events.modify(before as never, after as never)), 4);
    expect(change.kind).toBe('upsert');
  });
});
