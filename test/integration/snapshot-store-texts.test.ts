import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { StoredChunk } from '../../src/domain/types';
import { RedisSnapshotStore } from '../../src/snapshot';
import { bucketKey, bucketOf, DEFAULT_ID_BUCKETS, snapshotKeys } from '../../src/snapshot/redis/keys';
import {
  chunk,
  claimRebuild,
  SNAPSHOT_TEST_DIM as DIM,
  publishSnapshot,
  upsertOf,
} from '../fixtures/snapshot-chunks';

// Texts of the length a RAG chunk has, in several scripts: what the text buckets hold and give back.
const PREFIX = 'vs-texts-test';

jest.setTimeout(60_000);

const redis = new Redis(process.env.REDIS_URL as string);
const store = new RedisSnapshotStore(redis, PREFIX);
afterAll(() => redis.quit());

const newBotId = () => `bot-${randomUUID()}`;
const WORDS = [
  'stream',
  'shard',
  'record',
  'claim',
  'vector',
  'snapshot',
  'Ünïcødé',
  '漢字',
  '✓',
  'the',
  'of',
];

/** About 600 characters of words, different for each i. */
function chunkText(i: number): string {
  const words: string[] = [];
  for (let w = 0; words.join(' ').length < 600; w++)
    words.push(WORDS[(i * 7 + w * w) % WORDS.length] as string);
  return `${i}. ${words.join(' ')}`;
}

const withText = (botId: string, i: number, text = chunkText(i)): StoredChunk => chunk(botId, i, { text });
const textKey = (botId: string, chunkId: string) =>
  bucketKey(snapshotKeys(PREFIX, botId).texts, bucketOf(chunkId, DEFAULT_ID_BUCKETS));
const storedBytes = (botId: string, chunkId: string) => redis.hstrlen(textKey(botId, chunkId), chunkId);

describe('redis snapshot store: texts', () => {
  it('keeps chunk texts in fewer bytes than their UTF-8 and gives each back exactly, from every write path', async () => {
    const botId = newBotId();
    const rebuilt = Array.from({ length: 6 }, (_, i) => withText(botId, i));
    rebuilt.push(withText(botId, 6, ''), withText(botId, 7, 'short'));
    await publishSnapshot(store, botId, rebuilt);
    const changed = [withText(botId, 1, chunkText(101)), withText(botId, 20)];
    await store.applyChanges(botId, changed.map(upsertOf));

    const paged = newBotId();
    const pages = Array.from({ length: 5 }, (_, i) => withText(paged, i));
    const staging = store.stageRebuild(await claimRebuild(store, paged), DIM);
    await staging.add(pages.slice(0, 2));
    await staging.add(pages.slice(2));
    expect(await staging.commit(async () => [])).toBe(true);

    const expected = new Map(rebuilt.map((c) => [c.chunk_id, c.text]));
    for (const c of changed) expected.set(c.chunk_id, c.text);
    const ids = [...expected.keys()];
    expect(await store.texts(botId, ids)).toEqual(ids.map((id) => expected.get(id)));
    expect(
      await store.texts(
        paged,
        pages.map((c) => c.chunk_id),
      ),
    ).toEqual(pages.map((c) => c.text));

    for (const [bot, c] of [
      [botId, rebuilt[0]],
      [botId, changed[0]],
      [botId, changed[1]],
      [paged, pages[3]],
    ] as [string, StoredChunk][]) {
      expect(await storedBytes(bot, c.chunk_id)).toBeLessThan(Buffer.byteLength(c.text) * 0.75);
    }
    expect(await storedBytes(botId, 'chunk-7')).toBe(Buffer.byteLength('short'));
  });

  it('gives back a text stored as a plain string as it is', async () => {
    const botId = newBotId();
    await publishSnapshot(store, botId, [withText(botId, 0), withText(botId, 1)]);
    const plain = `ÿ ${chunkText(5)}`;
    await redis.hset(textKey(botId, 'chunk-1'), 'chunk-1', plain);
    expect(await store.texts(botId, ['chunk-0', 'chunk-1'])).toEqual([chunkText(0), plain]);
  });

  it('names its bucket count bkz, never bk, so a reader that knows only plain texts finds no snapshot', async () => {
    const botId = newBotId();
    await publishSnapshot(store, botId, [withText(botId, 0)]);
    await store.applyChanges(botId, [upsertOf(withText(botId, 1))]);
    const meta = snapshotKeys(PREFIX, botId).meta;
    expect(await redis.hget(meta, 'bkz')).toBe(String(DEFAULT_ID_BUCKETS));
    expect(await redis.hexists(meta, 'bk')).toBe(0);
  });

  it('drops whole a snapshot that counts its buckets as bk (texts stored plain), and reads nothing from it', async () => {
    const botId = newBotId();
    await publishSnapshot(store, botId, [withText(botId, 0), withText(botId, 1)]);
    const meta = snapshotKeys(PREFIX, botId).meta;
    await redis.hset(meta, 'bk', String(DEFAULT_ID_BUCKETS));
    await redis.hdel(meta, 'bkz');
    expect(await store.read(botId)).toBeNull();
    expect(await redis.keys(`${PREFIX}:{${botId}}*`)).toEqual([]);
    expect(await store.texts(botId, ['chunk-0'])).toBeNull();
  });

  it('says null for a text that does not decode, as for a missing one', async () => {
    const botId = newBotId();
    await publishSnapshot(store, botId, [withText(botId, 0), withText(botId, 1)]);
    await redis.hset(textKey(botId, 'chunk-1'), 'chunk-1', Buffer.from([0xff, 1, 2, 3, 4]));
    expect(await store.texts(botId, ['chunk-0', 'chunk-1'])).toBeNull();
    expect(await store.texts(botId, ['chunk-0'])).toEqual([chunkText(0)]);
  });
});
