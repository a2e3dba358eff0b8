import type { DynamoDBRecord } from 'aws-lambda';
import type { DocumentState } from './domain/count-deltas';
import type { CountsWrite } from './domain/counts-plan';
import type { StreamClaim } from './domain/stream-claims';
import type { BotAlias, BotCollection, ChunkMetadata, ChunkVersion, StoredChunk } from './domain/types';

/** Domain types the ports speak in, named here too for the adapters and use cases that implement them. */
export type { CountsWrite, DocumentWrite } from './domain/counts-plan';
export type { StreamClaim } from './domain/stream-claims';
/** The Qdrant source of the migration (its own file: only the migration speaks it). */
export type { QdrantCollectionInfo, QdrantPage, QdrantSource, QdrantVectorParams } from './qdrant-source';

/** A chunk key with the position it holds in its document. */
export type ChunkKey = { chunk_id: string; chunk_index: number };

/**
 * A document's chunk key with the created_at it was stored with (absent on items written without one)
 * and its version (absent on chunks written without one).
 */
export type DocumentChunkKey = ChunkKey & { created_at?: string; version?: ChunkVersion };

/** A range of chunk ids: from `from` (inclusive; absent: the first) to `below` (exclusive; absent: the last). */
export type ChunkIdRange = { from?: string; below?: string };

/** VectorEmbeddings. Every read follows LastEvaluatedKey; every write is batched and retried. */
export interface ChunkStore {
  /**
   * Writes chunks with BatchWriteItem in groups of 25, retrying UnprocessedItems with backoff and jitter.
   * @throws WriteIncompleteError naming the chunks still unwritten after the last attempt.
   */
  put(chunks: StoredChunk[]): Promise<void>;
  /** Deletes the named chunks of a bot (batched like put). */
  delete(botId: string, chunkIds: string[]): Promise<void>;
  /**
   * Replaces the metadata of each named chunk that still exists (one conditional update each: nothing
   * else of the item is sent or changed). Returns how many chunks it updated.
   */
  setMetadata(
    botId: string,
    updates: ReadonlyArray<{ chunk_id: string; metadata: ChunkMetadata }>,
  ): Promise<number>;
  /** A document's chunk keys and created_at: filename-index, plus a consistent read of ids it may lag on. */
  documentChunkKeys(botId: string, filename: string): Promise<DocumentChunkKey[]>;
  /** Chunk ids of every chunk of a bot, page by page, reading keys only. */
  botChunkIds(botId: string): AsyncIterable<string[]>;
  /**
   * Every chunk of a bot, page by page; items no search may serve go to `onInvalid` and are left out.
   * `withText: false` leaves `text` empty and does not read it. `range` reads only the chunk ids from
   * `from` (inclusive) to `below` (exclusive), so disjoint ranges can be read in parallel.
   */
  readBot(
    botId: string,
    options: {
      consistent: boolean;
      withText: boolean;
      onInvalid?: (chunkId: string, error: Error) => void;
      range?: ChunkIdRange;
    },
  ): AsyncIterable<StoredChunk[]>;
  /** The named chunks (BatchGetItem, all pages); absent or unservable ones are left out. */
  get(botId: string, chunkIds: string[], options: { consistent: boolean }): Promise<StoredChunk[]>;
}

/** BotCollections fields that owners set; counts and stream bookkeeping belong to the stream handler. */
export type BotSettings = { name?: string; embedding_dimension?: number; bm25_k1?: number; bm25_b?: number };

/** One page of an owner's bots; `nextCursor` is absent on the last page. */
export type OwnedBotsPage = { bots: BotCollection[]; nextCursor?: string };

/** BotCollections, as the write path and the HTTP API see it. */
export interface BotRegistry {
  get(botId: string): Promise<BotCollection | undefined>;
  /**
   * One page of the bots `userId` owns (deleted ones too), in bot id order. `cursor` is the previous
   * page's `nextCursor`. @throws ValidationError naming `cursor` when it is not one this returned
   */
  listOwned(userId: string, page: { limit: number; cursor?: string }): Promise<OwnedBotsPage>;
  /**
   * Creates the bot's record if it has none (owner optional: upstream ingestion may name one), never
   * overwriting an existing owner, name or status. Returns the record as it is afterwards.
   */
  ensure(botId: string, init: BotSettings & { user_id?: string }): Promise<BotCollection>;
  /**
   * Creates the bot owned by `userId`, or updates it when `userId` already owns it (or nobody does yet).
   * @throws ConflictError when another user owns it, or it is deleted or being deleted (see `recreate`).
   */
  putOwned(botId: string, userId: string, settings: BotSettings): Promise<BotCollection>;
  /**
   * Starts the bot over after it was deleted: active, owned by `userId`, created now, with only the given
   * settings (the rest back to their defaults), and a new snapshot epoch so that no snapshot of its
   * former content is ever used.
   * @throws ConflictError when the bot is not deleted (any more), or another user owned it.
   */
  recreate(botId: string, userId: string, settings: BotSettings): Promise<BotCollection>;
  /**
   * Sets status to 'deleting' (writes are refused from here on) if the bot has a record; returns whether
   * it has one.
   */
  beginDelete(botId: string): Promise<boolean>;
  /**
   * Sets status to 'deleted' once its chunks are gone, and moves the snapshot epoch on (no snapshot of
   * the removed chunks is used again); does nothing for a bot without a record. Counts reach 0 through
   * the stream as the deletions arrive.
   */
  markDeleted(botId: string): Promise<void>;
}

/** The aliases of BotAliases: one item per alias, so creating or moving one is a single write. */
export interface BotAliases {
  /** The alias (strongly consistent), or undefined when there is none by that name. */
  get(alias: string): Promise<BotAlias | undefined>;
  /** The names of the aliases pointing at `botId`, sorted (read from an index: follows a switch within a second). */
  listFor(botId: string): Promise<string[]>;
  /**
   * Points `alias` at `botId` for `userId` in one conditional write: creates it (`created`), or moves the
   * caller's own. @throws ForbiddenError when another user owns the alias.
   */
  put(alias: string, botId: string, userId: string): Promise<{ created: boolean }>;
  /**
   * Removes the caller's alias in one conditional write.
   * @throws NotFoundError when there is no such alias. @throws ForbiddenError when another user owns it.
   */
  remove(alias: string, userId: string): Promise<void>;
}

/** A bot's counts and stream bookkeeping in BotCollections, as the stream handler reads them. */
export type BotCountsState = {
  /** Whether BotCollections has an item for the bot. */
  exists: boolean;
  snapshotEpoch: number;
  /** The owner's setting, undefined when the bot has no record or none was set. */
  embeddingDimension: number | undefined;
  totalChunks: number;
  totalDocuments: number;
  /** The bot's data_version (0 when it has none): each counts write moves it by one. */
  dataVersion: number;
};

/** How `BotStats.apply` ended. */
export type CountsApplyResult = {
  /** How many of the writes committed, in order. */
  committed: number;
  /**
   * The first uncommitted write lost a race: one of its records was claimed or a document's count moved
   * since read (another delivery of the same records, or another shard of the bot, committed meanwhile),
   * or another transaction held one of its items. Re-read the claims and documents and recompute.
   */
  conflict: boolean;
};

/** BotCollections counts, BotDocuments and the stream claims, as the stream handler needs them. */
export interface BotStats {
  /** The bot's counts, epoch and dimension, read strongly consistently. */
  read(botId: string): Promise<BotCountsState>;
  /** Which of the bot's records (their eventIDs) are claimed (counted) already; strongly consistent. */
  claimed(botId: string, claims: StreamClaim[]): Promise<Set<string>>;
  /** The named documents (strongly consistent, all pages); absent ones are left out. */
  readDocuments(botId: string, filenames: string[]): Promise<Map<string, DocumentState>>;
  /**
   * Commits the writes in order, one transaction each, and stops at the first that is cancelled by a
   * lost race (a record claimed or a document's count moved since read, or, with a change log, the bot's
   * data_version moved since read). Each write moves data_version by one; with a change log it sets it
   * to the write's `dataVersion` and records the write's chunk ids under that version in the same
   * transaction (`ChangeLog`). Other failures throw.
   */
  apply(botId: string, writes: CountsWrite[]): Promise<CountsApplyResult>;
  /** Bumps `snapshot_epoch` on its own, for a snapshot failure after the counts were already committed. */
  bumpSnapshotEpoch(botId: string, updatedAt: string): Promise<void>;
}

/** The chunk ids each counts write changed, per (bot, data_version), kept a day (StreamClaims items). */
export interface ChangeLog {
  /** The chunks versions `from + 1` to `to` changed (consistent), or null when a version's item is gone. */
  changedSince(botId: string, from: number, to: number): Promise<string[] | null>;
}

/** Who holds a lease: `request` identifies what is written (equal for resends), `token` this attempt. */
export type LeaseHolder = { request: string; token: string };

/**
 * Short per-document write leases (DocumentLeases): one replacement or deletion of a document runs at a
 * time, so two never interleave into a mix of versions.
 */
export interface DocumentLeases {
  /**
   * Takes the document's lease for `holder.token` until `ttlMs` from now, if it is free, expired, or held
   * for the same `holder.request` (a resend of the same request takes over the lease its crashed first
   * try left behind). Returns false when a different request holds it.
   */
  acquire(botId: string, filename: string, holder: LeaseHolder, ttlMs: number): Promise<boolean>;
  /** Gives the lease back if `token` still holds it (a takeover replaced it otherwise); else nothing. */
  release(botId: string, filename: string, token: string): Promise<void>;
  /** Filenames of the bot's documents whose lease is held and not expired (strongly consistent). */
  inUse(botId: string): Promise<string[]>;
}

/** A document as VectorEmbeddings says it is: its chunk count and the size and date of its chunks. */
export type TrueDocument = { filename: string; chunks: number; fileSize: number; createdAt: string };

/** BotCollections' counts of a bot as the doctor reads them. */
export type RecordedCounts = {
  exists: boolean;
  totalChunks: number;
  totalDocuments: number;
  snapshotEpoch: number;
  /** The bot's embedding_dimension, or the default for a bot that has none (as the stream reads it). */
  embeddingDimension: number;
  /** Changes with every counts transaction: two equal reads bracket a moment no transaction touched. */
  updatedAt: string | undefined;
};

/** What the doctor reads and repairs in DynamoDB (docs/doctor.md). */
export interface CountsDoctorStore {
  /** Every bot id in BotCollections, page by page. */
  bots(): AsyncIterable<string[]>;
  /**
   * The documents of a bot counted from VectorEmbeddings (consistent, every page, keys and filename only);
   * chunks without a filename are counted under the filename ''.
   */
  trueDocuments(botId: string): Promise<Map<string, TrueDocument>>;
  recordedCounts(botId: string): Promise<RecordedCounts>;
  /** Every BotDocuments item of the bot: filename -> chunk_count (consistent, every page). */
  recordedDocuments(botId: string): Promise<Map<string, number>>;
  /**
   * Sets one document's count to `document.chunks` (0 deletes it) if it still holds `expected`, and moves
   * the bot's totals by the difference, in one transaction. False when the count moved meanwhile.
   */
  fixDocument(botId: string, document: TrueDocument, expected: number): Promise<boolean>;
  /** Adds the deltas to the bot's totals if its updated_at is still `expectedUpdatedAt`. False if it moved. */
  fixTotals(
    botId: string,
    delta: { chunks: number; documents: number },
    expectedUpdatedAt: string | undefined,
  ): Promise<boolean>;
  bumpSnapshotEpoch(botId: string): Promise<void>;
  /** Moves data_version by one with no change-log entry, so memory-mode copies of the bot are read whole. */
  bumpDataVersion(botId: string): Promise<void>;
}

/** One message of the stream's on-failure destination: a range of records of one shard. */
export type DeadLetter = {
  /** How the source removes it (SQS receipt handle, or the line of the local file). */
  handle: string;
  shardId: string;
  streamArn: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
};

/** The on-failure destination of the stream mapping: SQS in AWS, the runner's JSONL file locally. */
export interface DeadLetterSource {
  /** Where it reads from, for messages. */
  readonly description: string;
  /** The next messages (empty when there are none left). */
  receive(): Promise<DeadLetter[]>;
  /** Removes messages that were applied. */
  remove(letters: DeadLetter[]): Promise<void>;
}

/** Re-reads records of a shard from the stream (they stay 24 hours). */
export interface StreamRangeReader {
  read(
    letter: Pick<DeadLetter, 'shardId' | 'streamArn' | 'startSequenceNumber' | 'endSequenceNumber'>,
  ): Promise<DynamoDBRecord[]>;
}

/**
 * Where code reports what happened: a message and structured attributes. A Powertools `Logger`
 * satisfies it as is; the local tools pass console-backed ones.
 */
export interface Log {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}
