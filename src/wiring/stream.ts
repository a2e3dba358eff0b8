import type { Logger } from '@aws-lambda-powertools/logger';
import type { SyncStreamBatchDeps } from '../use-cases/sync-stream-batch';
import { botStatsOf, chunkStoreOf } from './adapters';
import { type BaseDeps, baseDeps, guardedKeywordIndexStore, guardedSnapshotStore } from './base';
import { type MetricsSink, once } from './dynamo-base';

/** What handlers/stream-sync.ts needs: the use case's dependencies plus the logger and metrics to report. */
export type StreamDeps = {
  sync: SyncStreamBatchDeps;
  logger: Logger;
  metrics: MetricsSink;
  /** VectorEmbeddings' table name: records from any other stream are skipped. */
  streamTable: string;
};

/**
 * The stream handler's dependencies over `base`. Without Redis there is no snapshot cache to keep
 * current: the handler maintains counts only, and says so once (not on every batch).
 */
export function createStreamDeps(base: BaseDeps): StreamDeps {
  const { config, logger } = base;
  if (config.snapshotMode === 'none') {
    logger.warn('REDIS_URL is unset: the stream handler keeps counts only, no snapshots are maintained');
  }
  return {
    sync: {
      stats: botStatsOf(base),
      snapshots: guardedSnapshotStore(base),
      keywords: guardedKeywordIndexStore(base),
      // A bot loaded without a search gets its snapshot here, so its first search is served from it.
      startSnapshots: { chunks: chunkStoreOf(base) },
      log: logger,
      defaultEmbeddingDimension: config.defaultEmbeddingDimension,
    },
    logger,
    metrics: base.metrics,
    streamTable: config.tables.vectorEmbeddings,
  };
}

/** The container's, built once from the environment. */
export const streamDeps = once(() => createStreamDeps(baseDeps()));
