import type { ReadHead, ScanSnapshot, Snapshot, SnapshotStore } from '../../src/snapshot';
import { SnapshotCache } from '../../src/snapshot';

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

  /** How many version checks were asked for the scan read's head, and the heads scan reads were handed. */
  headsAsked = 0;
  readonly headsGiven: (ReadHead | undefined)[] = [];

  async currentVersion(botId: string, options?: { head?: boolean }) {
    const snapshot = this.snapshots.get(botId);
    if (snapshot === undefined) return null;
    const { version, epoch } = snapshot;
    if (options?.head !== true) return { version, epoch };
    this.headsAsked++;
    return { version, epoch, head: { version } };
  }

  /** The heads whole reads were handed. */
  readonly readHeadsGiven: (ReadHead | undefined)[] = [];

  async read(botId: string, _previous?: Snapshot, head?: ReadHead) {
    this.reads++;
    this.readHeadsGiven.push(head);
    return this.snapshots.get(botId) ?? null;
  }

  /** Keeps no texts: null, as a store that finds a text missing answers (the cache then holds none). */
  async textsAt(): Promise<null> {
    return null;
  }

  scanReads = 0;

  /** The scan form of the snapshot: one code byte per float, no rows. */
  async readScan(botId: string, head?: ReadHead): Promise<ScanSnapshot | null> {
    this.scanReads++;
    this.headsGiven.push(head);
    const snapshot = this.snapshots.get(botId);
    if (snapshot === undefined) return null;
    const { version, epoch, dimension, rows } = snapshot;
    return {
      botId,
      version,
      epoch,
      dimension,
      live: rows.length,
      segmentRows: 1024,
      matrix: {
        codes: new Int8Array(rows.length * dimension),
        dimension,
        rowCount: rows.length,
        scale: 127,
        maxCodeNorm: 1,
        maxResidualNorm: 0.01,
      },
    };
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

  it('uses a snapshot larger than its whole budget for the query, but does not keep it', async () => {
    const store = new CountingStore();
    store.publish('big', 'v1', 0, 10, 100);
    const cache = cacheOver(store, 1000);
    expect((await cache.get('big', 0))?.ids).toHaveLength(10);
    expect(cache.botIds()).toEqual([]);
    expect(cache.bytes).toBe(0);
    await cache.get('big', 0);
    expect(store.reads).toBe(2);
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

  it('keeps the scan form of a bot it does not hold whole, reused while the version holds', async () => {
    const store = new CountingStore();
    store.publish('bot', 'v1', 0, 10, 8);
    const cache = cacheOver(store);
    const first = await cache.getForScan('bot', 0);
    const second = await cache.getForScan('bot', 0);
    expect(first !== null && 'scan' in first && !first.reused).toBe(true);
    expect(second !== null && 'scan' in second && second.reused).toBe(true);
    expect(store.scanReads).toBe(1);
    expect(cache.bytes).toBe(10 * 8);

    store.publish('bot', 'v2', 0, 12, 8);
    const moved = await cache.getForScan('bot', 0);
    expect(moved !== null && 'scan' in moved && moved.scan.scan.version === 'v2').toBe(true);
    expect(store.scanReads).toBe(2);
    expect(cache.bytes).toBe(12 * 8);
  });

  it('asks the version check for the scan read head only while it holds nothing of the bot', async () => {
    const store = new CountingStore();
    store.publish('bot', 'v1', 0, 10, 8);
    const cache = cacheOver(store);
    await cache.getForScan('bot', 0);
    expect(store.headsAsked).toBe(1);
    expect(store.headsGiven).toEqual([{ version: 'v1' }]);

    // A scan form is held: the check asks for no head, and the read of the new version starts from its own.
    store.publish('bot', 'v2', 0, 10, 8);
    await cache.getForScan('bot', 0);
    await cache.getForScan('bot', 0);
    expect(store.headsAsked).toBe(1);
    expect(store.headsGiven).toEqual([{ version: 'v1' }, undefined]);

    cache.forget('bot');
    await cache.getForScan('bot', 0);
    expect(store.headsAsked).toBe(2);
    expect(store.headsGiven).toEqual([{ version: 'v1' }, undefined, { version: 'v2' }]);
  });

  it('asks the version check for the whole read head only while it holds no copy of the bot', async () => {
    const store = new CountingStore();
    store.publish('bot', 'v1', 0);
    const cache = cacheOver(store);
    await cache.get('bot', 0);
    await cache.get('bot', 0);
    expect(store.headsAsked).toBe(1);
    expect(store.readHeadsGiven).toEqual([{ version: 'v1' }]);

    store.publish('bot', 'v2', 0);
    await cache.get('bot', 0);
    expect(store.headsAsked).toBe(1);
    expect(store.readHeadsGiven).toEqual([{ version: 'v1' }, undefined]);
  });

  it('prefers the whole snapshot when it holds it, and lets it replace the scan form', async () => {
    const store = new CountingStore();
    store.publish('bot', 'v1', 0, 10, 8);
    const cache = cacheOver(store);
    await cache.getForScan('bot', 0);
    const whole = await cache.get('bot', 0);
    const found = await cache.getForScan('bot', 0);
    expect(found !== null && 'full' in found && found.full === whole).toBe(true);
    expect(cache.bytes).toBe(whole?.bytes);
    expect(store.scanReads).toBe(1);
  });

  it('evicts scan forms and whole snapshots by one recency order within one budget', async () => {
    const store = new CountingStore();
    for (const bot of ['a', 'b', 'c']) store.publish(bot, 'v1', 0, 100, 8);
    // Each scan form is 800 bytes: two fit, the third evicts the least recently used.
    const cache = cacheOver(store, 1700);
    await cache.getForScan('a', 0);
    await cache.getForScan('b', 0);
    await cache.getForScan('a', 0);
    await cache.getForScan('c', 0);
    expect(cache.bytes).toBe(1600);
    store.scanReads = 0;
    await cache.getForScan('a', 0);
    await cache.getForScan('c', 0);
    expect(store.scanReads).toBe(0);
    await cache.getForScan('b', 0);
    expect(store.scanReads).toBe(1);
  });

  it('returns no scan form for a snapshot of another epoch or none', async () => {
    const store = new CountingStore();
    store.publish('bot', 'v1', 3, 10, 8);
    const cache = cacheOver(store);
    expect(await cache.getForScan('bot', 4)).toBeNull();
    expect(await cache.getForScan('other', 0)).toBeNull();
    expect(cache.bytes).toBe(0);
  });
});
