import type { QuantisedMatrix } from './ranking/int8-codes';
import type { ChunkMetadata, ChunkVersion, StoredChunk } from './types';

/**
 * What the Redis snapshot keeps per chunk besides its vector (text is kept apart and fetched for the
 * top results only).
 */
export type SnapshotRow = {
  chunk_id: string;
  filename: string;
  chunk_index: number;
  metadata: ChunkMetadata;
  /** For filters on created_at; absent in rows written before it was kept. */
  created_at?: string;
  /** The document version the chunk belongs to; absent for chunks written without one. */
  version?: ChunkVersion;
  /** Epoch second the chunk expires; search leaves it out from then on. Absent when it never does. */
  expires_at?: number;
};

/** A stored chunk's snapshot row. */
export function snapshotRowOf(chunk: StoredChunk): SnapshotRow {
  return {
    chunk_id: chunk.chunk_id,
    filename: chunk.filename,
    chunk_index: chunk.chunk_index,
    metadata: chunk.metadata,
    created_at: chunk.created_at,
    ...(chunk.version === undefined ? {} : { version: chunk.version }),
    ...(chunk.expires_at === undefined ? {} : { expires_at: chunk.expires_at }),
  };
}

/**
 * One change to a bot's snapshot, as a stream record implies it. Applying one twice is harmless. `row`
 * replaces the row of a chunk the snapshot holds and leaves its vector and text as they are (a chunk it
 * does not hold stays out): what a change of metadata or expiry alone implies.
 */
export type SnapshotChange =
  | { kind: 'upsert'; row: SnapshotRow; text: string; embedding: Float32Array }
  | { kind: 'row'; row: SnapshotRow }
  | { kind: 'delete'; chunk_id: string };

/**
 * A bot's snapshot as read in one atomic step. `vectors` holds `rows.length` L2-normalised vectors of
 * `dimension` floats, row i at offset i * dimension, so cosine similarity is a dot product.
 */
export type Snapshot = {
  botId: string;
  /** Changes whenever the content changes, and never repeats for different content (survives FLUSHALL). */
  version: string;
  /** The BotCollections.snapshot_epoch it was built under; a different current epoch means stale. */
  epoch: number;
  dimension: number;
  rows: SnapshotRow[];
  vectors: Float32Array;
  /** Every row's text, in row order, when the store read them with the snapshot (else read per search). */
  texts?: readonly string[];
};

/**
 * What a cold search reads of a snapshot: the int8 scan codes of every slot (free ones included) with
 * the terms of their error bound, but no float32 vector and no row (see docs/snapshot.md, "Scan reads").
 */
export type ScanSnapshot = {
  botId: string;
  /** The same version string as `currentVersion` and `read` give. */
  version: string;
  epoch: number;
  dimension: number;
  /** Chunks held (free slots aside; chunks of versions not shown included). */
  live: number;
  /** Codes of slot i at i · dimension; `rowCount` is the number of slots. */
  matrix: QuantisedMatrix;
  /**
   * 1 for slots holding a chunk search may return (one of the version its document shows); absent when
   * every slot does.
   */
  liveMask?: Uint8Array;
  /** Rows per vector segment (how the store finds a slot's vector). */
  segmentRows: number;
};

/** Rows and float32 unit vectors (row i at i · dimension) of some slots, in the order asked. */
export type ScanCandidates = { rows: SnapshotRow[]; vectors: Float32Array };
