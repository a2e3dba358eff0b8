import type { ChunkMetadata } from './types';

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
};

/** One change to a bot's snapshot, as a stream record implies it. Applying one twice is harmless. */
export type SnapshotChange =
  | { kind: 'upsert'; row: SnapshotRow; text: string; embedding: Float32Array }
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
};
