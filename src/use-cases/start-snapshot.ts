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
 * as with a search's rebuild. Used by the stream handler so that the first search after a bot is loaded
 * is served from the snapshot instead of paying a full DynamoDB read.
 */
export async function startSnapshot(
  deps: StartSnapshotDeps,
  botId: string,
  epoch: number,
): Promise<StartSnapshotOutcome> {
  try {
    const ticket = await deps.snapshots.beginRebuild(botId, epoch);
    if (ticket === null) return 'busy';
    const chunks: StoredChunk[] = [];
    for await (const page of deps.chunks.readBot(botId, { consistent: true, withText: true })) {
      chunks.push(...page);
    }
    const published = await deps.snapshots.commitRebuild(ticket, chunks, (chunkIds) =>
      deps.chunks.get(botId, chunkIds, { consistent: true }),
    );
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
