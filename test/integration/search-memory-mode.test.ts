import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ScoreBuffer } from '../../src/domain/ranking/scoring';
import type { CompiledFilter } from '../../src/domain/search-filter';
import type { StoredChunk } from '../../src/domain/types';
import type { Snapshot } from '../../src/snapshot';
import { makeSearch, type SearchOptions, type SearchResult } from '../../src/use-cases/search';
import { filterOf } from '../fixtures/filters';
import {
  chunkStore,
  config,
  container,
  DIM,
  documents,
  registerBot,
  registry,
  startRunner,
  threeShardView,
  useMemoryWorld,
} from '../fixtures/memory-world';
import {
  bruteForceTopK,
  CapturingLogger,
  randomChunks,
  randomVector,
  readWholeBot,
  rng,
} from '../fixtures/search-world';

/**
 * The memory snapshot mode end to end: real writes to DynamoDB Local, the stream handler (SNAPSHOT_MODE=
 * memory) fed from the table's stream by the local stream runner, and search containers holding the bot
 * in process, checked against its data_version.
 */
useMemoryWorld();

/** The DynamoDB fallback (no snapshot store): the exact answer search gives without any snapshot. */
const fromTable = () =>
  makeSearch({
    bots: registry,
    chunks: chunkStore,
    snapshots: null,
    cache: null,
    scores: new ScoreBuffer(),
    logger: new CapturingLogger(),
  });

const dataVersion = async (botId: string): Promise<number> => {
  const { Item } = await documents.send(
    new GetCommand({ TableName: config.tables.botCollections, Key: { bot_id: botId }, ConsistentRead: true }),
  );
  return Number(Item?.data_version ?? 0);
};

const ranked = (answer: SearchResult) =>
  answer.results.map((hit) => [hit.chunk_id, hit.score.toFixed(5), hit.text]);

/** The snapshot's content by chunk id: row, text and vector, whatever the row order. */
function contentOf(snapshot: Snapshot | null): Map<string, string> {
  const content = new Map<string, string>();
  if (snapshot === null) return content;
  for (const [index, row] of snapshot.rows.entries()) {
    const vector = snapshot.vectors.subarray(index * snapshot.dimension, (index + 1) * snapshot.dimension);
    content.set(row.chunk_id, JSON.stringify([row, snapshot.texts?.[index], [...vector]]));
  }
  return content;
}

async function expectExact(
  botId: string,
  answer: SearchResult,
  query: number[],
  limit: number,
  filter?: CompiledFilter,
) {
  const all: StoredChunk[] = await readWholeBot(chunkStore, botId);
  const expected = bruteForceTopK(all, query, limit, filter === undefined ? {} : { filter });
  expect(answer.results.map((hit) => hit.chunk_id)).toEqual(expected.map((hit) => hit.chunk_id));
  for (const [i, hit] of answer.results.entries())
    expect(hit.score).toBeCloseTo(expected[i]?.score ?? NaN, 5);
}

describe('search in memory mode', () => {
  it('answers exactly, as the DynamoDB read does, for vector, filtered, grouped, keyword and hybrid queries', async () => {
    const runner = await startRunner();
    try {
      const botId = await registerBot();
      const random = rng(21);
      const chunks = randomChunks(botId, 300, DIM, random, { files: 12 });
      await chunkStore.put(chunks);
      await runner.drain(30_000);
      expect(await dataVersion(botId)).toBeGreaterThan(0);

      const one = container();
      const table = fromTable();
      const cases: SearchOptions[] = [
        { limit: 10 },
        { limit: 25, filter: filterOf({ metadata: { lang: 'de' } }) },
        { limit: 5, filter: filterOf({ filename: ['doc-1.txt', 'doc-4.txt'] }), scoreThreshold: 0 },
        { limit: 4, groupBy: { field: 'filename', groupSize: 2 } },
        { limit: 8, queryText: 'chunk 17' },
      ];
      for (const [i, options] of cases.entries()) {
        const query = randomVector(DIM, random);
        const vector = options.queryText === undefined || i % 2 === 0 ? query : undefined;
        const answer = await one.search(botId, vector, options);
        expect(answer.source).toBe('snapshot');
        const expected = await table(botId, vector, options);
        expect(ranked(answer)).toEqual(ranked(expected));
        expect(answer.groups?.map((group) => group.id)).toEqual(expected.groups?.map((group) => group.id));
        if (options.groupBy === undefined && options.queryText === undefined) {
          await expectExact(botId, answer, query, options.limit, options.filter);
        }
      }
      // Hybrid: a vector and query text together.
      const query = randomVector(DIM, random);
      const hybrid = await one.search(botId, query, { limit: 10, queryText: 'text chunk 42' });
      expect(ranked(hybrid)).toEqual(
        ranked(await table(botId, query, { limit: 10, queryText: 'text chunk 42' })),
      );
      // Loaded once, in parallel ranges; every later search answered from the held copy.
      expect(one.reads.rangeQueries).toBe(8);
    } finally {
      await runner.stop();
    }
  });

  it('never answers from a copy behind the bot version, and catches up by reading only the changed chunks', async () => {
    const runner = await startRunner();
    try {
      const botId = await registerBot();
      const random = rng(5);
      const chunks = randomChunks(botId, 200, DIM, random, { files: 5 });
      await chunkStore.put(chunks);
      await runner.drain(30_000);
      const warm = container();
      await warm.search(botId, randomVector(DIM, random), { limit: 3 });
      const before = { ...warm.reads };
      const versionBefore = await dataVersion(botId);

      // Inserts, overwrites (new vector, new text, new metadata only) and deletes.
      const fresh = randomChunks(botId, 20, DIM, random, { files: 2, prefix: 'new' });
      await chunkStore.put(fresh);
      await chunkStore.put(
        chunks.slice(0, 10).map((c) => ({
          ...c,
          embedding: Float32Array.from(randomVector(DIM, random)),
          text: `${c.text} v2`,
        })),
      );
      await chunkStore.put(
        chunks.slice(10, 15).map((c) => ({ ...c, metadata: { ...c.metadata, lang: 'fr' } })),
      );
      await chunkStore.delete(
        botId,
        chunks.slice(15, 30).map((c) => c.chunk_id),
      );
      await runner.drain(30_000);
      expect(await dataVersion(botId)).toBeGreaterThan(versionBefore);

      // The held copy is behind: the search must see the newest chunk, searched by its own vector.
      const target = fresh[7] as StoredChunk;
      const answer = await warm.search(botId, [...target.embedding], { limit: 1 });
      expect(answer.results.map((hit) => hit.chunk_id)).toEqual([target.chunk_id]);
      // Caught up from the change log: no whole read, only the 50 changed chunks re-read.
      expect(warm.reads.rangeQueries).toBe(before.rangeQueries);
      expect(warm.reads.changeLogReads).toBe(before.changeLogReads + 1);
      expect(warm.reads.chunksByKey - before.chunksByKey).toBe(50);

      // A second container reads the bot whole: both hold the same content at the same version.
      const cold = container();
      const query = randomVector(DIM, random);
      const fromCold = await cold.search(botId, query, {
        limit: 20,
        filter: filterOf({ metadata: { lang: 'fr' } }),
      });
      const fromWarm = await warm.search(botId, query, {
        limit: 20,
        filter: filterOf({ metadata: { lang: 'fr' } }),
      });
      expect(ranked(fromWarm)).toEqual(ranked(fromCold));
      expect(fromWarm.results).toHaveLength(5);
      expect(warm.held(botId)?.version).toBe(String(await dataVersion(botId)));
      expect(cold.held(botId)?.version).toBe(warm.held(botId)?.version);
      expect(contentOf(warm.held(botId))).toEqual(contentOf(cold.held(botId)));
      await expectExact(botId, await warm.search(botId, query, { limit: 30 }), query, 30);
    } finally {
      await runner.stop();
    }
  });

  it('reads the bot whole when the change log of a version is gone', async () => {
    const runner = await startRunner();
    try {
      const botId = await registerBot();
      const random = rng(8);
      await chunkStore.put(randomChunks(botId, 50, DIM, random));
      await runner.drain(30_000);
      const one = container();
      await one.search(botId, randomVector(DIM, random), { limit: 3 });
      const added = randomChunks(botId, 3, DIM, random, { prefix: 'late' });
      await chunkStore.put(added);
      await runner.drain(30_000);
      // The log item of the newest version expired (TTL removes it).
      await documents.send(
        new DeleteCommand({
          TableName: config.tables.streamClaims,
          Key: { claim_id: `${botId}#v${await dataVersion(botId)}` },
        }),
      );
      const rangesBefore = one.reads.rangeQueries;

      const answer = await one.search(botId, [...(added[1] as StoredChunk).embedding], { limit: 1 });

      expect(answer.results[0]?.chunk_id).toBe((added[1] as StoredChunk).chunk_id);
      expect(one.reads.rangeQueries).toBe(rangesBefore + 8);
    } finally {
      await runner.stop();
    }
  });

  it('answers exactly for a bot larger than the container budget, keeping nothing', async () => {
    const runner = await startRunner();
    try {
      const botId = await registerBot();
      const random = rng(13);
      await chunkStore.put(randomChunks(botId, 120, DIM, random));
      await runner.drain(30_000);
      const small = container({ maxBytes: 1024 });
      const query = randomVector(DIM, random);

      const answer = await small.search(botId, query, { limit: 7 });

      await expectExact(botId, answer, query, 7);
      expect(small.cache.bytes).toBe(0);
    } finally {
      await runner.stop();
    }
  });

  it('records every version once when one bot is counted on three shards at once, and containers agree', async () => {
    const runner = await startRunner(threeShardView());
    try {
      const botId = await registerBot();
      const random = rng(34);
      const first = randomChunks(botId, 90, DIM, random, { files: 6 });
      await chunkStore.put(first);
      await runner.drain(30_000);
      const early = container();
      await early.search(botId, randomVector(DIM, random), { limit: 1 });
      const later = randomChunks(botId, 60, DIM, random, { files: 3, prefix: 'later' });
      await chunkStore.put(later);
      await chunkStore.delete(
        botId,
        first.slice(0, 20).map((c) => c.chunk_id),
      );
      await runner.drain(30_000);

      const version = await dataVersion(botId);
      const logged = new Set<string>();
      for (let v = 1; v <= version; v++) {
        const { Item } = await documents.send(
          new GetCommand({
            TableName: config.tables.streamClaims,
            Key: { claim_id: `${botId}#v${v}` },
            ConsistentRead: true,
          }),
        );
        expect([v, Item?.chunk_ids instanceof Set]).toEqual([v, true]);
        for (const id of (Item?.chunk_ids ?? new Set()) as Set<string>) logged.add(id);
      }
      expect(logged).toEqual(new Set([...first, ...later].map((c) => c.chunk_id)));
      const query = randomVector(DIM, random);
      const fromEarly = await early.search(botId, query, { limit: 40 });
      const fromFresh = await container().search(botId, query, { limit: 40 });
      expect(ranked(fromEarly)).toEqual(ranked(fromFresh));
      await expectExact(botId, fromEarly, query, 40);
    } finally {
      await runner.stop();
    }
  });
});
