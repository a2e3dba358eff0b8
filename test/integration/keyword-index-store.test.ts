import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { tokenise } from '../../src/domain/keyword-text';
import { DEFAULT_BM25, KeywordIndex, postingsByRow, scoreFromPostings } from '../../src/domain/ranking/bm25';
import type { StoredChunk } from '../../src/domain/types';
import { RedisKeywordIndexStore, RedisSnapshotStore, type SnapshotChange } from '../../src/snapshot';
import { chunkIdOfNumber, termChunkIds } from '../fixtures/keyword-postings';
import { rng, testSeed } from '../fixtures/random';
import { chunk, publishSnapshot, upsertOf } from '../fixtures/snapshot-chunks';

const PREFIX = 'kw-test';
jest.setTimeout(60_000);

const redis = new Redis(process.env.REDIS_URL as string);
const snapshots = new RedisSnapshotStore(redis, PREFIX);
const keywords = new RedisKeywordIndexStore(redis, PREFIX);
/** Buckets of 4 document numbers, 3 docs buckets of 2 groups: a few chunks cross bucket boundaries and share groups. */
const SMALL_LAYOUT = { bucketSize: 4, docsBuckets: 3, docsGroups: 2 };
const small = new RedisKeywordIndexStore(redis, PREFIX, SMALL_LAYOUT);
afterAll(() => redis.quit());

/** A bot with a published snapshot of 10 chunks and a keyword index built at its version. */
async function botWithIndex(store = keywords): Promise<{ botId: string; version: string }> {
  const botId = `bot-${randomUUID()}`;
  const chunks = Array.from({ length: 10 }, (_, i) => chunk(botId, i));
  await publishSnapshot(snapshots, botId, chunks);
  const { version } = (await snapshots.currentVersion(botId)) as { version: string };
  const built = await store.build(
    botId,
    version,
    chunks.map((c) => ({ chunkId: c.chunk_id, terms: tokenise(c.text) })),
  );
  expect(built).toBe(true);
  return { botId, version };
}

const versionOf = async (botId: string) =>
  ((await snapshots.currentVersion(botId)) as { version: string }).version;
const edit = (botId: string, i: number, text: string) => ({
  snapshot: upsertOf(chunk(botId, i, { text })),
  keywords: { chunkId: `chunk-${i}`, terms: tokenise(text) },
});

describe('redis keyword index', () => {
  it('follows a snapshot update between its mark and its finish, and serves the new version only', async () => {
    const { botId, version } = await botWithIndex();
    const change = edit(botId, 3, 'E-1042 reboot');
    const token = (await keywords.beginUpdate(botId)) as string;
    expect(await keywords.read(botId, version, ['chunk'])).toBe('busy');
    await snapshots.applyChanges(botId, [change.snapshot, { kind: 'delete', chunk_id: 'chunk-4' }]);
    expect(
      await keywords.finishUpdate(botId, token, [change.keywords, { chunkId: 'chunk-4', terms: null }]),
    ).toBe(true);

    const now = await versionOf(botId);
    const read = await keywords.read(botId, now, ['e-1042', 'chunk']);
    expect(read).toMatchObject({ docCount: 9 });
    expect(termChunkIds(read, 0)).toEqual(['chunk-3']);
    expect(termChunkIds(read, 1).sort()).toEqual([0, 1, 2, 5, 6, 7, 8, 9].map((i) => `chunk-${i}`));
    expect(await keywords.read(botId, version, ['chunk'])).toBe('missing');
  });

  it('takes in and removes a chunk of no terms (a text of stop words only)', async () => {
    const { botId } = await botWithIndex();
    const empty = edit(botId, 5, 'the and of');
    let token = (await keywords.beginUpdate(botId)) as string;
    await snapshots.applyChanges(botId, [empty.snapshot]);
    expect(await keywords.finishUpdate(botId, token, [empty.keywords])).toBe(true);
    token = (await keywords.beginUpdate(botId)) as string;
    await snapshots.applyChanges(botId, [{ kind: 'delete', chunk_id: 'chunk-5' }]);
    expect(await keywords.finishUpdate(botId, token, [{ chunkId: 'chunk-5', terms: null }])).toBe(true);
    const read = await keywords.read(botId, await versionOf(botId), ['chunk']);
    expect(read).toMatchObject({ docCount: 9 });
  });

  it('is dropped when two updates overlap, so neither can leave it wrong', async () => {
    const { botId } = await botWithIndex();
    const first = (await keywords.beginUpdate(botId)) as string;
    // The second update finds the first's mark, not the snapshot's version: it drops the index.
    expect(await keywords.beginUpdate(botId)).toBeNull();
    await snapshots.applyChanges(botId, [edit(botId, 1, 'one').snapshot]);
    expect(await keywords.finishUpdate(botId, first, [edit(botId, 1, 'one').keywords])).toBe(false);
    expect(await keywords.read(botId, await versionOf(botId), ['chunk'])).toBe('missing');
  });

  it('is never used after an update that did not finish, and the next update drops it', async () => {
    const { botId } = await botWithIndex();
    expect(await keywords.beginUpdate(botId)).not.toBeNull();
    await snapshots.applyChanges(botId, [edit(botId, 2, 'two').snapshot]);
    // No finish (a timeout or a crash): readers see an update running.
    expect(await keywords.read(botId, await versionOf(botId), ['chunk'])).toBe('busy');
    expect(await keywords.beginUpdate(botId)).toBeNull();
    expect(await keywords.read(botId, await versionOf(botId), ['chunk'])).toBe('missing');
  });

  it('is dropped when the snapshot is rebuilt between the mark and the finish', async () => {
    const { botId } = await botWithIndex();
    const token = (await keywords.beginUpdate(botId)) as string;
    await publishSnapshot(snapshots, botId, [chunk(botId, 0)]);
    expect(await keywords.finishUpdate(botId, token, [])).toBe(false);
    expect(await keywords.read(botId, await versionOf(botId), ['chunk'])).toBe('missing');
  });

  it('finds any lost key when it is read, and drops itself', async () => {
    /** A bot whose index has every kind of key: a deletion puts a number in the free list. */
    const botWithEveryKey = async () => {
      const { botId } = await botWithIndex(small);
      const token = (await small.beginUpdate(botId)) as string;
      await snapshots.applyChanges(botId, [{ kind: 'delete', chunk_id: 'chunk-4' }]);
      expect(await small.finishUpdate(botId, token, [{ chunkId: 'chunk-4', terms: null }])).toBe(true);
      const keys = await redis.keys(`${PREFIX}:*${botId}*:kw:*:*`);
      const bySuffix = new Map(keys.map((key) => [key.replace(/^.*:kw:[^:]+:/, ''), key]));
      return { botId, version: await versionOf(botId), bySuffix };
    };
    const terms = ['chunk', 'text', ...Array.from({ length: 10 }, (_, i) => String(i))];
    const { bySuffix } = await botWithEveryKey();
    const suffixes = [...bySuffix.keys()].sort();
    expect(suffixes.map((suffix) => suffix.replace(/\d+$/, 'N'))).toEqual(
      expect.arrayContaining(['docs:N', 'free', 'ids:N', 'p:N', 'terms']),
    );
    expect(suffixes.filter((suffix) => suffix.startsWith('ids:')).length).toBeGreaterThan(1);
    for (const suffix of suffixes) {
      const bot = await botWithEveryKey();
      expect(await small.read(bot.botId, bot.version, terms)).not.toBe('missing');
      await redis.del(bot.bySuffix.get(suffix) as string);
      expect([suffix, await small.read(bot.botId, bot.version, terms)]).toEqual([suffix, 'missing']);
      expect(await redis.keys(`${PREFIX}:*${bot.botId}*:kw:*`)).toEqual([]);
    }
  });

  it('drops an index of postings hashes keyed by chunk id (a meta without bs), whole', async () => {
    const { botId, version } = await botWithIndex();
    const [meta] = await redis.keys(`${PREFIX}:*${botId}*:kw:meta`);
    const base = (meta as string).slice(0, -':meta'.length);
    await keywords.drop(botId);
    await redis.hset(meta as string, { stamp: version, gen: 'g', n: 1, total: 2, terms: 1 });
    await redis.hset(`${base}:g:df`, 'chunk', 1);
    await redis.hset(`${base}:g:docs`, 'chunk-0', '2 chunk 1');
    await redis.hset(`${base}:g:p:chunk`, 'chunk-0', '1:2');

    expect(await keywords.read(botId, version, ['chunk'])).toBe('missing');
    expect(await redis.keys(`${PREFIX}:*${botId}*:kw:*`)).toEqual([]);
  });

  it('finds a lost postings hash when a stream update edits its term, before any read', async () => {
    const { botId } = await botWithIndex(small);
    const [postings] = await redis.keys(`${PREFIX}:*${botId}*:kw:*:p:1`);
    await redis.del(postings as string);
    // chunk-3 holds the term of p:1 twice now: the update finds the term's postings gone, and drops the index.
    const change = edit(botId, 3, 'text text of chunk 3');
    const token = (await small.beginUpdate(botId)) as string;
    await snapshots.applyChanges(botId, [change.snapshot]);
    expect(await small.finishUpdate(botId, token, [change.keywords])).toBe(false);
    expect(await redis.keys(`${PREFIX}:*${botId}*:kw:*`)).toEqual([]);
  });

  it('keeps chunk ids of any characters, spaces and non-ASCII ones too', async () => {
    const botId = `bot-${randomUUID()}`;
    const ids = ['résumé 1.pdf#0', '文档#2', 'a b#3', 'plain#4', 'x'.repeat(300)];
    const chunks = ids.map((chunkId, i) => ({
      ...chunk(botId, i, { text: `alpha beta ${i}` }),
      chunk_id: chunkId,
    }));
    await publishSnapshot(snapshots, botId, chunks);
    const built = chunks.map((c) => ({ chunkId: c.chunk_id, terms: tokenise(c.text) }));
    expect(await small.build(botId, await versionOf(botId), built)).toBe(true);
    const token = (await small.beginUpdate(botId)) as string;
    const changed = { ...(chunks[1] as StoredChunk), text: 'gamma' };
    await snapshots.applyChanges(botId, [
      upsertOf(changed),
      { kind: 'delete', chunk_id: '文档#2' },
      upsertOf(changed),
    ]);
    expect(
      await small.finishUpdate(botId, token, [
        { chunkId: '文档#2', terms: null },
        { chunkId: '文档#2', terms: tokenise('gamma') },
      ]),
    ).toBe(true);

    const read = await small.read(botId, await versionOf(botId), ['alpha', 'gamma']);
    if (typeof read === 'string') throw new Error(`index ${read}`);
    expect(termChunkIds(read, 0).sort()).toEqual(ids.filter((id) => id !== '文档#2').sort());
    expect(termChunkIds(read, 1)).toEqual(['文档#2']);
  });

  it('scores exactly as the in-process index through random stream updates across buckets', async () => {
    const seed = testSeed();
    console.log(`keyword index store seed ${seed} (TEST_SEED replays it)`);
    const random = rng(seed);
    const words = Array.from({ length: 25 }, (_, i) => `w${i}`);
    const text = () =>
      Array.from(
        { length: Math.floor(random() * 12) },
        () => words[Math.floor(random() ** 2 * words.length)],
      ).join(' ');
    const botId = `bot-${randomUUID()}`;
    const truth = new Map<string, StoredChunk>();
    for (let i = 0; i < 30; i++) truth.set(`chunk-${i}`, chunk(botId, i, { text: text() }));
    await publishSnapshot(snapshots, botId, [...truth.values()]);
    const built = [...truth.values()].map((c) => ({ chunkId: c.chunk_id, terms: tokenise(c.text) }));
    expect(await small.build(botId, await versionOf(botId), built)).toBe(true);

    for (let round = 0; round < 12; round++) {
      const snapshotChanges: SnapshotChange[] = [];
      const changes: { chunkId: string; terms: string[] | null }[] = [];
      for (let c = 0; c < 1 + Math.floor(random() * 10); c++) {
        const i = Math.floor(random() * 45);
        const id = `chunk-${i}`;
        if (random() < 0.3) {
          truth.delete(id);
          snapshotChanges.push({ kind: 'delete', chunk_id: id });
          changes.push({ chunkId: id, terms: null });
        } else {
          const next = chunk(botId, i, { text: text() });
          truth.set(id, next);
          snapshotChanges.push(upsertOf(next));
          changes.push({ chunkId: id, terms: tokenise(next.text) });
        }
      }
      const token = (await small.beginUpdate(botId)) as string;
      expect(token).not.toBeNull();
      await snapshots.applyChanges(botId, snapshotChanges);
      expect(await small.finishUpdate(botId, token, changes)).toBe(true);

      const ids = [...truth.keys()];
      const rows = new Map(ids.map((id, row) => [id, row]));
      const index = new KeywordIndex(ids.map((id) => tokenise((truth.get(id) as StoredChunk).text)));
      for (const query of [['w0'], ['w1', 'w7'], ['w3', 'w0', 'w20', 'w24'], ['absent']]) {
        const read = await small.read(botId, await versionOf(botId), query);
        if (typeof read === 'string') throw new Error(`index ${read} after round ${round} (seed ${seed})`);
        // A store holding no id buckets (another container) reads the same as one refreshing only those that changed.
        const fresh = new RedisKeywordIndexStore(redis, PREFIX, SMALL_LAYOUT);
        expect(await fresh.read(botId, await versionOf(botId), query)).toEqual(read);
        const byRow = postingsByRow(
          read.postings,
          (number) => rows.get(chunkIdOfNumber(read.ids, number)),
          read.docCount,
        );
        if (byRow === null) throw new Error(`postings name chunks the truth does not hold (seed ${seed})`);
        const stored = scoreFromPostings(byRow, read.docCount, read.totalLength, DEFAULT_BM25);
        expect([round, query, stored]).toEqual([round, query, index.score(query, DEFAULT_BM25)]);
      }
    }
    // Numbers of deleted chunks were reused: the index hands out no more numbers than chunks ever held at once.
    const next = Number(
      await redis.hget((await redis.keys(`${PREFIX}:*${botId}*:kw:meta`))[0] as string, 'next'),
    );
    expect(next).toBeLessThanOrEqual(45);
  });
});
