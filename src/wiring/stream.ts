import { DynamoBotStats } from '../adapters/dynamodb/bot-stats';
import { DynamoChunkStore } from '../adapters/dynamodb/chunk-store';
import type { SyncStreamBatchDeps } from '../use-cases/sync-stream-batch';
import { type BaseDeps, baseDeps, guardedKeywordIndexStore, guardedSnapshotStore } from './base';

/** What handlers/stream-sync.ts needs: the use case's dependencies plus the logger and metrics to report. */
export type StreamDeps = {
  sync: SyncStreamBatchDeps;
  logger: BaseDeps['logger'];
  metrics: BaseDeps['metrics'];
};

let deps: StreamDeps | undefined;

/**
 * Builds the stream handler's dependencies once per container. Without REDIS_URL there is no snapshot
 * cache to keep current: the handler maintains counts only, and says so once (not on every batch).
 */
export function streamDeps(): StreamDeps {
  if (deps === undefined) {
    const base = baseDeps();
    const { config, logger } = base;
    if (base.redis === null) {
      logger.warn('REDIS_URL is unset: the stream handler keeps counts only, no snapshots are maintained');
    }
    deps = {
      sync: {
        stats: new DynamoBotStats(base.documents, {
          botCollectionsTable: config.tables.botCollections,
          botDocumentsTable: config.tables.botDocuments,
          streamClaimsTable: config.tables.streamClaims,
          defaultEmbeddingDimension: config.defaultEmbeddingDimension,
        }),
        snapshots: guardedSnapshotStore(base),
        keywords: guardedKeywordIndexStore(base),
        // A bot loaded without a search gets its snapshot here, so its first search is served from it.
        startSnapshots: {
          chunks: new DynamoChunkStore(base.documents, {
            table: config.tables.vectorEmbeddings,
            embeddingEncoding: config.embeddingEncoding,
          }),
        },
        log: logger,
        defaultEmbeddingDimension: config.defaultEmbeddingDimension,
      },
      logger,
      metrics: base.metrics,
    };
  }
  return deps;
}
