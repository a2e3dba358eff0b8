/**
 * The snapshot's ports: the per-bot snapshot store and the keyword index kept beside it. The use cases
 * speak to these; the Redis adapters (./redis) and the memory-mode store (./memory-store.ts) implement them.
 */
import type { ScanCandidates, ScanSnapshot, Snapshot, SnapshotChange } from '../domain/snapshot';
import type { BotCollection, StoredChunk } from '../domain/types';

/** Domain types the snapshot ports speak in, named here too for their implementations and callers. */
export type { ScanCandidates, ScanSnapshot, Snapshot, SnapshotChange, SnapshotRow } from '../domain/snapshot';

/** A rebuild being staged page by page (see `SnapshotStore.stageRebuild`). */
export interface RebuildStaging {
  /** Stages one page. @throws ValidationError when a chunk belongs to another bot. */
  add(chunks: StoredChunk[]): Promise<void>;
  /**
   * Publishes what was staged as `commitRebuild` does (stream changes meanwhile re-read through
   * `reread`); false when it gave up. Releases the slot either way.
   */
  commit(reread: (chunkIds: string[]) => Promise<StoredChunk[]>): Promise<boolean>;
  /** Gives up without publishing: releases the slot and the staging keys (nothing after a commit). */
  abort(): Promise<void>;
}

/**
 * What a store's read starts from, read with the version by `currentVersion(botId, { head: true })` and
 * handed back to `read` or `readScan`; its content is the store's own.
 */
export interface ReadHead {
  readonly version: string;
}

/** What `currentVersion` found. */
export type CurrentVersion = { version: string; epoch: number; head?: ReadHead };

/** Held by the one rebuild of a bot that may run at a time. */
export type RebuildTicket = { botId: string; token: string; epoch: number };

/**
 * The per-bot vector snapshot in Redis. Invariant: a bot's snapshot is either exactly what
 * VectorEmbeddings holds (valid embeddings only) or absent.
 */
export interface SnapshotStore {
  /** Applies a bot's changes in order if its snapshot is present; remembers them if a rebuild runs; else nothing. */
  applyChanges(botId: string, changes: SnapshotChange[]): Promise<void>;
  /**
   * Version and epoch of a present, complete snapshot (one round trip), or null. With `head`, a store
   * whose reads start from a head returns that too (same round trip).
   */
  currentVersion(botId: string, options?: { head?: boolean }): Promise<CurrentVersion | null>;
  /**
   * The whole snapshot read atomically, or null when it is absent or found inconsistent (then it is dropped).
   * A store that can bring `previous` (the caller's copy) up to date by reading what changed does so.
   * `head` (from `currentVersion`) spares the read its first round trip; a snapshot that moved since is
   * read anew.
   */
  read(botId: string, previous?: Snapshot, head?: ReadHead): Promise<Snapshot | null>;
  /**
   * Version and epoch from the bot's item the search already holds (memory mode: checking is free), or
   * undefined when only the store can tell (`currentVersion`).
   */
  versionOf(bot: BotCollection): { version: string; epoch: number } | undefined;
  /**
   * Whether the store keeps a scan representation (the int8 codes, read without the float32 vectors). A
   * search of a store without one reads the whole snapshot and never calls `readScan` or `candidates`.
   */
  readonly scans: boolean;
  /**
   * The int8 scan codes of a present, complete snapshot (no float32 vectors, no rows), or null. `head`
   * (from `currentVersion`) spares the read its first round trip; a snapshot that moved since is read anew.
   */
  readScan(botId: string, head?: ReadHead): Promise<ScanSnapshot | null>;
  /** Rows and float32 vectors of the given slots of `scan`, or null when the snapshot changed since. */
  candidates(scan: ScanSnapshot, slots: readonly number[]): Promise<ScanCandidates | null>;
  /** Texts of the given chunks; null when any is missing (then the snapshot cannot be trusted). */
  texts(botId: string, chunkIds: string[]): Promise<string[] | null>;
  /**
   * `texts`, read only if the snapshot is still at `version`, in the same round trip: 'moved' when it is
   * not (changed, rebuilt or gone). A warm search answers from its held copy with this one round trip.
   */
  textsAt(botId: string, chunkIds: string[], version: string): Promise<string[] | 'moved' | null>;
  /** Claims the bot's one rebuild slot; null when another rebuild holds it. */
  beginRebuild(botId: string, epoch: number): Promise<RebuildTicket | null>;
  /**
   * Publishes a snapshot read from DynamoDB after beginRebuild. Chunks changed by stream records while it
   * was read are re-read through `reread` (strongly consistent). Returns false when it gave up (the ticket
   * was lost, or changes kept arriving); the snapshot then stays absent.
   */
  commitRebuild(
    ticket: RebuildTicket,
    chunks: StoredChunk[],
    reread: (chunkIds: string[]) => Promise<StoredChunk[]>,
  ): Promise<boolean>;
  /**
   * The streaming form of `commitRebuild`: pages are staged as they are read (rebuild memory is a page,
   * not the bot), chunks not of `dimension` left out.
   */
  stageRebuild(ticket: RebuildTicket, dimension: number): RebuildStaging;
  /** Removes every key of the bot's snapshot. */
  drop(botId: string): Promise<void>;
}

/** A chunk's terms (tokenised text, repeats kept) for the keyword index; null terms: the chunk went. */
export type KeywordChange = { chunkId: string; terms: readonly string[] | null };

/** One chunk of a keyword index build. */
export type KeywordDocument = { chunkId: string; terms: readonly string[] };

/**
 * Chunk ids by the index's document numbers, in buckets of `bucketSize`: number n is
 * `buckets[⌊n / bucketSize⌋][n mod bucketSize]`. A bucket is the same array object from read to read while
 * its numbers name the same chunks, so a reader may key what it derives from a bucket on the array.
 */
export type DocumentIds = { bucketSize: number; buckets: readonly (readonly (string | undefined)[])[] };

/**
 * The postings of each query term (in the order asked), each naming its chunks by document number (every
 * number names a chunk of `ids`), and the statistics BM25 needs.
 */
export type KeywordPostings = {
  docCount: number;
  totalLength: number;
  ids: DocumentIds;
  postings: { numbers: Uint32Array; tfs: Uint32Array; lengths: Uint32Array }[];
};

/** `missing`: absent, of another version, or found broken (and dropped); `busy`: an update or build runs. */
export type KeywordRead = KeywordPostings | 'missing' | 'busy';

/**
 * A bot's BM25 index kept beside its snapshot (docs/snapshot.md, "The keyword index"), stamped with the
 * snapshot version it describes exactly, or absent. The stream handler brackets each snapshot update
 * with `beginUpdate` and `finishUpdate`, so an update costs O(batch); anything else drops it.
 */
export interface KeywordIndexStore {
  /** Before a snapshot update: a token when the index describes the snapshot as it is (else it is dropped). */
  beginUpdate(botId: string): Promise<string | null>;
  /** After the snapshot update took `changes` (in order): the index follows; false when it was dropped. */
  finishUpdate(botId: string, token: string, changes: readonly KeywordChange[]): Promise<boolean>;
  drop(botId: string): Promise<void>;
  /** The terms' postings if the index describes snapshot `version` and is whole. */
  read(botId: string, version: string, terms: readonly string[]): Promise<KeywordRead>;
  /** Builds the index of snapshot `version` from every chunk's terms; false when the snapshot moved on. */
  build(botId: string, version: string, documents: readonly KeywordDocument[]): Promise<boolean>;
  /**
   * Claims the index for a snapshot rebuild starting now (any index is dropped): a claim for
   * `publishBuild`. A later claim, or a stream update of the bot meanwhile, takes the claim away.
   */
  claimBuild(botId: string): Promise<string>;
  /**
   * Writes the index of the rebuilt snapshot `version` from every chunk's terms and stamps it, if the
   * claim still holds and the snapshot is at `version` holding exactly these chunks; else false (absent).
   */
  publishBuild(
    botId: string,
    claim: string,
    version: string,
    documents: readonly KeywordDocument[],
  ): Promise<boolean>;
}
