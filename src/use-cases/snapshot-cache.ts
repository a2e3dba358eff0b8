import { indexRowsByFilename } from '../domain/search-filter';
import type { Snapshot, SnapshotStore } from '../ports';

/** A decoded snapshot held in process, with what search derives from it once. */
export type CachedSnapshot = {
  snapshot: Snapshot;
  /** Row indices per filename, so a filename filter touches only those rows. */
  rowsByFilename: Map<string, number[]>;
  ids: string[];
  /** Whether every row carries created_at (rows of snapshots written before it was kept do not). */
  hasCreatedAt: boolean;
  bytes: number;
};

/** Default budget: a 1,536 MB Lambda keeps ~256 MB of snapshots (about 140k 384-d chunks with their int8 copy) warm. */
export const DEFAULT_SNAPSHOT_CACHE_BYTES = 256 * 1024 * 1024;

/** Rough size of what a row costs in memory besides its vector (ids, filename, metadata, the index). */
const ROW_OVERHEAD_BYTES = 200;

/**
 * The search kernel keeps an int8 copy of a searched snapshot's vectors (one byte per float32, freed with
 * the snapshot): a quarter more than the vectors themselves.
 */
const INT8_COPY_SHARE = 0.25;

/**
 * Decoded snapshots per bot, reused while Redis reports the same version and the snapshot was built under
 * the bot's current epoch, so a warm container reads a bot's vectors from Redis once per change instead of
 * once per query. Bounded by bytes, least recently used first out. It may live at module scope: every
 * entry is checked against Redis (`currentVersion`, one round trip) before use, and is never mutated.
 */
export class SnapshotCache {
  /** Map iteration order is insertion order: re-inserting on use makes the first key the least recent. */
  private readonly entries = new Map<string, CachedSnapshot>();
  private readonly loading = new Map<string, Promise<CachedSnapshot | null>>();
  private totalBytes = 0;

  private readonly maxBytes: number;
  private readonly versionTimeoutMs: number;

  /**
   * @param options.maxBytes memory budget (default 256 MB).
   * @param options.versionTimeoutMs how long the version check may take before Redis counts as down for
   *   this query (default 1 s). The check is one tiny round trip; a hung or paused Redis would otherwise
   *   hold every search for the client's whole command timeout before DynamoDB answers.
   */
  constructor(
    private readonly store: SnapshotStore,
    options: { maxBytes?: number; versionTimeoutMs?: number } = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_SNAPSHOT_CACHE_BYTES;
    this.versionTimeoutMs = options.versionTimeoutMs ?? 1000;
  }

  /**
   * The bot's current snapshot when Redis holds a complete one built under `epoch`; null when it is absent
   * or stale (the caller then answers from DynamoDB and rebuilds it).
   * @throws whatever the store throws when Redis cannot be reached, or an Error when the version check
   *   takes longer than `versionTimeoutMs`.
   */
  async get(botId: string, epoch: number): Promise<CachedSnapshot | null> {
    const current = await this.currentVersion(botId);
    if (current === null || current.epoch !== epoch) {
      this.forget(botId);
      return null;
    }
    const cached = this.entries.get(botId);
    if (
      cached !== undefined &&
      cached.snapshot.version === current.version &&
      cached.snapshot.epoch === epoch
    ) {
      this.entries.delete(botId);
      this.entries.set(botId, cached);
      return cached;
    }
    // Concurrent misses for one version share one read of the snapshot.
    const key = `${botId}\u0000${current.version}`;
    let pending = this.loading.get(key);
    if (pending === undefined) {
      pending = this.load(botId, epoch).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  /** Drops a bot's entry (its snapshot was found untrustworthy). */
  forget(botId: string): void {
    const entry = this.entries.get(botId);
    if (entry === undefined) return;
    this.entries.delete(botId);
    this.totalBytes -= entry.bytes;
  }

  /** Bytes held, for metrics and tests. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Bots held, least recently used first. */
  botIds(): string[] {
    return [...this.entries.keys()];
  }

  private currentVersion(botId: string): ReturnType<SnapshotStore['currentVersion']> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`snapshot version check took over ${this.versionTimeoutMs} ms`)),
        this.versionTimeoutMs,
      );
    });
    return Promise.race([this.store.currentVersion(botId), timeout]).finally(() => clearTimeout(timer));
  }

  private async load(botId: string, epoch: number): Promise<CachedSnapshot | null> {
    const snapshot = await this.store.read(botId);
    if (snapshot === null || snapshot.epoch !== epoch) {
      this.forget(botId);
      return null;
    }
    const entry: CachedSnapshot = {
      snapshot,
      rowsByFilename: indexRowsByFilename(snapshot.rows),
      ids: snapshot.rows.map((row) => row.chunk_id),
      hasCreatedAt: snapshot.rows.every((row) => row.created_at !== undefined),
      bytes: snapshot.vectors.byteLength * (1 + INT8_COPY_SHARE) + snapshot.rows.length * ROW_OVERHEAD_BYTES,
    };
    this.forget(botId);
    // A snapshot larger than the whole budget is used for this query but not kept.
    if (entry.bytes > this.maxBytes) return entry;
    this.entries.set(botId, entry);
    this.totalBytes += entry.bytes;
    for (const [oldest, old] of this.entries) {
      if (this.totalBytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.totalBytes -= old.bytes;
    }
    return entry;
  }
}
