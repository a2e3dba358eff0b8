/**
 * The commit half of the rebuild protocol (docs/snapshot.md, "The rebuild protocol"): stage, then loop
 * take-dirty / re-read / apply to staging / commit until the commit publishes or gives up, and release
 * the slot and the staging keys whatever happens.
 */
import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { StoredChunk } from '../../domain/types';
import type { RebuildTicket } from '../port';
import { changesFromReread, encodeChanges, splitIntoCalls } from './changes';
import { type BotSnapshotKeys, dataKeyList, type SnapshotDataKeys } from './keys';
import type { ScriptRunner } from './scripts';
import { writeStaging } from './staging';

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
  // The whole read ran since the claim, for however long: the slot is re-armed before staging, then as usual.
  const lease = new RebuildLease(ctx, ticket, Number.NEGATIVE_INFINITY);
  return publishStaged(ctx, ticket, stage, reread, () => lease.keep(0));
}

/**
 * Runs `stage` (which completes the staging keys), then the commit loop; releases the slot and the
 * staging keys whatever happens. `keep` (a `RebuildLease`'s) runs before staging and before each round,
 * whose re-read may be long: nothing else re-arms the slot's TTL.
 */
export async function publishStaged(
  ctx: RebuildContext,
  ticket: RebuildTicket,
  stage: () => Promise<void>,
  reread: (chunkIds: string[]) => Promise<StoredChunk[]>,
  keep: () => Promise<boolean>,
): Promise<{ outcome: RebuildOutcome; rounds: number }> {
  const { run, keys, staging } = ctx;
  let rounds = 0;
  try {
    if (!(await keep())) return { outcome: 'lost', rounds };
    await stage();
    while (rounds < ctx.maxCommitRounds) {
      if (!(await keep())) return { outcome: 'lost', rounds };
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

/**
 * Keeps a rebuild's slot, dirty set and staging keys from expiring while the rebuild makes progress
 * (docs/snapshot.md, "Long rebuilds"). Driven by the rebuild's own steps (pages, commit rounds), never by a
 * timer: a rebuild whose process died stops re-arming, and everything it left expires after the TTL.
 */
export class RebuildLease {
  /**
   * `armedAt`: when the TTLs were last set (performance.now()); by default now, for a lease made right
   * after the claim (its TTL started a round trip earlier: re-arming every third of the TTL leaves two
   * thirds for that and for the step in between).
   */
  constructor(
    private readonly ctx: RebuildContext,
    private readonly ticket: RebuildTicket,
    private armedAt = performance.now(),
  ) {}

  /**
   * Re-arms the TTLs if a third of the TTL has passed since the last time (one script call, O(segments +
   * buckets)), else does nothing. `segments`: vector segments staged so far. False when the slot is lost.
   */
  async keep(segments: number): Promise<boolean> {
    const now = performance.now();
    if (now - this.armedAt < this.ctx.rebuildTtlMs / 3) return true;
    const { run, keys, staging, rebuildTtlMs, idBuckets } = this.ctx;
    const kept = await run(
      'vsSnapshotKeepRebuild',
      keys.building,
      keys.dirty,
      ...dataKeyList(staging),
      this.ticket.token,
      String(rebuildTtlMs),
      String(segments),
      String(idBuckets),
    );
    // Measured from before the call: the TTLs started later, so the next re-arm is early, never late.
    this.armedAt = now;
    return kept === 1;
  }
}
