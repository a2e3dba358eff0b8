import { computeCountDeltas, type DocumentState, splitByDocumentLimit } from '../../src/domain/count-deltas';
import { planCountsWrites } from '../../src/domain/counts-plan';
import { parseStreamRecord, type StreamChange } from '../../src/domain/stream-change';
import type { BotCountsState } from '../../src/ports';
import { type ChunkItem, chunkItem, StreamEventFactory } from '../fixtures/stream-events';

const NOW = '2026-03-03T00:00:00.000Z';
const events = new StreamEventFactory();
const item = (filename: string, index: number, extra: Partial<ChunkItem> = {}): ChunkItem => ({
  ...chunkItem('bot-1', filename, index, { dimension: 4 }),
  ...extra,
});
const insert = (i: ChunkItem): StreamChange => parseStreamRecord(events.insert(i));
const remove = (i: ChunkItem): StreamChange => parseStreamRecord(events.remove(i));
const modify = (a: ChunkItem, b: ChunkItem): StreamChange => parseStreamRecord(events.modify(a, b));
const docs = (entries: Record<string, number>): Map<string, DocumentState> =>
  new Map(
    Object.entries(entries).map(([name, count]) => [
      name,
      { chunkCount: count, fileSize: 10, createdAt: 'then' },
    ]),
  );

describe('count deltas', () => {
  it('counts an INSERT into a new document as one chunk and one document', () => {
    const result = computeCountDeltas([insert(item('a.pdf', 0, { file_size: 777 }))], new Map(), NOW);
    expect(result.totalChunksDelta).toBe(1);
    expect(result.totalDocumentsDelta).toBe(1);
    expect(result.documents).toEqual([
      { filename: 'a.pdf', before: 0, after: 1, fileSize: 777, createdAt: '2026-01-02T03:04:05.000Z' },
    ]);
  });

  it('adds to an existing document without adding a document', () => {
    const result = computeCountDeltas([insert(item('a.pdf', 5))], docs({ 'a.pdf': 5 }), NOW);
    expect(result).toMatchObject({ totalChunksDelta: 1, totalDocumentsDelta: 0 });
    expect(result.documents[0]).toMatchObject({ before: 5, after: 6, createdAt: 'then' });
  });

  it('changes nothing for a MODIFY that overwrites a chunk in place', () => {
    const a = item('a.pdf', 0);
    const result = computeCountDeltas([modify(a, { ...a, text: 'new text' })], docs({ 'a.pdf': 3 }), NOW);
    expect(result).toMatchObject({ totalChunksDelta: 0, totalDocumentsDelta: 0 });
    expect(result.documents[0]).toMatchObject({ before: 3, after: 3 });
  });

  it('moves one chunk between documents for a MODIFY that changes the filename', () => {
    const a = item('a.pdf', 0);
    const moved = { ...a, filename: 'b.pdf' };
    const result = computeCountDeltas([modify(a, moved)], docs({ 'a.pdf': 2 }), NOW);
    expect(result).toMatchObject({ totalChunksDelta: 0, totalDocumentsDelta: 1 });
    expect(result.documents.map((d) => [d.filename, d.before, d.after])).toEqual([
      ['a.pdf', 2, 1],
      ['b.pdf', 0, 1],
    ]);
  });

  it('removes a document when a REMOVE or a move takes its last chunk', () => {
    const a = item('a.pdf', 0);
    const b = item('b.pdf', 0);
    const result = computeCountDeltas(
      [remove(a), modify(b, { ...b, filename: 'c.pdf' })],
      docs({ 'a.pdf': 1, 'b.pdf': 1 }),
      NOW,
    );
    expect(result).toMatchObject({ totalChunksDelta: -1, totalDocumentsDelta: -1 });
    expect(result.documents.map((d) => [d.filename, d.after])).toEqual([
      ['a.pdf', 0],
      ['b.pdf', 0],
      ['c.pdf', 1],
    ]);
  });

  it('gives a document that disappears and comes back in one batch the new created_at', () => {
    const old = item('a.pdf', 0);
    const replacement = item('a.pdf', 0, { created_at: '2026-02-02T00:00:00.000Z', file_size: 99 });
    const result = computeCountDeltas([remove(old), insert(replacement)], docs({ 'a.pdf': 1 }), NOW);
    expect(result.documents).toEqual([
      { filename: 'a.pdf', before: 1, after: 1, fileSize: 99, createdAt: '2026-02-02T00:00:00.000Z' },
    ]);
    expect(result).toMatchObject({ totalChunksDelta: 0, totalDocumentsDelta: 0 });
  });

  it('stops at zero and reports drift when a REMOVE names a chunk that was never counted', () => {
    const result = computeCountDeltas([remove(item('ghost.pdf', 0))], new Map(), NOW);
    expect(result).toMatchObject({ totalChunksDelta: 0, totalDocumentsDelta: 0, belowZero: ['ghost.pdf'] });
    expect(result.documents[0]?.after).toBe(0);
  });
});

describe('splitting counts into transactions', () => {
  it('keeps a batch of 100 records of one document in one run', () => {
    const changes = Array.from({ length: 100 }, (_, i) => insert(item('a.pdf', i)));
    expect(splitByDocumentLimit(changes).map((run) => run.length)).toEqual([100]);
  });

  it('cuts before the record that would take a run past the document limit', () => {
    const changes = Array.from({ length: 250 }, (_, i) => insert(item(`doc-${i}.pdf`, 0)));
    expect(splitByDocumentLimit(changes).map((run) => run.length)).toEqual([99, 99, 52]);
  });

  it('never separates the two documents of a moving MODIFY', () => {
    const first = Array.from({ length: 98 }, (_, i) => insert(item(`doc-${i}.pdf`, 0)));
    const a = item('x.pdf', 0);
    const runs = splitByDocumentLimit([...first, modify(a, { ...a, filename: 'y.pdf' })]);
    expect(runs.map((run) => run.length)).toEqual([98, 1]);
  });
});

describe('planning counts writes', () => {
  const state: BotCountsState = {
    exists: true,
    watermark: '100',
    snapshotEpoch: 0,
    embeddingDimension: 4,
    totalChunks: 3,
    totalDocuments: 1,
  };

  it('writes absolute totals conditioned on the watermark read, ending at the last record', () => {
    const changes = [insert(item('b.pdf', 0)), remove(item('a.pdf', 0))];
    const plan = planCountsWrites(state, changes, docs({ 'a.pdf': 3 }), {
      now: NOW,
      bumpSnapshotEpoch: true,
    });
    expect(plan.writes).toEqual([
      {
        expectedWatermark: '100',
        watermark: changes[1]?.sequenceNumber,
        totalChunks: 3,
        totalDocuments: 2,
        documents: [
          {
            filename: 'b.pdf',
            chunkCount: 1,
            fileSize: expect.any(Number),
            createdAt: '2026-01-02T03:04:05.000Z',
          },
          { filename: 'a.pdf', chunkCount: 2, fileSize: 10, createdAt: 'then' },
        ],
        bumpSnapshotEpoch: true,
        updatedAt: NOW,
      },
    ]);
  });

  it('chains split writes: each expects the watermark the previous one leaves, only the first bumps the epoch', () => {
    const changes = Array.from({ length: 5 }, (_, i) => insert(item(`doc-${i}.pdf`, 0)));
    const plan = planCountsWrites(
      { ...state, watermark: undefined, totalChunks: 0, totalDocuments: 0 },
      changes,
      new Map(),
      {
        now: NOW,
        bumpSnapshotEpoch: true,
        maxDocuments: 2,
      },
    );
    expect(
      plan.writes.map((w) => [w.expectedWatermark, w.watermark, w.totalChunks, w.bumpSnapshotEpoch]),
    ).toEqual([
      [undefined, changes[1]?.sequenceNumber, 2, true],
      [changes[1]?.sequenceNumber, changes[3]?.sequenceNumber, 4, false],
      [changes[3]?.sequenceNumber, changes[4]?.sequenceNumber, 5, false],
    ]);
  });

  it('leaves out documents that start and end the batch empty', () => {
    const temporary = item('tmp.pdf', 0);
    const plan = planCountsWrites(state, [insert(temporary), remove(temporary)], new Map(), {
      now: NOW,
      bumpSnapshotEpoch: false,
    });
    expect(plan.writes[0]?.documents).toEqual([]);
    expect(plan.writes[0]).toMatchObject({ totalChunks: 3, totalDocuments: 1 });
  });
});
