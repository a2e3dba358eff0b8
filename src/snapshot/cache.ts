import { LRUCache } from 'lru-cache';
import { visibilityMask } from '../domain/document-version';
import { indexRowsByFilename } from '../domain/search-filter';
import { withDeadline } from '../machinery/deadline';
import type { CurrentVersion, ReadHead, ScanSnapshot, Snapshot, SnapshotStore } from './port';

/** A decoded snapshot held in process, with what search derives from it once. */
export type CachedSnapshot = {
  snapshot: Snapshot;
  /** Row indices per filename, so a filename filter touches only those rows. */
  rowsByFilename: Map<string, number[]>;
  /**
   * 1 for the rows of the version each document shows, 0 for rows of other versions (a replacement under
   * way, or left over); undefined when every row is shown. Every search masks with it.
   */
  visible: Uint8Array | undefined;
  ids: string[];
  /** Whether every row carries created_at (rows of snapshots written before it was kept do not). */
  hasCreatedAt: boolean;
  /** The earliest expiry among the rows (epoch seconds); undefined when no row expires. */
  firstExpiry: number | undefined;
  /**
   * Every row's text, read with the snapshot at its version, for a bot of at most `textsHeldMaxRows`
   * rows; undefined for a larger bot, whose hits' texts are read per search.
   */
  texts: readonly string[] | undefined;
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
 * Default budget: 512 MiB of the search function's 1,769 MB (`containerBudgets` scales it with the
 * function's memory). It holds the scan form of a 1M-chunk 384-d
 * bot (384 MB of int8 codes), or about two whole 100k-chunk bots (float32 vectors,
 * their in-process int8 copy and rows: ~210 MB each), or a few dozen small bots; least recently used
 * first out. Transient read buffers come on top (one 32 MiB segment at a time).
 */
export const DEFAULT_SNAPSHOT_CACHE_BYTES = 512 * 1024 * 1024;

/** Rough size of what a row costs in memory besides its vector (ids, filename, metadata, the index). */
const ROW_OVERHEAD_BYTES = 200;

/**
 * Default largest bot whose texts are held in process: then a warm search needs only a version check, which
 * it sends before it scores and finds answered after. 25k texts of ~600 characters
 * are ~30 MB; a larger bot reads its hits' texts per search, which costs little beside its longer scan.
 */
export const DEFAULT_TEXTS_HELD_MAX_ROWS = 25_000;

/** A held text's cost besides its UTF-16 characters (string header, array slot). */
const TEXT_OVERHEAD_BYTES = 32;

/**
 * The search kernel keeps an int8 copy of a searched snapshot's vectors (one byte per float32, freed with
 * the snapshot): a quarter more than the vectors themselves.
 */
const INT8_COPY_SHARE = 0.25;

/** What the cache holds under `full:<bot>` (the whole snapshot) or `scan:<bot>` (its scan form). */
type Held = { full: CachedSnapshot } | { scan: CachedScan };

/**
 * What a load needs besides the key: the bot, the epoch its snapshot must be built under, and the head the
 * version check just brought, where there is one (the read then starts from it).
 */
type LoadContext = { botId: string; epoch: number; head?: ReadHead };

const loadContext = (botId: string, epoch: number, current: CurrentVersion): LoadContext =>
  current.head === undefined ? { botId, epoch } : { botId, epoch, head: current.head };

/**
 * Decoded snapshots per bot, reused while Redis reports the same version and the snapshot was built under
 * the bot's current epoch, so a warm container reads a bot's vectors from Redis once per change instead of
 * once per query. One lru-cache holds whole snapshots and scan forms: one byte budget (`maxSize` over each
 * entry's bytes), one recency order, least recently used first out, and one shared read for concurrent
 * misses (`fetchMethod`). It may live at module scope: every entry is checked against Redis
 * (`currentVersion`, one round trip) before use, and is never mutated.
 */
export class SnapshotCache {
  private readonly held: LRUCache<string, Held, LoadContext>;
  private readonly versionTimeoutMs: number;
  private readonly textsHeldMaxRows: number;

  /**
   * @param options.maxBytes memory budget (default 512 MiB). A snapshot larger than all of it is used for
   *   its query but not kept.
   * @param options.versionTimeoutMs how long the version check may take before Redis counts as down for
   *   this query (default 1 s). The check is one tiny round trip; a hung or paused Redis would otherwise
   *   hold every search for the client's whole command timeout before DynamoDB answers.
   * @param options.textsHeldMaxRows largest bot whose texts are held with its snapshot (default 25,000).
   */
  constructor(
    private readonly store: SnapshotStore,
    options: { maxBytes?: number; versionTimeoutMs?: number; textsHeldMaxRows?: number } = {},
  ) {
    this.versionTimeoutMs = options.versionTimeoutMs ?? 1000;
    this.textsHeldMaxRows = options.textsHeldMaxRows ?? DEFAULT_TEXTS_HELD_MAX_ROWS;
    this.held = new LRUCache<string, Held, LoadContext>({
      maxSize: Math.max(1, Math.floor(options.maxBytes ?? DEFAULT_SNAPSHOT_CACHE_BYTES)),
      sizeCalculation: (held) => Math.max(1, Math.ceil('full' in held ? held.full.bytes : held.scan.bytes)),
      fetchMethod: (key, held, { context }) =>
        key.startsWith('full:') ? this.load(context, held) : this.loadScan(context),
      // forget() may drop a key while its read is under way: the searches waiting on that read then find
      // no snapshot (and answer from DynamoDB) instead of failing.
      allowStaleOnFetchAbort: true,
    });
  }

  /**
   * The bot's current snapshot when Redis holds a complete one built under `epoch`; null when it is absent
   * or stale (the caller then answers from DynamoDB and rebuilds it). `known`: the current version as the
   * caller just read it (`SnapshotStore.versionOf`), which then is not asked again.
   * @throws whatever the store throws when Redis cannot be reached, or an Error when the version check
   *   takes longer than `versionTimeoutMs`.
   */
  async get(
    botId: string,
    epoch: number,
    known?: { version: string; epoch: number },
  ): Promise<CachedSnapshot | null> {
    // No copy held: the version check also brings what the read starts from, a round trip fewer.
    const current =
      known ?? (await this.versionNow(botId, { head: this.held.peek(`full:${botId}`) === undefined }));
    if (current === null || current.epoch !== epoch) {
      this.forget(botId);
      return null;
    }
    const isCurrent = (held: Held | undefined): held is { full: CachedSnapshot } =>
      held !== undefined &&
      'full' in held &&
      held.full.snapshot.version === current.version &&
      held.full.snapshot.epoch === epoch;
    const key = `full:${botId}`;
    const cached = this.held.peek(key);
    if (isCurrent(cached)) {
      this.held.get(key); // marks it most recently used
      return cached.full;
    }
    // Concurrent misses share one read; a read that started before this version was published is not
    // shared: this search reads again.
    let loaded = await this.held.fetch(key, {
      context: loadContext(botId, epoch, current),
      forceRefresh: true,
    });
    if (loaded !== undefined && !isCurrent(loaded)) {
      loaded = await this.held.fetch(key, { context: { botId, epoch }, forceRefresh: true });
    }
    return loaded !== undefined && 'full' in loaded ? loaded.full : null;
  }

  /**
   * For a search that can answer from the int8 codes: the whole snapshot when it is held at the current
   * version (in process, fastest), else the scan form at that version, read once and kept (a quarter of
   * the float32 bytes, no rows). Null when there is no current snapshot built under `epoch`.
   * @throws as `get`.
   */
  async getForScan(botId: string, epoch: number): Promise<ScanOrFull | null> {
    // Nothing held: the version check also brings what the scan read starts from, a round trip fewer.
    const nothingHeld =
      this.held.peek(`full:${botId}`) === undefined && this.held.peek(`scan:${botId}`) === undefined;
    const current = await this.versionNow(botId, { head: nothingHeld });
    if (current === null || current.epoch !== epoch) {
      this.forget(botId);
      return null;
    }
    const full = this.held.peek(`full:${botId}`);
    if (full !== undefined && 'full' in full && full.full.snapshot.version === current.version) {
      if (full.full.snapshot.epoch === epoch) {
        this.held.get(`full:${botId}`); // marks it most recently used
        return { full: full.full };
      }
    }
    const key = `scan:${botId}`;
    const isCurrent = (held: Held | undefined): held is { scan: CachedScan } =>
      held !== undefined &&
      'scan' in held &&
      held.scan.scan.version === current.version &&
      held.scan.scan.epoch === epoch;
    const held = this.held.peek(key);
    if (isCurrent(held)) {
      this.held.get(key); // marks it most recently used
      return { scan: held.scan, reused: true };
    }
    // As in `get`: one shared read, read again when it started before this version.
    let loaded = await this.held.fetch(key, {
      context: loadContext(botId, epoch, current),
      forceRefresh: true,
    });
    if (loaded !== undefined && !isCurrent(loaded)) {
      loaded = await this.held.fetch(key, { context: { botId, epoch }, forceRefresh: true });
    }
    return loaded !== undefined && 'scan' in loaded ? { scan: loaded.scan, reused: false } : null;
  }

  /**
   * The whole snapshot held for the bot under `epoch`, without asking Redis. Only for a caller that
   * confirms its version before it answers (`versionNow`, or in the same round trip as its next read,
   * `SnapshotStore.textsAt`) and forgets it when that finds the snapshot moved.
   */
  peek(botId: string, epoch: number): CachedSnapshot | null {
    const held = this.held.get(`full:${botId}`); // marks it most recently used
    return held !== undefined && 'full' in held && held.full.snapshot.epoch === epoch ? held.full : null;
  }

  /** Drops a bot's entries (its snapshot was found untrustworthy). */
  forget(botId: string): void {
    this.held.delete(`full:${botId}`);
    this.held.delete(`scan:${botId}`);
  }

  /** Bytes held, for metrics and tests. */
  get bytes(): number {
    return this.held.calculatedSize;
  }

  /** Bots whose whole snapshot is held, least recently used first. */
  botIds(): string[] {
    return [...this.held.rkeys()].filter((key) => key.startsWith('full:')).map((key) => key.slice(5));
  }

  /**
   * The bot's snapshot version and epoch in Redis as of now; null when it has none. The request is sent
   * before this returns, so a caller can score while it travels.
   * @throws whatever the store throws, or an Error when the check takes longer than `versionTimeoutMs`.
   */
  versionNow(botId: string, options?: { head?: boolean }): ReturnType<SnapshotStore['currentVersion']> {
    return withDeadline(this.store.currentVersion(botId, options), this.versionTimeoutMs, () => {
      throw new Error(`snapshot version check took over ${this.versionTimeoutMs} ms`);
    });
  }

  /**
   * Reads the whole snapshot (bringing `held` up to date where the store can); undefined (nothing kept)
   * when it is absent or of another epoch.
   */
  private async load({ botId, epoch, head }: LoadContext, held: Held | undefined): Promise<Held | undefined> {
    const previous = held !== undefined && 'full' in held ? held.full.snapshot : undefined;
    const snapshot = await this.store.read(botId, previous, head);
    // The whole snapshot replaces the bot's scan form too: it answers everything the codes do. Absent or
    // of another epoch, neither form is any use.
    this.held.delete(`scan:${botId}`);
    if (snapshot === null || snapshot.epoch !== epoch) return undefined;
    const ids = snapshot.rows.map((row) => row.chunk_id);
    const texts = snapshot.texts ?? (await this.textsOf(botId, ids, snapshot.version));
    let textBytes = 0;
    for (const text of texts ?? []) textBytes += text.length * 2 + TEXT_OVERHEAD_BYTES;
    return {
      full: {
        snapshot,
        rowsByFilename: indexRowsByFilename(snapshot.rows),
        visible: visibilityMask(snapshot.rows),
        ids,
        hasCreatedAt: snapshot.rows.every((row) => row.created_at !== undefined),
        firstExpiry: firstExpiryOf(snapshot.rows),
        texts,
        bytes:
          snapshot.vectors.byteLength * (1 + INT8_COPY_SHARE) +
          snapshot.rows.length * ROW_OVERHEAD_BYTES +
          textBytes,
      },
    };
  }

  /**
   * A small bot's texts at the version just read, in row order; undefined for a large bot, or when the
   * snapshot moved or lost a text meanwhile (searches then read their hits' texts, which checks again).
   */
  private async textsOf(botId: string, ids: string[], version: string): Promise<string[] | undefined> {
    if (ids.length > this.textsHeldMaxRows) return undefined;
    // Holding the texts only saves a read per search: failing to read them must not cost the snapshot
    // just read. A Redis that is really down shows in that search's own read.
    const texts = await this.store.textsAt(botId, ids, version).catch(() => null);
    return Array.isArray(texts) ? texts : undefined;
  }

  /** Reads the scan form; undefined (nothing kept) when it is absent or of another epoch. */
  private async loadScan({ botId, epoch, head }: LoadContext): Promise<Held | undefined> {
    const scan = await this.store.readScan(botId, head);
    if (scan === null || scan.epoch !== epoch) {
      this.held.delete(`full:${botId}`);
      return undefined;
    }
    return { scan: { scan, bytes: scan.matrix.codes.byteLength + (scan.liveMask?.byteLength ?? 0) } };
  }
}

/** The earliest `expires_at` among rows, or undefined when none expires. */
function firstExpiryOf(rows: readonly { expires_at?: number }[]): number | undefined {
  let first: number | undefined;
  for (const row of rows) {
    if (row.expires_at !== undefined && (first === undefined || row.expires_at < first))
      first = row.expires_at;
  }
  return first;
}
