/**
 * Where a search that won a bot's rebuild slot sends the chunks it reads from DynamoDB: page by page into
 * the store's staging (rebuild memory: one page) when the store can stage pages, else into one array for
 * `commitRebuild`. Redis failures are logged, never thrown: the search still answers from its read.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { StoredChunk } from '../domain/types';
import { CacheUnavailableError } from '../errors';
import type { ChunkStore, RebuildStaging, RebuildTicket, SnapshotStore } from '../ports';

export type RebuildSink = {
  /** Takes one page (staged at once, or kept for the end). */
  add(page: StoredChunk[]): Promise<void>;
  /** Publishes the snapshot (or gives up) and releases the slot. */
  finish(): Promise<void>;
};

type SinkDeps = { chunks: Pick<ChunkStore, 'get'>; logger: Pick<Logger, 'warn' | 'info'> };

/**
 * A sink for the rebuild `ticket` of `botId`. `keepPages` keeps every page in memory even when the
 * store could stage them (the caller needs them all, as a keyword query does).
 */
export function rebuildSink(
  deps: SinkDeps,
  snapshots: SnapshotStore,
  ticket: RebuildTicket,
  dimension: number,
  keepPages: StoredChunk[] | null,
): RebuildSink {
  const { botId } = ticket;
  const reread = (chunkIds: string[]) => deps.chunks.get(botId, chunkIds, { consistent: true });
  const report = (error: unknown) => {
    if (!(error instanceof CacheUnavailableError))
      deps.logger.warn('Snapshot rebuild failed', { botId, error });
  };
  let staging: RebuildStaging | null =
    keepPages === null && snapshots.stageRebuild !== undefined
      ? snapshots.stageRebuild(ticket, dimension)
      : null;
  if (staging === null) {
    const everyChunk = keepPages ?? [];
    return {
      add: async (page) => {
        if (keepPages === null) everyChunk.push(...page);
      },
      finish: async () => {
        try {
          const published = await snapshots.commitRebuild(ticket, everyChunk, reread);
          deps.logger.info('Snapshot rebuild finished', { botId, published, chunks: everyChunk.length });
        } catch (error) {
          report(error);
        }
      },
    };
  }
  let staged = 0;
  return {
    add: async (page) => {
      if (staging === null) return;
      try {
        await staging.add(page);
        staged += page.length;
      } catch (error) {
        // Stop staging; the search goes on from DynamoDB, and the next search that misses rebuilds.
        report(error);
        await staging.abort();
        staging = null;
      }
    },
    finish: async () => {
      if (staging === null) return;
      try {
        const published = await staging.commit(reread);
        deps.logger.info('Snapshot rebuild finished', { botId, published, chunks: staged });
      } catch (error) {
        report(error);
      }
    },
  };
}
