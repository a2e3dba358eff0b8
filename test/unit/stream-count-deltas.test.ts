import { computeCountDeltas, type DocumentState, splitByActionLimit } from '../../src/domain/count-deltas';
import { planCountsWrites } from '../../src/domain/counts-plan';
import { parseStreamRecord, type StreamChange } from '../../src/domain/stream-change';
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
  it('fits the bot, its documents and one claim per record into 100 actions', () => {
    const changes = Array.from({ length: 100 }, (_, i) => insert(item('a.pdf', i)));
    // 1 bot + 1 document + 98 claims = 100.
    expect(splitByActionLimit(changes).map((run) => run.length)).toEqual([98, 2]);
  });

  it('cuts before the record that would take a run past the action limit', () => {
    const changes = Array.from({ length: 250 }, (_, i) => insert(item(`doc-${i}.pdf`, 0)));
    // 1 bot + 49 documents + 49 claims = 99; a 50th record would need two more.
    expect(splitByActionLimit(changes).map((run) => run.length)).toEqual([49, 49, 49, 49, 49, 5]);
  });

  it('never separates the two documents of a moving MODIFY', () => {
    const first = Array.from({ length: 49 }, (_, i) => insert(item(`doc-${i}.pdf`, 0)));
    const a = item('x.pdf', 0);
    const runs = splitByActionLimit([...first, modify(a, { ...a, filename: 'y.pdf' })]);
    expect(runs.map((run) => run.length)).toEqual([49, 1]);
  });
});

describe('planning counts writes', () => {
  it('claims every record and moves the totals by deltas, documents conditioned on the count read', () => {
    const changes = [insert(item('b.pdf', 0)), remove(item('a.pdf', 0))];
    const plan = planCountsWrites(changes, docs({ 'a.pdf': 3 }), { now: NOW, bumpSnapshotEpoch: true });
    expect(plan.writes).toEqual([
      {
        claims: changes.map((change) => change.eventId),
        totalChunksDelta: 0,
        totalDocumentsDelta: 1,
        documents: [
          {
            filename: 'b.pdf',
            expectedCount: 0,
            chunkCount: 1,
            fileSize: expect.any(Number),
            createdAt: '2026-01-02T03:04:05.000Z',
          },
          { filename: 'a.pdf', expectedCount: 3, chunkCount: 2, fileSize: 10, createdAt: 'then' },
        ],
        bumpSnapshotEpoch: true,
        updatedAt: NOW,
      },
    ]);
  });

  it('chains split writes: each expects the documents the previous one leaves, only the first bumps the epoch', () => {
    const changes = Array.from({ length: 5 }, (_, i) => insert(item('a.pdf', i)));
    const plan = planCountsWrites(changes, new Map(), { now: NOW, bumpSnapshotEpoch: true, maxActions: 4 });
    expect(
      plan.writes.map((w) => [
        w.claims.length,
        w.totalChunksDelta,
        w.totalDocumentsDelta,
        w.documents.map((d) => [d.expectedCount, d.chunkCount]),
        w.bumpSnapshotEpoch,
      ]),
    ).toEqual([
      [2, 2, 1, [[0, 2]], true],
      [2, 2, 0, [[2, 4]], false],
      [1, 1, 0, [[4, 5]], false],
    ]);
  });

  it('leaves out documents that start and end the batch empty', () => {
    const temporary = item('tmp.pdf', 0);
    const plan = planCountsWrites([insert(temporary), remove(temporary)], new Map(), {
      now: NOW,
      bumpSnapshotEpoch: false,
    });
    expect(plan.writes[0]?.documents).toEqual([]);
    expect(plan.writes[0]).toMatchObject({ totalChunksDelta: 0, totalDocumentsDelta: 0 });
    expect(plan.writes[0]?.claims).toHaveLength(2);
  });
});
