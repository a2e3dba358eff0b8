import type { ChunkVersion } from './types';

/** What a VectorEmbeddings stream image says about a chunk, as far as counts and snapshots need it. */
export type ChunkImage = {
  /** Undefined for an item written without one: it counts in the bot's total, in no document. */
  filename: string | undefined;
  fileSize: number | undefined;
  createdAt: string | undefined;
  chunkIndex: unknown;
  text: unknown;
  metadata: unknown;
  /** As stored: number[] (List<Number>), base64 string (Binary in Lambda's JSON) or Uint8Array (Binary via the SDK). */
  embedding: unknown;
  /** The document version the chunk belongs to; absent for chunks written without one. */
  version: ChunkVersion | undefined;
  /** Epoch second the chunk expires (the TTL attribute); undefined when it never does. */
  expiresAt: number | undefined;
};

/** One VectorEmbeddings stream record, validated and unmarshalled. */
export type StreamChange = {
  eventId: string;
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** As delivered; the identifier a partial batch response names. */
  sequenceNumber: string;
  /** The same number for ordering: 21 to 40 digits, beyond what a JavaScript number holds exactly. */
  sequence: bigint;
  botId: string;
  chunkId: string;
  /**
   * The claim item this record is counted under (`stream-claims.ts`): its creation second, shared by the
   * bot's records of that second, or the record's own eventID when the record carries no creation time.
   */
  claimBucket: string;
  oldImage: ChunkImage | undefined;
  newImage: ChunkImage | undefined;
};
