/**
 * The commit half of the rebuild protocol (docs/snapshot.md, "The rebuild protocol"): stage, then loop
 * take-dirty / re-read / apply to staging / commit until the commit publishes or gives up, and release
 * the slot and the staging keys whatever happens. Split from snapshot-store.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { StoredChunk } from '../../domain/types';
import type { RebuildTicket } from '../../ports';
import { changesFromReread, encodeChanges, splitIntoCalls } from './snapshot-changes';
import type { ScriptRunner } from './snapshot-commands';
import { type BotSnapshotKeys, dataKeyList, type SnapshotDataKeys } from './snapshot-keys';
import { writeStaging } from './snapshot-staging';

/**
 * How a commit ended: published; or gave up because the ticket lost its slot, the dirty set was evicted,
 * changes kept arriving, or a staged key was evicted.
 */
export type RebuildOutcome = 'published' | 'lost' | 'evicted' | 'changing' | 'staging-broken';

/** What a commit needs of its store. */
export type RebuildContext = {
  client: Redis | Cluster;
  run: ScriptRunner;
  keys: BotSnapshotKeys;
  staging: SnapshotDataKeys;
  rebuildTtlMs: number;
  maxCommitRounds: number;
  maxCallBytes: number;
  segmentBytes: number;
  /** Buckets of the index and the texts of the snapshot it stages. */
  idBuckets: number;
};

/**
 * Stages `chunks`, then publishes them once no stream change is pending; returns the outcome and how many
 * rounds it took. Releases the slot and the staging keys whatever happens.
 * @throws ValidationError when a chunk belongs to another bot; whatever `reread` or Redis throws.
 */
export async function commitStagedRebuild(
  ctx: RebuildContext,
  ticket: RebuildTicket,
  chunks: StoredChunk[],
  reread: (chunkIds: string[]) => Promise<StoredChunk[]>,
): Promise<{ outcome: RebuildOutcome; rounds: number }> {
  const stage = () =>
    writeStaging(ctx.client, ticket.botId, ctx.staging, chunks, {
      ttlMs: ctx.rebuildTtlMs,
      segmentBytes: ctx.segmentBytes,
      idBuckets: ctx.idBuckets,
    });
  return publishStaged(ctx, ticket, stage, reread);
}

/**
 * Runs `stage` (which completes the staging keys), then the commit loop; releases the slot and the
 * staging keys whatever happens.
 */
export async function publishStaged(
  ctx: RebuildContext,
  ticket: RebuildTicket,
  stage: () => Promise<void>,
  reread: (chunkIds: string[]) => Promise<StoredChunk[]>,
): Promise<{ outcome: RebuildOutcome; rounds: number }> {
  const { run, keys, staging } = ctx;
  let rounds = 0;
  try {
    await stage();
    while (rounds < ctx.maxCommitRounds) {
      rounds += 1;
      const taken = (await run('vsSnapshotTakeDirty', keys.building, keys.dirty, ticket.token)) as [
        'ok' | 'lost' | 'evicted',
        string[]?,
      ];
      if (taken[0] !== 'ok') return { outcome: taken[0], rounds };
      const changed = taken[1] ?? [];
      if (changed.length > 0) {
        const current = await reread(changed);
        const args = encodeChanges(changesFromReread(ticket.botId, changed, current));
        for (const piece of splitIntoCalls(args, ctx.maxCallBytes)) {
          // Staging is never a rebuild's target: the bot's building/dirty keys only fill KEYS.
          await run(
            'vsSnapshotApply',
            ...dataKeyList(staging),
            keys.building,
            keys.dirty,
            String(ctx.rebuildTtlMs),
            '',
            String(ctx.segmentBytes),
            ...piece,
          );
        }
      }
      const outcome = await run(
        'vsSnapshotCommit',
        ...dataKeyList(keys),
        keys.building,
        keys.dirty,
        ...dataKeyList(staging),
        ticket.token,
        String(ticket.epoch),
        randomBytes(12).toString('base64url'),
      );
      if (outcome !== 'changed') return { outcome: outcome as RebuildOutcome, rounds };
    }
    return { outcome: 'changing', rounds };
  } finally {
    await releaseRebuild(ctx, ticket);
  }
}

/** Frees the slot if the ticket still holds it and deletes the staging keys; never throws. */
export async function releaseRebuild(ctx: RebuildContext, ticket: RebuildTicket): Promise<void> {
  const { run, keys, staging } = ctx;
  // A failure here leaves the slot to expire on its own (rebuildTtlMs); it must not hide the outcome.
  await run('vsSnapshotRelease', keys.building, keys.dirty, ...dataKeyList(staging), ticket.token).catch(
    () => undefined,
  );
}
