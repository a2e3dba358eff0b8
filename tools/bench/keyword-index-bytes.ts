import type Redis from 'ioredis';
import { DEFAULT_TOKENISER, tokenise } from '../../src/domain/keyword-text';
import { RedisKeywordIndexStore } from '../../src/snapshot';
import { bucketKey, snapshotKeys } from '../../src/snapshot/redis/keys';

/** The snapshot version `storeKeywordIndex` stamps the index with (a build id, a colon, a sequence number). */
export const BENCH_KEYWORD_VERSION = 'bench:0';

/**
 * Builds a bot's keyword index in Redis for `texts` as its chunks, and measures its Redis bytes per chunk
 * (MEMORY USAGE ... SAMPLES 0 of each of its keys) and its build time. The build checks the snapshot's
 * version, so a meta hash at BENCH_KEYWORD_VERSION stands in for the snapshot (its vectors play no part in
 * the index), and one text bucket naming the chunks stands in for its texts (a build must hold exactly them).
 * `perEntryBuildMs` times the same index built through the stream update's script instead, 500 chunks a
 * call (what a stream of new chunks costs).
 * `remove` deletes every key.
 */
export async function storeKeywordIndex(
  client: Redis,
  prefix: string,
  botId: string,
  ids: readonly string[],
  texts: readonly string[],
): Promise<{
  bytesPerChunk: number;
  buildMs: number;
  perEntryBuildMs: number;
  store: RedisKeywordIndexStore;
  remove: () => Promise<void>;
}> {
  const store = new RedisKeywordIndexStore(client, prefix);
  const snapshotMeta = snapshotKeys(prefix, botId).meta;
  const [build, seq] = BENCH_KEYWORD_VERSION.split(':') as [string, string];
  // One id bucket (`bkz` 1): every chunk's text entry is in bucket 0.
  await client.hset(snapshotMeta, 'build', build, 'seq', seq, 'bkz', '1');
  const textBucket = bucketKey(snapshotKeys(prefix, botId).texts, 0);
  const documents = ids.map((chunkId, row) => ({
    chunkId,
    terms: tokenise(texts[row] as string, DEFAULT_TOKENISER),
  }));
  const perEntryBuildMs = await buildPerEntry(client, store, textBucket, botId, documents);
  const started = performance.now();
  const built = await store.build(botId, BENCH_KEYWORD_VERSION, documents);
  const buildMs = performance.now() - started;
  if (!built) throw new Error('the keyword index build in the bench Redis did not publish');
  const base = `${snapshotMeta.slice(0, -':meta'.length)}:kw`;
  let bytes = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(
      cursor,
      'MATCH',
      `${base.replace(/[*?[\]\\]/g, '\\$&')}:*`,
      'COUNT',
      1000,
    );
    cursor = next;
    for (const key of keys) bytes += Number((await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  } while (cursor !== '0');
  const remove = async () => {
    await store.drop(botId);
    await client.del(snapshotMeta, textBucket);
  };
  return { bytesPerChunk: bytes / ids.length, buildMs, perEntryBuildMs, store, remove };
}

const PER_ENTRY_CHUNKS_PER_CALL = 500;

/**
 * An empty index stamped at the bench version (before the text bucket exists: a build holds exactly the
 * snapshot's chunks), then the text bucket, then every chunk added by stream-update calls of 500 chunks.
 */
async function buildPerEntry(
  client: Redis,
  store: RedisKeywordIndexStore,
  texts: string,
  botId: string,
  documents: readonly { chunkId: string; terms: string[] }[],
): Promise<number> {
  await client.del(texts);
  if (!(await store.build(botId, BENCH_KEYWORD_VERSION, [])))
    throw new Error('empty bench index not stamped');
  for (let start = 0; start < documents.length; start += 1000) {
    await client.hset(texts, ...documents.slice(start, start + 1000).flatMap((d) => [d.chunkId, '']));
  }
  const started = performance.now();
  for (let start = 0; start < documents.length; start += PER_ENTRY_CHUNKS_PER_CALL) {
    const token = await store.beginUpdate(botId);
    const piece = documents.slice(start, start + PER_ENTRY_CHUNKS_PER_CALL);
    if (token === null || !(await store.finishUpdate(botId, token, piece))) {
      throw new Error('the per-entry keyword build in the bench Redis was dropped');
    }
  }
  const ms = performance.now() - started;
  await store.drop(botId);
  return ms;
}
