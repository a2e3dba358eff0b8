import type { Snapshot, SnapshotStore } from '../../src/ports';
import { SnapshotCache } from '../../src/use-cases/snapshot-cache';

/** A SnapshotStore port held in memory that counts full reads (the cost the cache exists to avoid). */
class CountingStore {
  readonly snapshots = new Map<string, Snapshot>();
  reads = 0;

  publish(botId: string, version: string, epoch: number, rows = 2, dimension = 4): void {
    this.snapshots.set(botId, {
      botId,
      version,
      epoch,
      dimension,
      rows: Array.from({ length: rows }, (_, i) => ({
        chunk_id: `${botId}-${i}`,
        filename: i % 2 === 0 ? 'even.txt' : 'odd.txt',
        chunk_index: i,
        metadata: {},
      })),
      vectors: new Float32Array(rows * dimension),
    });
  }

  async currentVersion(botId: string) {
    const snapshot = this.snapshots.get(botId);
    return snapshot === undefined ? null : { version: snapshot.version, epoch: snapshot.epoch };
  }

  async read(botId: string) {
    this.reads++;
    return this.snapshots.get(botId) ?? null;
  }
}

function cacheOver(store: CountingStore, maxBytes?: number, versionTimeoutMs?: number): SnapshotCache {
  return new SnapshotCache(store as unknown as SnapshotStore, {
    ...(maxBytes === undefined ? {} : { maxBytes }),
    ...(versionTimeoutMs === undefined ? {} : { versionTimeoutMs }),
  });
}

describe('snapshot cache', () => {
  it('reads a snapshot once and reuses it while the version is unchanged', async () => {
    const store = new CountingStore();
    store.publish('bot', 'v1', 0);
    const cache = cacheOver(store);
    const first = await cache.get('bot', 0);
    const second = await cache.get('bot', 0);
    expect(second).toBe(first);
    expect(store.reads).toBe(1);
  });

  it('reads again when the version changes', async () => {
    const store = new CountingStore();
    store.publish('bot', 'v1', 0);
    const cache = cacheOver(store);
    await cache.get('bot', 0);
    store.publish('bot', 'v2', 0, 3);
    const entry = await cache.get('bot', 0);
    expect(entry?.snapshot.version).toBe('v2');
    expect(entry?.ids).toEqual(['bot-0', 'bot-1', 'bot-2']);
    expect(store.reads).toBe(2);
  });

  it('returns nothing for a snapshot built under another epoch, and forgets it', async () => {
    const store = new CountingStore();
    store.publish('bot', 'v1', 0);
    const cache = cacheOver(store);
    await cache.get('bot', 0);
    expect(await cache.get('bot', 1)).toBeNull();
    expect(cache.botIds()).toEqual([]);
    expect(cache.bytes).toBe(0);
  });

  it('returns nothing when the snapshot is absent', async () => {
    const cache = cacheOver(new CountingStore());
    expect(await cache.get('nobody', 0)).toBeNull();
  });

  it('shares one read between concurrent misses of the same version', async () => {
    const store = new CountingStore();
    store.publish('bot', 'v1', 0);
    const cache = cacheOver(store);
    const entries = await Promise.all([cache.get('bot', 0), cache.get('bot', 0), cache.get('bot', 0)]);
    expect(store.reads).toBe(1);
    expect(entries[1]).toBe(entries[0]);
  });

  it('evicts the least recently used bot when over its byte budget', async () => {
    const store = new CountingStore();
    for (const bot of ['a', 'b', 'c']) store.publish(bot, 'v1', 0, 10, 100);
    // Each entry is 10 * 100 * 4 bytes of vectors, a quarter of that for the kernel's int8 copy, plus row
    // overhead; room for two.
    const oneEntry = 10 * 100 * 5 + 10 * 200;
    const cache = cacheOver(store, 2 * oneEntry + 1);
    await cache.get('a', 0);
    await cache.get('b', 0);
    await cache.get('a', 0);
    await cache.get('c', 0);
    expect(cache.botIds()).toEqual(['a', 'c']);
    expect(cache.bytes).toBe(2 * oneEntry);
  });

  it('indexes rows by filename for filters', async () => {
    const store = new CountingStore();
    store.publish('bot', 'v1', 0, 4);
    const entry = await cacheOver(store).get('bot', 0);
    expect(entry?.rowsByFilename.get('even.txt')).toEqual([0, 2]);
    expect(entry?.rowsByFilename.get('odd.txt')).toEqual([1, 3]);
  });

  it('lets Redis errors through so that search can fall back', async () => {
    const store = new CountingStore();
    store.currentVersion = async () => {
      throw new Error('connect ECONNREFUSED');
    };
    await expect(cacheOver(store).get('bot', 0)).rejects.toThrow('ECONNREFUSED');
  });

  it('gives up on a version check that hangs, so that search can fall back quickly', async () => {
    const store = new CountingStore();
    store.publish('bot', 'v1', 0);
    let answer = () => {};
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    let checkAnswered = false;
    store.currentVersion = async () => {
      await answered;
      checkAnswered = true;
      return { version: 'v1', epoch: 0 };
    };

    await expect(cacheOver(store, undefined, 50).get('bot', 0)).rejects.toThrow('took over 50 ms');

    // It gave up while the check still hung, instead of waiting for Redis to answer.
    expect(checkAnswered).toBe(false);
    expect(store.reads).toBe(0);
    answer();
  });
});
