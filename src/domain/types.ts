/** Free-form key/values stored with a chunk and returned with search results. */
export type ChunkMetadata = Record<string, unknown>;

/**
 * The version of a document a chunk belongs to (docs/ingestion.md, "Versions"). Every chunk an
 * `upsert_document` writes carries one; chunks written without one (a Qdrant migration) have none.
 */
export type ChunkVersion = {
  /** 16 hex digits, the same on every chunk of the version (all parts of a split document). */
  id: string;
  /** How many chunks the version has (its `total_chunks`). */
  chunks: number;
  /** ISO time the write of this chunk started: among complete versions the latest one is shown. */
  at: string;
};

/** One item of VectorEmbeddings with its embedding decoded, whichever encoding stored it. */
export type StoredChunk = {
  bot_id: string;
  chunk_id: string;
  embedding: Float32Array;
  text: string;
  filename: string;
  file_size: number;
  chunk_index: number;
  created_at: string;
  metadata: ChunkMetadata;
  /** Absent on chunks written without a version (they count as one version older than any other). */
  version?: ChunkVersion;
  /** Epoch second the chunk expires (the table's TTL attribute); absent for a chunk that never does. */
  expires_at?: number;
};

/**
 * `deleting` while a delete removes the bot's chunks (writes are refused), `deleted` once it answered: the
 * record stays as a tombstone, so late writes find the bot deleted instead of creating it again.
 */
export type BotStatus = 'active' | 'inactive' | 'deleting' | 'deleted';

/** One item of BotCollections. `user_id` is absent for a bot that only the stream handler has seen. */
export type BotCollection = {
  bot_id: string;
  user_id?: string;
  name?: string;
  total_chunks: number;
  total_documents: number;
  embedding_dimension: number;
  created_at: string;
  updated_at: string;
  status: BotStatus;
  /** Bumped whenever a snapshot update could not reach Redis; a snapshot built under another epoch is stale. */
  snapshot_epoch?: number;
  /**
   * Moved by the stream handler in the same transaction as the counts, by one for every counts write
   * (every change of a chunk of the bot); absent before the first. The memory snapshot mode checks its
   * held copies against it.
   */
  data_version?: number;
  /** BM25 term-frequency saturation for keyword search (default 1.2). */
  bm25_k1?: number;
  /** BM25 length normalisation for keyword search, in [0, 1] (default 0.75). */
  bm25_b?: number;
};

/** One item of BotAliases: a name that read and search routes accept in place of `bot_id`. */
export type BotAlias = {
  alias: string;
  bot_id: string;
  /** The alias's owner, who must also own `bot_id` to use it. */
  user_id: string;
  updated_at: string;
};

/** One item of BotDocuments: a document of a bot that has at least one chunk. */
export type DocumentSummary = {
  filename: string;
  chunk_count: number;
  file_size: number;
  created_at: string;
  updated_at: string;
  /** Epoch second the document's latest written chunks expire; absent when they never do. */
  expires_at?: number;
};

/** What search returns per chunk: the design document's result shape plus chunk_id. */
export type SearchHit = {
  chunk_id: string;
  text: string;
  score: number;
  metadata: { filename: string; chunk_index: number } & ChunkMetadata;
  /** With query_text: the cosine similarity (absent for keyword-only search), BM25 and fused score. */
  vector_score?: number;
  keyword_score?: number;
  fused_score?: number;
  /** The chunk's unit-length vector, when the search asked for vectors. */
  vector?: number[];
};
