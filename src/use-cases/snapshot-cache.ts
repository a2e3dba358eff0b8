import { indexRowsByFilename } from '../domain/search-filter';
import { withDeadline } from '../machinery/deadline';
import type { ScanSnapshot, Snapshot, SnapshotStore } from '../ports';

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

/** A snapshot's int8 scan codes held in process (the cold search's form: no float32 vectors, no rows). */
export type CachedScan = { scan: ScanSnapshot; bytes: number };

/**
 * What `getForScan` found: the whole snapshot when it is held, else its scan form (`reused`: it was held
 * already, this is not the search that read it).
 */
export type ScanOrFull = { full: CachedSnapshot } | { scan: CachedScan; reused: boolean };

/**
 * Default budget: 512 MiB of the search function's 1,769 MB. It holds the scan form of a 1M-chunk 384-d
 * bot (384 MB of int8 codes, issue 10 goal 5), or about two whole 100k-chunk bots (float32 vectors,
 * their in-process int8 copy and rows: ~210 MB each), or a few dozen small bots; least recently used
 * first out. Transient read buffers come on top (one 32 MiB segment at a time).
 */
export const DEFAULT_SNAPSHOT_CACHE_BYTES = 512 * 1024 * 1024;

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
  /** Scan forms by bot, sharing the byte budget and the recency order (through `order`) with `entries`. */
  private readonly scans = new Map<string, CachedScan>();
  /** Every held entry's key (`full:` or `scan:` and the bot id), least recently used first. */
  private readonly order = new Map<string, number>();
  private readonly loading = new Map<string, Promise<CachedSnapshot | null>>();
  private readonly loadingScans = new Map<string, Promise<CachedScan | null>>();
  private totalBytes = 0;

  private readonly maxBytes: number;
  private readonly versionTimeoutMs: number;

  /**
   * @param options.maxBytes memory budget (default 512 MiB).
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
      this.touch(`full:${botId}`, cached.bytes);
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

  /**
   * For a search that can answer from the int8 codes: the whole snapshot when it is held at the current
   * version (in process, fastest), else the scan form at that version, read once and kept (a quarter of
   * the float32 bytes, no rows). Null when there is no current snapshot built under `epoch`.
   * @throws as `get`.
   */
  async getForScan(botId: string, epoch: number): Promise<ScanOrFull | null> {
    const current = await this.currentVersion(botId);
    if (current === null || current.epoch !== epoch) {
      this.forget(botId);
      return null;
    }
    const full = this.entries.get(botId);
    if (full !== undefined && full.snapshot.version === current.version && full.snapshot.epoch === epoch) {
      this.touch(`full:${botId}`, full.bytes);
      return { full };
    }
    const held = this.scans.get(botId);
    if (held !== undefined && held.scan.version === current.version && held.scan.epoch === epoch) {
      this.touch(`scan:${botId}`, held.bytes);
      return { scan: held, reused: true };
    }
    const key = `${botId}\u0000${current.version}`;
    let pending = this.loadingScans.get(key);
    if (pending === undefined) {
      pending = this.loadScan(botId, epoch).finally(() => this.loadingScans.delete(key));
      this.loadingScans.set(key, pending);
    }
    const scan = await pending;
    return scan === null ? null : { scan, reused: false };
  }

  /** Drops a bot's entries (its snapshot was found untrustworthy). */
  forget(botId: string): void {
    const entry = this.entries.get(botId);
    if (entry !== undefined) {
      this.entries.delete(botId);
      this.order.delete(`full:${botId}`);
      this.totalBytes -= entry.bytes;
    }
    const scan = this.scans.get(botId);
    if (scan !== undefined) {
      this.scans.delete(botId);
      this.order.delete(`scan:${botId}`);
      this.totalBytes -= scan.bytes;
    }
  }

  /** Bytes held, for metrics and tests. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Bots whose whole snapshot is held, least recently used first. */
  botIds(): string[] {
    return [...this.order.keys()].filter((key) => key.startsWith('full:')).map((key) => key.slice(5));
  }

  private currentVersion(botId: string): ReturnType<SnapshotStore['currentVersion']> {
    return withDeadline(this.store.currentVersion(botId), this.versionTimeoutMs, () => {
      throw new Error(`snapshot version check took over ${this.versionTimeoutMs} ms`);
    });
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
    // The whole snapshot replaces the bot's scan form too: it answers everything the codes do.
    this.forget(botId);
    // A snapshot larger than the whole budget is used for this query but not kept.
    if (entry.bytes > this.maxBytes) return entry;
    this.entries.set(botId, entry);
    this.totalBytes += entry.bytes;
    this.touch(`full:${botId}`, entry.bytes);
    this.evict();
    return entry;
  }

  private async loadScan(botId: string, epoch: number): Promise<CachedScan | null> {
    const scan = (await this.store.readScan?.(botId)) ?? null;
    if (scan === null || scan.epoch !== epoch) {
      this.forget(botId);
      return null;
    }
    const entry: CachedScan = {
      scan,
      bytes: scan.matrix.codes.byteLength + (scan.liveMask?.byteLength ?? 0),
    };
    const previous = this.scans.get(botId);
    if (previous !== undefined) {
      this.scans.delete(botId);
      this.order.delete(`scan:${botId}`);
      this.totalBytes -= previous.bytes;
    }
    if (entry.bytes > this.maxBytes) return entry;
    this.scans.set(botId, entry);
    this.totalBytes += entry.bytes;
    this.touch(`scan:${botId}`, entry.bytes);
    this.evict();
    return entry;
  }

  /** Marks an entry most recently used (Map order is insertion order). */
  private touch(key: string, bytes: number): void {
    this.order.delete(key);
    this.order.set(key, bytes);
  }

  /** Drops least recently used entries until the budget holds. */
  private evict(): void {
    for (const [oldest, bytes] of this.order) {
      if (this.totalBytes <= this.maxBytes) break;
      this.order.delete(oldest);
      const botId = oldest.slice(5);
      if (oldest.startsWith('full:')) this.entries.delete(botId);
      else this.scans.delete(botId);
      this.totalBytes -= bytes;
    }
  }
}
