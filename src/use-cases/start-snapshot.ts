import type { StoredChunk } from '../domain/types';
import { CacheUnavailableError } from '../errors';
import type { ChunkStore, SnapshotStore } from '../ports';

/** What a snapshot start needs: the store, a consistent chunk reader and somewhere to say what happened. */
export type StartSnapshotDeps = {
  snapshots: SnapshotStore;
  chunks: Pick<ChunkStore, 'readBot' | 'get'>;
  log: { warn(message: string, extra: Record<string, unknown>): void };
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
    const reread = (chunkIds: string[]) => deps.chunks.get(botId, chunkIds, { consistent: true });
    const pages = deps.chunks.readBot(botId, { consistent: true, withText: true });
    if (dimension !== undefined && deps.snapshots.stageRebuild !== undefined) {
      // Page by page: memory is a page, not the bot (docs/snapshot.md, "Streaming rebuilds").
      const staging = deps.snapshots.stageRebuild(ticket, dimension);
      try {
        for await (const page of pages) await staging.add(page);
      } catch (error) {
        await staging.abort();
        throw error;
      }
      return (await staging.commit(reread)) ? 'published' : 'gave-up';
    }
    const chunks: StoredChunk[] = [];
    for await (const page of pages) chunks.push(...page);
    const published = await deps.snapshots.commitRebuild(ticket, chunks, reread);
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
