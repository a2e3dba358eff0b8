import { randomUUID } from 'node:crypto';
import type { CompiledFilter } from '../../src/domain/search-filter';
import type { StoredChunk } from '../../src/domain/types';
import { filterOf } from '../fixtures/filters';
import {
  bruteForceTopK,
  type ModeSearch,
  randomChunks,
  randomVector,
  readWholeBot,
  rng,
  type SearchWorld,
  searchIn,
  searchWorld,
} from '../fixtures/search-world';
import { SNAPSHOT_MODES } from '../fixtures/snapshot-modes';

jest.setTimeout(300_000);

const dimension = 384;
const chunkCount = 3000;
let world: SearchWorld;
let botId: string;
let stored: StoredChunk[];

/** Random queries, and queries near stored chunks (what real questions look like: a few close matches). */
function queries(count: number, seed: number): number[][] {
  const random = rng(seed);
  return Array.from({ length: count }, (_, i) => {
    if (i % 2 === 0) return randomVector(dimension, random);
    const near = stored[Math.floor(random() * stored.length)] as StoredChunk;
    return Array.from(near.embedding, (x) => x + (random() - 0.5) * 0.3);
  });
}

function expectSameAsBruteForce(
  results: { chunk_id: string; score: number }[],
  query: number[],
  limit: number,
  options: { filter?: CompiledFilter; scoreThreshold?: number } = {},
): void {
  const expected = bruteForceTopK(stored, query, limit, options);
  expect(results.map((hit) => hit.chunk_id)).toEqual(expected.map((hit) => hit.chunk_id));
  results.forEach((hit, i) => {
    expect(Math.abs(hit.score - (expected[i]?.score as number))).toBeLessThan(1e-5);
  });
}

beforeAll(async () => {
  // This suite runs beside others on a loaded 2-core machine, where the 1 s version check can time out and
  // send a search to DynamoDB: the outage behaviour, which search-redis-down.test.ts covers. Here the
  // snapshot path is under test, so the check gets longer.
  world = searchWorld({ encoding: 'binary', versionTimeoutMs: 10_000 });
  botId = `bot-${randomUUID()}`;
  await world.bots.putOwned(botId, 'owner', { embedding_dimension: dimension });
  await world.chunks.put(randomChunks(botId, chunkCount, dimension, rng(2026), { files: 40 }));
  // The reference: a full, consistent read of DynamoDB, scored in float64 by brute force.
  stored = await readWholeBot(world.chunks, botId);
});

afterAll(async () => {
  await world.close();
});

describe('search results equal the exact cosine top-k of DynamoDB', () => {
  it('holds every chunk written', () => {
    expect(stored).toHaveLength(chunkCount);
  });

  it('from the DynamoDB fallback, for several queries', async () => {
    for (const [i, query] of queries(4, 1).entries()) {
      await world.snapshots.drop(botId);
      world.cache.forget(botId);
      const limit = [10, 1, 100, 37][i] as number;
      const answer = await world.search(botId, query, { limit });
      expect(answer.source).toBe('dynamodb');
      expectSameAsBruteForce(answer.results, query, limit);
    }
  });

  it('from the DynamoDB fallback, with filters: k results whenever k chunks match', async () => {
    const filtered: { filter?: CompiledFilter; scoreThreshold?: number }[] = [
      { filter: filterOf({ metadata: { lang: 'de' } }) },
      { filter: filterOf({ filename: 'doc-5.txt' }), scoreThreshold: 0 },
    ];
    for (const [i, query] of queries(2, 11).entries()) {
      await world.snapshots.drop(botId);
      world.cache.forget(botId);
      const options = filtered[i] as { filter?: CompiledFilter; scoreThreshold?: number };
      const answer = await world.search(botId, query, { limit: 50, ...options });
      expect(answer.source).toBe('dynamodb');
      expectSameAsBruteForce(answer.results, query, 50, options);
    }
  });
});

describe.each(SNAPSHOT_MODES)(
  'search results from the %s snapshot equal the exact cosine top-k of DynamoDB',
  (name) => {
    let mode: ModeSearch;
    beforeAll(() => {
      mode = searchIn(world, name);
    });

    it('for 300 queries and limits from 1 to 100', async () => {
      await mode.search(botId, randomVector(dimension, rng(5)), { limit: 1 });
      for (const [i, query] of queries(300, 2).entries()) {
        const limit = i % 3 === 0 ? 10 : 1 + ((i * 7) % 100);
        const answer = await mode.search(botId, query, { limit });
        expect(answer.source).toBe('snapshot');
        expectSameAsBruteForce(answer.results, query, limit);
      }
    });

    it('with filters and thresholds', async () => {
      const random = rng(9);
      const filters: { filter?: CompiledFilter; scoreThreshold?: number }[] = [
        { filter: filterOf({ filename: 'doc-7.txt' }) },
        { filter: filterOf({ filename: ['doc-1.txt', 'doc-2.txt', 'doc-39.txt'] }) },
        { filter: filterOf({ metadata: { lang: 'de' } }) },
        { filter: filterOf({ metadata: { lang: 'en' } }) },
        { filter: filterOf({ filename: 'doc-3.txt', metadata: { part: 3 } }) },
        { scoreThreshold: 0.1 },
        { scoreThreshold: 0.9 },
      ];
      for (const [i, query] of queries(60, 3).entries()) {
        const options = filters[i % filters.length] as { filter?: CompiledFilter; scoreThreshold?: number };
        const limit = 1 + Math.floor(random() * 20);
        const answer = await mode.search(botId, query, { limit, ...options });
        // The warnings say why, if a search left the snapshot.
        expect({ source: answer.source, warnings: mode.logger.warnings }).toEqual({
          source: 'snapshot',
          warnings: [],
        });
        expectSameAsBruteForce(answer.results, query, limit, options);
      }
    });
  },
);
