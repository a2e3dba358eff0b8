import type { ExampleVectors } from '../domain/recommend';
import type { ScoreBuffer, TopKKernel } from '../domain/scoring';
import type { BotRegistry, ChunkStore, Log } from '../ports';
import type { KeywordIndexStore, SnapshotCache, SnapshotStore } from '../snapshot';
import type { FallbackGate } from './fallback-gate';
import type { KeywordQuery } from './keyword-search';

/** What search reads and is bounded by: the ports, the container's snapshot cache and its gates. */
export type SearchDeps = {
  bots: Pick<BotRegistry, 'get'>;
  chunks: Pick<ChunkStore, 'readBot' | 'get'>;
  /** null when no Redis is configured: every search reads DynamoDB. */
  snapshots: SnapshotStore | null;
  cache: SnapshotCache | null;
  scores: ScoreBuffer;
  /** Where keyword scores land (one per search function, made by `makeSearch` when not given). */
  keywordScores?: ScoreBuffer;
  /** The bots' keyword indexes in Redis (hybrid search reads only its terms' postings); else built in process. */
  keywords?: KeywordIndexStore | undefined;
  /** Largest bot whose keyword index a query builds (snapshot-bm25.ts); rebuilds build it at any size. */
  keywordQueryBuildMaxChunks?: number;
  /** The native exact scan (src/domain/quantised-scan.ts); without it the portable loop scores. */
  kernel?: TopKKernel;
  logger: Pick<Log, 'warn' | 'info'>;
  /** Bounds this container's full DynamoDB reads (made by `makeSearch` when not given). */
  fallback?: FallbackGate;
  /** A search still running after this long answers 503 (default SEARCH_DEADLINE_MS). */
  deadlineMs?: number;
  /** The clock expiry is judged by (default: the system clock). */
  now?: () => Date;
};

/**
 * The query as both sources take it: a unit vector and/or keyword terms, or (best_score) example
 * vectors, and the bot's dimension.
 */
export type QueryPlan = {
  unit: Float64Array | null;
  keywords: KeywordQuery | null;
  examples: ExampleVectors | null;
  dimension: number;
  /** The epoch second of the query: chunks expired by then are left out. */
  now: number;
};
