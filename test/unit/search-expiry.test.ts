import fc from 'fast-check';
import { parseExpiresAt } from '../../src/domain/expiry';
import { ScoreBuffer } from '../../src/domain/ranking/scoring';
import type { StoredChunk } from '../../src/domain/types';
import { ValidationError } from '../../src/errors';
import { SnapshotCache } from '../../src/snapshot';
import { makeSearch } from '../../src/use-cases/search';
import { FakeBotRegistry, FakeChunkStore } from '../fixtures/fake-ports';
import { FakeSnapshotStore } from '../fixtures/fake-stream-ports';
import { filterOf } from '../fixtures/filters';

/** Expiry in makeSearch over plain fakes of its ports, with a clock the test moves. */
const BOT = 'bot-1';
const QUERY = [1, 0, 0, 0];
const T0 = Date.UTC(2030, 0, 1);

/** c0 ranks first, c4 last; c0 and c1 expire one second after T0. */
function chunk(n: number): StoredChunk {
  return {
    bot_id: BOT,
    chunk_id: `c${n}`,
    embedding: new Float32Array([1, n * 0.5, 0.25, 0]),
    text: `text of c${n}`,
    filename: n < 2 ? 'memory.md' : 'kept.md',
    file_size: 10,
    chunk_index: n,
    created_at: '2026-01-01T00:00:00.000Z',
    metadata: { n },
    ...(n < 2 ? { expires_at: T0 / 1000 + 1 } : {}),
  };
}

async function world() {
  const bots = new FakeBotRegistry(4);
  bots.add(BOT);
  const chunks = new FakeChunkStore();
  await chunks.put(Array.from({ length: 5 }, (_, n) => chunk(n)));
  const snapshots = new FakeSnapshotStore();
  const clock = { now: T0 };
  const search = makeSearch({
    bots,
    chunks,
    snapshots,
    cache: new SnapshotCache(snapshots),
    scores: new ScoreBuffer(),
    logger: { warn: () => {}, info: () => {} },
    now: () => new Date(clock.now),
  });
  return { search, clock };
}

const idsOf = (result: { results: { chunk_id: string }[] }) => result.results.map((hit) => hit.chunk_id);

describe('search and expiry', () => {
  it('returns a chunk until the second it expires and never after, from DynamoDB and the snapshot', async () => {
    const { search, clock } = await world();
    const cold = await search(BOT, QUERY, { limit: 3 });
    expect(cold.source).toBe('dynamodb');
    expect(idsOf(cold)).toEqual(['c0', 'c1', 'c2']);

    clock.now = T0 + 1000;
    const warm = await search(BOT, QUERY, { limit: 3 });
    expect(warm.source).toBe('snapshot');
    expect(idsOf(warm)).toEqual(['c2', 'c3', 'c4']);
    const filtered = await search(BOT, QUERY, { limit: 3, filter: filterOf({ metadata: { n: 1 } }) });
    expect(idsOf(filtered)).toEqual([]);
    const hybrid = await search(BOT, QUERY, { limit: 5, queryText: 'text' });
    expect(idsOf(hybrid).sort()).toEqual(['c2', 'c3', 'c4']);
  });
});

describe('parseExpiresAt', () => {
  it('takes epoch seconds as they are and timestamps cut to their second', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 253_402_300_799 }), (seconds) => {
        expect(parseExpiresAt(seconds)).toBe(seconds);
        expect(parseExpiresAt(new Date(seconds * 1000 + 999).toISOString())).toBe(seconds);
      }),
    );
  });

  it.each([0, -1, 1.5, Number.NaN, 253_402_300_800, '', 'soon', '06.03.2030', '2030-02-30T00:00:00Z'])(
    'refuses %p naming expires_at',
    (value) => {
      expect(() => parseExpiresAt(value)).toThrow(ValidationError);
      try {
        parseExpiresAt(value);
      } catch (error) {
        expect((error as ValidationError).field).toBe('expires_at');
      }
    },
  );
});
