import type { PointId, QdrantPoint } from './contracts/qdrant-point';

/** One vector of a Qdrant collection's config: `name` undefined for a collection's single unnamed vector. */
export type QdrantVectorParams = { name: string | undefined; size: number; distance: string };

/** What the migration needs of a Qdrant collection's info. */
export type QdrantCollectionInfo = { pointsCount: number; vectors: QdrantVectorParams[] };

/** One scroll page: the points and the id to continue from (null after the last page). */
export type QdrantPage = {
  points: QdrantPoint[];
  next: PointId | null;
};

/**
 * One Qdrant collection, read-only, as the migration reads it: collection info, scroll (with payload and
 * vectors) and exact count. Point ids come back exactly as the server wrote them.
 * @throws QdrantSourceError saying what to check (URL, API key, collection name).
 */
export interface QdrantSource {
  info(): Promise<QdrantCollectionInfo>;
  /** `vectors: false` leaves the points' vectors out (a pass that needs payloads only). */
  scroll(offset: PointId | null, limit: number, options?: { vectors: boolean }): Promise<QdrantPage>;
  /** Exact count of the collection's points, or of those whose payload `key` matches `value`. */
  count(match?: { key: string; value: string | number }): Promise<number>;
  /** The names of the collection's aliases, sorted (the collection may have been named by one of them). */
  aliases(): Promise<string[]>;
}
