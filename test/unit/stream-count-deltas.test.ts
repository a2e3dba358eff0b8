import { parseStreamRecord } from '../../src/contracts/stream-record';
import { computeCountDeltas, type DocumentState, splitByActionLimit } from '../../src/domain/count-deltas';
import { planCountsWrites } from '../../src/domain/counts-plan';
import type { StreamChange } from '../../src/domain/stream-change';
import { MAX_CLAIMS_PER_GROUP } from '../../src/domain/stream-claims';
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
/** An INSERT created at another second than the factory's (so in another claim item). */
const insertAt = (i: ChunkItem, second: number): StreamChange => {
  const record = events.insert(i);
  return parseStreamRecord({
    ...record,
    dynamodb: { ...record.dynamodb, ApproximateCreationDateTime: second },
  });
};
/** The claim item of the factory's records: they are all created at the same second. */
const SECOND_BUCKET = 's1767225600';
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
  it('fits 100 records of one document created in one second into one write: bot, document, claim item', () => {
    const changes = Array.from({ length: 100 }, (_, i) => insert(item('a.pdf', i)));
    expect(splitByActionLimit(changes).map((run) => run.length)).toEqual([100]);
  });

  it('adds at most MAX_CLAIMS_PER_GROUP records to one claim item per write', () => {
    const changes = Array.from({ length: 150 }, (_, i) => insert(item('a.pdf', i)));
    expect(splitByActionLimit(changes).map((run) => run.length)).toEqual([MAX_CLAIMS_PER_GROUP, 50]);
  });

  it('cuts before the record that would take a run past the action limit', () => {
    const changes = Array.from({ length: 250 }, (_, i) => insert(item(`doc-${i}.pdf`, 0)));
    // 1 bot + 98 documents + 1 claim item = 100; a 99th document would be one more.
    expect(splitByActionLimit(changes).map((run) => run.length)).toEqual([98, 98, 54]);
  });

  it('counts one action per claim item: records of different seconds take one each', () => {
    const changes = Array.from({ length: 60 }, (_, i) => insertAt(item('a.pdf', i), 1_767_225_600 + i));
    // 1 bot + 1 document + 60 claim items.
    expect(splitByActionLimit(changes).map((run) => run.length)).toEqual([60]);
    expect(splitByActionLimit(changes, 40).map((run) => run.length)).toEqual([38, 22]);
  });

  it('never separates the two documents of a moving MODIFY', () => {
    const first = Array.from({ length: 97 }, (_, i) => insert(item(`doc-${i}.pdf`, 0)));
    const a = item('x.pdf', 0);
    const runs = splitByActionLimit([...first, modify(a, { ...a, filename: 'y.pdf' })]);
    expect(runs.map((run) => run.length)).toEqual([97, 1]);
  });
});

describe('planning counts writes', () => {
  it('claims every record and moves the totals by deltas, documents conditioned on the count read', () => {
    const changes = [insert(item('b.pdf', 0)), remove(item('a.pdf', 0))];
    const plan = planCountsWrites(changes, docs({ 'a.pdf': 3 }), { now: NOW, bumpSnapshotEpoch: true });
    expect(plan.writes).toEqual([
      {
        claims: changes.map((change) => change.eventId),
        claimGroups: [{ bucket: SECOND_BUCKET, eventIds: changes.map((change) => change.eventId) }],
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
        chunkIds: changes.map((change) => change.chunkId),
        dataVersion: 1,
      },
    ]);
  });

  it('chains split writes: each expects the documents the previous one leaves, only the first bumps the epoch', () => {
    const changes = Array.from({ length: 5 }, (_, i) => insertAt(item('a.pdf', i), 1_767_225_600 + i));
    const plan = planCountsWrites(changes, new Map(), {
      now: NOW,
      bumpSnapshotEpoch: true,
      dataVersion: 7,
      maxActions: 4,
    });
    expect(plan.writes.map((w) => w.dataVersion)).toEqual([8, 9, 10]);
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

  it('puts at most MAX_CLAIMS_PER_GROUP records of one claim item in one write', () => {
    const changes = Array.from({ length: 150 }, (_, i) => insert(item('a.pdf', i)));
    const plan = planCountsWrites(changes, new Map(), { now: NOW, bumpSnapshotEpoch: false });
    expect(plan.writes.map((w) => w.claimGroups.map((g) => [g.bucket, g.eventIds.length]))).toEqual([
      [[SECOND_BUCKET, MAX_CLAIMS_PER_GROUP]],
      [[SECOND_BUCKET, 50]],
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
