import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../../src/config';
import type { CompiledFilter } from '../../src/domain/search-filter';
import type { SearchHit, StoredChunk } from '../../src/domain/types';
import { DEFAULT_ID_BUCKETS, hashKeys, snapshotKeys } from '../../src/snapshot/redis/keys';
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

const dimension = 32;
let world: SearchWorld;

beforeAll(() => {
  world = searchWorld();
});
afterAll(async () => {
  await world.close();
});

async function botWithChunks(count: number, seed: number): Promise<string> {
  const botId = `bot-${randomUUID()}`;
  await world.bots.putOwned(botId, 'owner', { embedding_dimension: dimension });
  await world.chunks.put(randomChunks(botId, count, dimension, rng(seed)));
  return botId;
}

function ids(hits: SearchHit[]): string[] {
  return hits.map((hit) => hit.chunk_id);
}

describe('search sources', () => {
  it('answers from DynamoDB while the snapshot is missing, rebuilds it, then answers from it', async () => {
    const botId = await botWithChunks(300, 1);
    const query = randomVector(dimension, rng(100));
    const expected = bruteForceTopK(await readWholeBot(world.chunks, botId), query, 10);

    const first = await world.search(botId, query, { limit: 10 });
    const second = await world.search(botId, query, { limit: 10 });

    expect(first.source).toBe('dynamodb');
    expect(second.source).toBe('snapshot');
    expect(ids(first.results)).toEqual(expected.map((hit) => hit.chunk_id));
    expect(ids(second.results)).toEqual(ids(first.results));
    second.results.forEach((hit, i) => {
      expect(hit.score).toBeCloseTo(expected[i]?.score as number, 5);
      expect(hit.text).toBe(first.results[i]?.text);
      expect(hit.metadata).toEqual(first.results[i]?.metadata);
    });
    expect(second.results[0]?.text).toMatch(/^text of chunk \d+ of /);
  });

  it('returns the result shape of the design plus chunk_id, with the chunk metadata merged in', async () => {
    const botId = await botWithChunks(20, 2);
    const stored = await readWholeBot(world.chunks, botId);
    const target = stored[7];
    if (target === undefined) throw new Error('no chunk 7');
    for (const source of ['dynamodb', 'snapshot']) {
      const { results, source: answered } = await world.search(botId, Array.from(target.embedding), {
        limit: 1,
      });
      expect(answered).toBe(source);
      expect(results).toEqual([
        {
          chunk_id: target.chunk_id,
          text: target.text,
          score: expect.closeTo(1, 5),
          metadata: { filename: target.filename, chunk_index: target.chunk_index, ...target.metadata },
        },
      ]);
    }
  });

  it('lets many searches that miss together rebuild the snapshot only once', async () => {
    const botId = await botWithChunks(400, 3);
    const query = randomVector(dimension, rng(101));
    const before = world.snapshots.ticketsGranted;
    const calls = world.snapshots.beginRebuildCalls;

    const answers = await Promise.all(
      Array.from({ length: 8 }, () => world.search(botId, query, { limit: 5 })),
    );

    // One container reads the bot once: the other searches wait for that read and answer from the
    // snapshot it built.
    expect(world.snapshots.beginRebuildCalls - calls).toBe(1);
    expect(world.snapshots.ticketsGranted - before).toBe(1);
    expect(answers.filter((answer) => answer.source === 'dynamodb')).toHaveLength(1);
    for (const answer of answers) {
      // The snapshot's float32 re-score and DynamoDB's read agree to float32 precision.
      expect(answer.results).toEqual(
        (answers[0]?.results ?? []).map((hit) => ({ ...hit, score: expect.closeTo(hit.score, 6) })),
      );
      expect(answer.results.every((hit) => hit.text.startsWith('text of chunk'))).toBe(true);
    }
    expect((await world.search(botId, query, { limit: 5 })).source).toBe('snapshot');
  });

  it('applies filters and the score threshold on both sources alike', async () => {
    const botId = await botWithChunks(300, 4);
    const all = await readWholeBot(world.chunks, botId);
    const query = randomVector(dimension, rng(102));
    const cases: { filter?: CompiledFilter; scoreThreshold?: number }[] = [
      { filter: filterOf({ filename: 'doc-3.txt' }) },
      { filter: filterOf({ filename: ['doc-1.txt', 'doc-2.txt'], metadata: { lang: 'de' } }) },
      { filter: filterOf({ metadata: { part: 2 } }) },
      { filter: filterOf({ metadata: { lang: 'fr' } }) },
      { scoreThreshold: 0.2 },
    ];
    for (const options of cases) {
      await world.snapshots.drop(botId);
      const expected = bruteForceTopK(all, query, 7, options).map((hit) => hit.chunk_id);
      const fromDynamoDb = await world.search(botId, query, { limit: 7, ...options });
      const fromSnapshot = await world.search(botId, query, { limit: 7, ...options });
      expect([fromDynamoDb.source, fromSnapshot.source]).toEqual(['dynamodb', 'snapshot']);
      expect(ids(fromDynamoDb.results)).toEqual(expected);
      expect(ids(fromSnapshot.results)).toEqual(expected);
    }
  });

  it('rejects a snapshot built under an older epoch and rebuilds it under the current one', async () => {
    const botId = await botWithChunks(50, 5);
    const query = randomVector(dimension, rng(103));
    await world.search(botId, query, { limit: 3 });
    expect((await world.search(botId, query, { limit: 3 })).source).toBe('snapshot');

    // What the stream handler does when it could not reach Redis for this bot.
    const config = loadConfig(process.env);
    await world.documents.send(
      new UpdateCommand({
        TableName: config.tables.botCollections,
        Key: { bot_id: botId },
        UpdateExpression: 'SET snapshot_epoch = if_not_exists(snapshot_epoch, :zero) + :one',
        ExpressionAttributeValues: { ':zero': 0, ':one': 1 },
      }),
    );

    expect((await world.search(botId, query, { limit: 3 })).source).toBe('dynamodb');
    expect((await world.snapshots.currentVersion(botId))?.epoch).toBe(1);
    expect((await world.search(botId, query, { limit: 3 })).source).toBe('snapshot');
  });

  it('falls back to DynamoDB when the snapshot lost its texts, and drops the cached copy', async () => {
    const botId = await botWithChunks(50, 6);
    const query = randomVector(dimension, rng(104));
    const built = await world.search(botId, query, { limit: 3 });
    expect((await world.search(botId, query, { limit: 3 })).source).toBe('snapshot');

    await world.redis.del(...hashKeys(snapshotKeys(world.prefix, botId), 0, DEFAULT_ID_BUCKETS).texts);
    const answer = await world.search(botId, query, { limit: 3 });

    expect(answer.source).toBe('dynamodb');
    expect(answer.results).toEqual(built.results);
    expect(world.cache.botIds()).not.toContain(botId);
  });
});

describe.each(SNAPSHOT_MODES)('search answers from %s snapshots', (name) => {
  let mode: ModeSearch;
  beforeAll(() => {
    mode = searchIn(world, name);
  });

  it('never returns another bot’s chunks, even for that bot’s exact vectors', async () => {
    const botA = await botWithChunks(100, 7);
    const botB = await botWithChunks(100, 8);
    const chunksA = new Set((await readWholeBot(world.chunks, botA)).map((chunk) => chunk.chunk_id));
    const chunksB = await readWholeBot(world.chunks, botB);
    // The other bot is held too (in Redis, or in this container's memory) before the probes.
    expect(
      (await mode.search(botB, Array.from((chunksB[0] as StoredChunk).embedding), { limit: 1 })).results,
    ).toHaveLength(1);
    for (const probe of chunksB.slice(0, 10)) {
      for (let round = 0; round < 2; round++) {
        const { results } = await mode.search(botA, Array.from(probe.embedding), { limit: 20 });
        expect(results).toHaveLength(20);
        for (const hit of results) {
          expect(chunksA.has(hit.chunk_id)).toBe(true);
          expect(hit.text).toContain(botA);
          expect(hit.score).toBeLessThan(0.999);
        }
      }
    }
  });

  it('rejects an embedding of another dimension or of zeros, naming the embedding', async () => {
    const botId = await botWithChunks(5, 9);
    await expect(mode.search(botId, randomVector(dimension + 1, rng(1)), { limit: 1 })).rejects.toMatchObject(
      {
        name: 'ValidationError',
        field: 'embedding',
      },
    );
    await expect(mode.search(botId, new Array(dimension).fill(0), { limit: 1 })).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'embedding',
    });
  });

  it('finds nothing in a bot without chunks, on its first search and on the next', async () => {
    const botId = `bot-${randomUUID()}`;
    await world.bots.putOwned(botId, 'owner', { embedding_dimension: dimension });
    const first = await mode.search(botId, randomVector(dimension, rng(2)), { limit: 5 });
    const second = await mode.search(botId, randomVector(dimension, rng(2)), { limit: 5 });
    expect(first.results).toEqual([]);
    expect(second.results).toEqual([]);
  });
});
