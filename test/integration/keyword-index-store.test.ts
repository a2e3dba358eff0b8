import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { tokenise } from '../../src/domain/keyword-text';
import { RedisKeywordIndexStore, RedisSnapshotStore } from '../../src/snapshot';
import { chunk, publishSnapshot, upsertOf } from '../fixtures/snapshot-chunks';

const PREFIX = 'kw-test';
jest.setTimeout(60_000);

const redis = new Redis(process.env.REDIS_URL as string);
const snapshots = new RedisSnapshotStore(redis, PREFIX);
const keywords = new RedisKeywordIndexStore(redis, PREFIX);
afterAll(() => redis.quit());

/** A bot with a published snapshot of 10 chunks and a keyword index built at its version. */
async function botWithIndex(): Promise<{ botId: string; version: string }> {
  const botId = `bot-${randomUUID()}`;
  const chunks = Array.from({ length: 10 }, (_, i) => chunk(botId, i));
  await publishSnapshot(snapshots, botId, chunks);
  const { version } = (await snapshots.currentVersion(botId)) as { version: string };
  const built = await keywords.build(
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
    expect(read).toMatchObject({ docCount: 9, postings: [{ chunkIds: ['chunk-3'] }, expect.anything()] });
    expect(typeof read !== 'string' && [...(read.postings[1]?.chunkIds ?? [])].sort()).toEqual(
      [0, 1, 2, 5, 6, 7, 8, 9].map((i) => `chunk-${i}`),
    );
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

  it('finds a lost key when it is read, and drops itself', async () => {
    const { botId, version } = await botWithIndex();
    const [df] = await redis.keys(`${PREFIX}:*${botId}*:kw:*:df`);
    await redis.del(df as string);
    expect(await keywords.read(botId, version, ['text'])).toBe('missing');
    expect(await redis.keys(`${PREFIX}:*${botId}*:kw:*`)).toEqual([]);
  });
});
