/**
 * Where a search that won a bot's rebuild slot sends the chunks it reads from DynamoDB: page by page into
 * the store's staging (rebuild memory: one page) when the store can stage pages, else into one array for
 * `commitRebuild`. Redis failures are logged, never thrown: the search still answers from its read.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { StoredChunk } from '../domain/types';
import { CacheUnavailableError } from '../errors';
import type { ChunkStore } from '../ports';
import { keywordRebuild } from './keyword-rebuild';
import type { KeywordIndexStore, RebuildStaging, RebuildTicket, SnapshotStore } from './port';

export type RebuildSink = {
  /** Takes one page (staged at once, or kept for the end). */
  add(page: StoredChunk[]): Promise<void>;
  /** Publishes the snapshot (or gives up) and releases the slot. */
  finish(): Promise<void>;
};

type SinkDeps = {
  chunks: Pick<ChunkStore, 'get'>;
  logger: Pick<Logger, 'warn' | 'info'>;
  keywords?: KeywordIndexStore | undefined;
};

/**
 * A sink for the rebuild `ticket` of `botId`. `keepPages` keeps every page in memory even when the
 * store could stage them (the caller needs them all, as a keyword query does). With a keyword store, the
 * bot's keyword index is built from the same pages and stored with the snapshot (keyword-rebuild.ts).
 */
export function rebuildSink(
  deps: SinkDeps,
  snapshots: SnapshotStore,
  ticket: RebuildTicket,
  dimension: number,
  keepPages: StoredChunk[] | null,
): RebuildSink {
  const { botId } = ticket;
  const warn = (message: string, extra: Record<string, unknown>) => deps.logger.warn(message, extra);
  // Claimed while the first page is read; every page passes through it, then the commit's outcome.
  const claim = keywordRebuild(deps.keywords, snapshots, botId, dimension, warn);
  const addKeywords = async (page: StoredChunk[]) => (await claim)?.add(page);
  const finishKeywords = async (published: boolean) => {
    const built = await (await claim)?.finish(published);
    if (built !== undefined) deps.logger.info('Keyword index rebuilt with the snapshot', { botId, built });
  };
  const reread = async (chunkIds: string[]) => {
    (await claim)?.noteReread(chunkIds);
    return deps.chunks.get(botId, chunkIds, { consistent: true });
  };
  const report = (error: unknown) => {
    if (!(error instanceof CacheUnavailableError))
      deps.logger.warn('Snapshot rebuild failed', { botId, error });
  };
  let staging: RebuildStaging | null = keepPages === null ? snapshots.stageRebuild(ticket, dimension) : null;
  if (staging === null) {
    const everyChunk = keepPages ?? [];
    return {
      add: async (page) => {
        if (keepPages === null) everyChunk.push(...page);
        await addKeywords(page);
      },
      finish: async () => {
        let published = false;
        try {
          published = await snapshots.commitRebuild(ticket, everyChunk, reread);
          deps.logger.info('Snapshot rebuild finished', { botId, published, chunks: everyChunk.length });
        } catch (error) {
          report(error);
        }
        await finishKeywords(published);
      },
    };
  }
  let staged = 0;
  return {
    add: async (page) => {
      if (staging === null) return;
      try {
        await staging.add(page);
        await addKeywords(page);
        staged += page.length;
      } catch (error) {
        // Stop staging; the search goes on from DynamoDB, and the next search that misses rebuilds.
        report(error);
        await staging.abort();
        staging = null;
      }
    },
    finish: async () => {
      if (staging === null) return finishKeywords(false);
      let published = false;
      try {
        published = await staging.commit(reread);
        deps.logger.info('Snapshot rebuild finished', { botId, published, chunks: staged });
      } catch (error) {
        report(error);
      }
      await finishKeywords(published);
    },
  };
}
