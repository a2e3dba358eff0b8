import type { StoredChunk } from '../domain/types';
import { CacheUnavailableError } from '../errors';
import type { ChunkStore } from '../ports';
import { keywordRebuild } from './keyword-rebuild';
import type { KeywordIndexStore, RebuildTicket, SnapshotStore } from './port';

/** What a snapshot start needs: the store, a consistent chunk reader and somewhere to say what happened. */
export type StartSnapshotDeps = {
  snapshots: SnapshotStore;
  chunks: Pick<ChunkStore, 'readBot' | 'get'>;
  log: { warn(message: string, extra: Record<string, unknown>): void };
  /** With it, the bot's keyword index is built from the same read (keyword-rebuild.ts). */
  keywords?: KeywordIndexStore | undefined;
};

/** How a start ended: published; another rebuild holds the bot's slot; the protocol gave up; Redis failed. */
export type StartSnapshotOutcome = 'published' | 'busy' | 'gave-up' | 'failed';

/**
 * Builds a bot's snapshot through the rebuild protocol (docs/snapshot.md), without a search: claims the
 * bot's rebuild slot, reads every chunk strongly consistently page by page, and commits. Chunks the stream
 * changes meanwhile are recorded by Redis and re-read by the commit, so the result is exact or absent,
 * as with a search's rebuild. With the bot's `dimension` and a store that stages pages, the read is
 * staged page by page; otherwise it is collected and committed whole. Used by the stream handler so that the first search after a bot is loaded
 * is served from the snapshot instead of paying a full DynamoDB read.
 */
export async function startSnapshot(
  deps: StartSnapshotDeps,
  botId: string,
  epoch: number,
  dimension?: number,
): Promise<StartSnapshotOutcome> {
  try {
    const ticket = await deps.snapshots.beginRebuild(botId, epoch);
    if (ticket === null) return 'busy';
    const warn = (message: string, extra: Record<string, unknown>) => deps.log.warn(message, extra);
    const keywords = await keywordRebuild(deps.keywords, deps.snapshots, botId, dimension, warn);
    const reread = (chunkIds: string[]) => {
      keywords?.noteReread(chunkIds);
      return deps.chunks.get(botId, chunkIds, { consistent: true });
    };
    const published = await publishRead(deps, ticket, dimension, reread, (page) => keywords?.add(page)).catch(
      async (error: unknown) => {
        await keywords?.finish(false);
        throw error;
      },
    );
    await keywords?.finish(published);
    return published ? 'published' : 'gave-up';
  } catch (error) {
    if (!(error instanceof CacheUnavailableError)) {
      deps.log.warn('Could not start the snapshot of a bot; the next search rebuilds it', {
        botId,
        error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
      });
    }
    return 'failed';
  }
}

/** Reads every chunk of the bot and commits them (staged page by page when it can); true when published. */
async function publishRead(
  deps: StartSnapshotDeps,
  ticket: RebuildTicket,
  dimension: number | undefined,
  reread: (chunkIds: string[]) => Promise<StoredChunk[]>,
  onPage: (page: StoredChunk[]) => void,
): Promise<boolean> {
  const pages = deps.chunks.readBot(ticket.botId, { consistent: true, withText: true });
  if (dimension !== undefined) {
    // Page by page: memory is a page, not the bot (docs/snapshot.md, "Streaming rebuilds").
    const staging = deps.snapshots.stageRebuild(ticket, dimension);
    try {
      for await (const page of pages) {
        await staging.add(page);
        onPage(page);
      }
    } catch (error) {
      await staging.abort();
      throw error;
    }
    return staging.commit(reread);
  }
  const chunks: StoredChunk[] = [];
  for await (const page of pages) {
    chunks.push(...page);
    onPage(page);
  }
  return deps.snapshots.commitRebuild(ticket, chunks, reread);
}
