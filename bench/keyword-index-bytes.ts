import type Redis from 'ioredis';
import { RedisKeywordIndexStore } from '../src/adapters/redis/keyword-index-store';
import { snapshotKeys } from '../src/adapters/redis/snapshot-keys';
import { DEFAULT_TOKENISER, tokenise } from '../src/domain/keyword-text';

/** The snapshot version `storeKeywordIndex` stamps the index with (a build id, a colon, a sequence number). */
export const BENCH_KEYWORD_VERSION = 'bench:0';

/**
 * Builds a bot's keyword index in Redis for `texts` as its chunks, and measures its Redis bytes per chunk
 * (MEMORY USAGE ... SAMPLES 0 of each of its keys) and its build time. The build checks the snapshot's
 * version, so a meta hash at BENCH_KEYWORD_VERSION stands in for the snapshot (its vectors play no part in
 * the index). `remove` deletes every key.
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
  store: RedisKeywordIndexStore;
  remove: () => Promise<void>;
}> {
  const store = new RedisKeywordIndexStore(client, prefix);
  const snapshotMeta = snapshotKeys(prefix, botId).meta;
  const [build, seq] = BENCH_KEYWORD_VERSION.split(':') as [string, string];
  await client.hset(snapshotMeta, 'build', build, 'seq', seq);
  const documents = ids.map((chunkId, row) => ({
    chunkId,
    terms: tokenise(texts[row] as string, DEFAULT_TOKENISER),
  }));
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
    await client.del(snapshotMeta);
  };
  return { bytesPerChunk: bytes / ids.length, buildMs, store, remove };
}
