import { ScoreBuffer, type TopKKernel } from '../../src/domain/ranking/scoring';
import type { StoredChunk } from '../../src/domain/types';
import { CacheUnavailableError, NotFoundError, ValidationError } from '../../src/errors';
import { SnapshotCache } from '../../src/snapshot';
import { makeSearch, type SearchDeps } from '../../src/use-cases/search';
import { FakeBotRegistry, FakeChunkStore } from '../fixtures/fake-ports';
import { FakeSnapshotStore } from '../fixtures/fake-stream-ports';
import { filterOf } from '../fixtures/filters';

/**
 * makeSearch over plain fakes of its ports: which source answers (snapshot or DynamoDB), what a rebuild
 * leaves behind, and how Redis failing at each step falls back to DynamoDB with the same answer.
 */
const BOT = 'bot-1';
const QUERY = [1, 0, 0, 0];

/** Chunks whose cosine to QUERY falls with their number: c0 best, c4 worst. */
function chunk(n: number, filename = n % 2 === 0 ? 'even.md' : 'odd.md'): StoredChunk {
  return {
    bot_id: BOT,
    chunk_id: `c${n}`,
    embedding: new Float32Array([1, n * 0.5, 0.25, 0]),
    text: `text of c${n}`,
    filename,
    file_size: 10,
    chunk_index: n,
    created_at: '2026-01-01T00:00:00.000Z',
    metadata: { n },
  };
}

async function world(
  chunkCount = 5,
  cacheOptions: ConstructorParameters<typeof SnapshotCache>[1] = {},
  kernel?: TopKKernel,
) {
  const bots = new FakeBotRegistry(4);
  bots.add(BOT);
  const chunks = new FakeChunkStore();
  await chunks.put(Array.from({ length: chunkCount }, (_, n) => chunk(n)));
  const snapshots = new FakeSnapshotStore();
  const warnings: string[] = [];
  const deps: SearchDeps = {
    bots,
    chunks,
    snapshots,
    cache: new SnapshotCache(snapshots, cacheOptions),
    scores: new ScoreBuffer(),
    logger: { warn: (message: string) => warnings.push(message), info: () => {} },
    ...(kernel === undefined ? {} : { kernel }),
  };
  return { search: makeSearch(deps), bots, chunks, snapshots, warnings };
}

const idsOf = (result: { results: { chunk_id: string }[] }) => result.results.map((hit) => hit.chunk_id);

describe('makeSearch', () => {
  it('answers from DynamoDB without a snapshot, rebuilds it from that read, then answers from it alike', async () => {
    const { search, snapshots } = await world();

    const cold = await search(BOT, QUERY, { limit: 3 });
    const warm = await search(BOT, QUERY, { limit: 3 });

    expect(cold.source).toBe('dynamodb');
    expect(idsOf(cold)).toEqual(['c0', 'c1', 'c2']);
    expect(snapshots.textsOf(BOT)).toEqual(
      Object.fromEntries([0, 1, 2, 3, 4].map((n) => [`c${n}`, `text of c${n}`])),
    );
    expect(warm.source).toBe('snapshot');
    // The same hits; scores agree to float32 precision (the snapshot keeps float32 unit vectors).
    expect(warm.results.map(({ score: _, ...hit }) => hit)).toEqual(
      cold.results.map(({ score: _, ...hit }) => hit),
    );
    for (const [i, hit] of warm.results.entries()) {
      expect(hit.score).toBeCloseTo(cold.results[i]?.score as number, 6);
    }
    expect(warm.results[0]).toMatchObject({ text: 'text of c0', metadata: { filename: 'even.md', n: 0 } });
  });

  it('applies the filter before top-k, from either source', async () => {
    const { search } = await world();

    const cold = await search(BOT, QUERY, { limit: 2, filter: filterOf({ filename: 'odd.md' }) });
    const warm = await search(BOT, QUERY, { limit: 2, filter: filterOf({ filename: 'odd.md' }) });

    expect(idsOf(cold)).toEqual(['c1', 'c3']);
    expect(warm.source).toBe('snapshot');
    expect(idsOf(warm)).toEqual(['c1', 'c3']);
  });

  it('answers a warm search from its held copy in one call, the text read confirming its version', async () => {
    const { search, snapshots } = await world();
    await search(BOT, QUERY, { limit: 3 }); // DynamoDB, rebuilds the snapshot
    await search(BOT, QUERY, { limit: 3 }); // reads the snapshot and keeps it in process
    const before = { calls: snapshots.calls, reads: snapshots.reads };

    const warm = await search(BOT, QUERY, { limit: 3 });

    expect(warm.source).toBe('snapshot');
    expect(idsOf(warm)).toEqual(['c0', 'c1', 'c2']);
    expect(snapshots.calls - before.calls).toBe(1);
    expect(snapshots.reads).toBe(before.reads);
  });

  it('answers a small bot warm from its held texts: one version check, no text read', async () => {
    const { search, snapshots } = await world();
    await search(BOT, QUERY, { limit: 3 });
    await search(BOT, QUERY, { limit: 3 });
    const textReads = jest.spyOn(snapshots, 'textsAt');
    const versionChecks = jest.spyOn(snapshots, 'currentVersion');
    const before = snapshots.calls;

    const warm = await search(BOT, QUERY, { limit: 3 });

    expect(warm.source).toBe('snapshot');
    expect(warm.results.map((hit) => [hit.chunk_id, hit.text])).toEqual([
      ['c0', 'text of c0'],
      ['c1', 'text of c1'],
      ['c2', 'text of c2'],
    ]);
    expect(snapshots.calls - before).toBe(1);
    expect(versionChecks).toHaveBeenCalledTimes(1);
    expect(textReads).not.toHaveBeenCalled();
  });

  it('builds a small bot keyword index from its held texts, reading no text from Redis', async () => {
    const { search, snapshots } = await world();
    await search(BOT, QUERY, { limit: 3 });
    await search(BOT, QUERY, { limit: 3 });
    const textReads = [jest.spyOn(snapshots, 'texts'), jest.spyOn(snapshots, 'textsAt')];

    const keyword = await search(BOT, undefined, { limit: 3, queryText: 'c3' });

    expect(keyword.source).toBe('snapshot');
    expect(keyword.results.map((hit) => [hit.chunk_id, hit.text])).toEqual([['c3', 'text of c3']]);
    for (const reads of textReads) expect(reads).not.toHaveBeenCalled();
  });

  it('reads the hits texts per search for a bot above the held-texts limit', async () => {
    const { search, snapshots } = await world(5, { textsHeldMaxRows: 4 });
    await search(BOT, QUERY, { limit: 3 });
    await search(BOT, QUERY, { limit: 3 });
    const textReads = jest.spyOn(snapshots, 'textsAt');

    const warm = await search(BOT, QUERY, { limit: 2 });

    expect(warm.source).toBe('snapshot');
    expect(warm.results.map((hit) => hit.text)).toEqual(['text of c0', 'text of c1']);
    expect(textReads).toHaveBeenCalledTimes(1);
    expect(textReads.mock.calls[0]?.[1]).toEqual(['c0', 'c1']);
  });

  it('keeps a snapshot whose texts could not be read with it, and reads its hits texts per search', async () => {
    const { search, snapshots } = await world();
    await search(BOT, QUERY, { limit: 3 }); // DynamoDB, rebuilds the snapshot
    const textReads = jest.spyOn(snapshots, 'textsAt').mockRejectedValueOnce(new Error('ETIMEDOUT'));

    const loaded = await search(BOT, QUERY, { limit: 2 });
    const warm = await search(BOT, QUERY, { limit: 2 });

    for (const answer of [loaded, warm]) {
      expect(answer.source).toBe('snapshot');
      expect(answer.results.map((hit) => hit.text)).toEqual(['text of c0', 'text of c1']);
    }
    // The failed read of every text, then the warm search's read of its two hits.
    expect(textReads.mock.calls.map((call) => call[1].length)).toEqual([5, 2]);
  });

  it('never serves a held text the stream has changed since, even when the vector stayed', async () => {
    const { search, snapshots } = await world();
    await search(BOT, QUERY, { limit: 3 });
    await search(BOT, QUERY, { limit: 3 });
    const { embedding, chunk_id, filename, chunk_index, metadata } = chunk(1);
    await snapshots.applyChanges(BOT, [
      { kind: 'upsert', row: { chunk_id, filename, chunk_index, metadata }, text: 'c1 edited', embedding },
    ]);

    const after = await search(BOT, QUERY, { limit: 3 });
    const again = await search(BOT, QUERY, { limit: 3 });

    for (const answer of [after, again]) {
      expect(answer.source).toBe('snapshot');
      expect(answer.results.map((hit) => hit.text)).toEqual(['text of c0', 'c1 edited', 'text of c2']);
    }
  });

  it('answers from DynamoDB alike when Redis fails the warm version check', async () => {
    const { search, snapshots, warnings } = await world();
    const expected = await search(BOT, QUERY, { limit: 3 });
    await search(BOT, QUERY, { limit: 3 });
    snapshots.fail = new Error('connect ECONNREFUSED');

    const result = await search(BOT, QUERY, { limit: 3 });

    expect(result.source).toBe('dynamodb');
    expect(idsOf(result)).toEqual(idsOf(expected));
    expect(warnings).toHaveLength(1);
  });

  it('never answers from a held copy the stream has changed since, even when it ranks no hit', async () => {
    const { search, snapshots } = await world();
    await search(BOT, QUERY, { limit: 3 });
    await search(BOT, QUERY, { limit: 3 });
    const upsert = (n: number, embedding: number[]) => {
      const { text, chunk_id, filename, chunk_index, metadata } = chunk(n);
      const row = { chunk_id, filename, chunk_index, metadata };
      return snapshots.applyChanges(BOT, [
        { kind: 'upsert', row, text, embedding: new Float32Array(embedding) },
      ]);
    };

    // The held copy has no row this close to the query, so it fetches no text: the version is still
    // confirmed, and the moved snapshot answers.
    await upsert(9, [1, 0, 0, 0]);
    const exactOnly = await search(BOT, QUERY, { limit: 3, scoreThreshold: 0.9999 });
    await upsert(8, [1, 0, 0.01, 0]);
    const moved = await search(BOT, QUERY, { limit: 3 });

    expect(exactOnly.source).toBe('snapshot');
    expect(idsOf(exactOnly)).toEqual(['c9']);
    expect(idsOf(moved)).toEqual(['c9', 'c8', 'c0']);
  });

  it('does not use a snapshot built under an older epoch', async () => {
    const { search, bots } = await world();
    await search(BOT, QUERY, { limit: 1 });
    bots.add(BOT, { snapshot_epoch: 1 });

    const result = await search(BOT, QUERY, { limit: 1 });

    expect(result.source).toBe('dynamodb');
    expect(idsOf(result)).toEqual(['c0']);
  });

  it('falls back to DynamoDB with one warning when Redis fails', async () => {
    const { search, snapshots, warnings } = await world();
    await search(BOT, QUERY, { limit: 2 });
    snapshots.fail = new Error('connect ECONNREFUSED');

    const result = await search(BOT, QUERY, { limit: 2 });

    expect(result.source).toBe('dynamodb');
    expect(idsOf(result)).toEqual(['c0', 'c1']);
    expect(result.results[1]?.text).toBe('text of c1');
    expect(warnings).toEqual(['Redis unavailable; searching DynamoDB']);
  });

  it('throws a failure of ranking rather than taking it for Redis being away', async () => {
    const broken = new Error('ranking bug');
    let ranked = 0;
    const kernel: TopKKernel = {
      topK: () => {
        ranked++;
        throw broken;
      },
    };
    const { search, chunks, warnings } = await world(5, {}, kernel);
    await search(BOT, QUERY, { limit: 2 });
    const readBot = jest.spyOn(chunks, 'readBot');

    await expect(search(BOT, QUERY, { limit: 2 })).rejects.toBe(broken);

    expect(ranked).toBe(1);
    expect(readBot).not.toHaveBeenCalled();
    expect(warnings).toEqual([]);
  });

  it('falls back without a warning of its own while Redis is known to be down', async () => {
    const { search, snapshots, warnings } = await world();
    snapshots.fail = new CacheUnavailableError('circuit open');

    const result = await search(BOT, QUERY, { limit: 2 });

    expect(result.source).toBe('dynamodb');
    expect(idsOf(result)).toEqual(['c0', 'c1']);
    expect(warnings).toEqual([]);
  });

  it("falls back to DynamoDB when the snapshot's texts are gone", async () => {
    const { search, snapshots, warnings } = await world();
    await search(BOT, QUERY, { limit: 2 });
    snapshots.missingTexts = true;

    const result = await search(BOT, QUERY, { limit: 2 });

    expect(result.source).toBe('dynamodb');
    expect(result.results.map((hit) => hit.text)).toEqual(['text of c0', 'text of c1']);
    expect(warnings).toEqual(['Snapshot texts missing; searching DynamoDB']);
  });

  it('leaves out a chunk deleted between the ranking read and the text read while another rebuild runs', async () => {
    const { search, snapshots, chunks } = await world();
    await snapshots.beginRebuild(BOT, 0);
    const get = chunks.get.bind(chunks);
    chunks.get = async (botId, chunkIds) => {
      await chunks.delete(botId, ['c1']);
      return get(botId, chunkIds);
    };

    const result = await search(BOT, QUERY, { limit: 3 });

    expect(result.source).toBe('dynamodb');
    expect(idsOf(result)).toEqual(['c0', 'c2']);
    expect(snapshots.textsOf(BOT)).toBeUndefined();
  });

  it('throws NotFoundError for a bot without a record', async () => {
    const { search } = await world();
    await expect(search('nobody', QUERY, { limit: 1 })).rejects.toThrow(NotFoundError);
  });

  it.each([
    ['has another length than the bot uses', [1, 0, 0]],
    ['is all zeros', [0, 0, 0, 0]],
  ])('rejects an embedding that %s, naming the field', async (_, embedding) => {
    const { search } = await world();
    const error = await search(BOT, embedding, { limit: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('embedding');
  });
});
