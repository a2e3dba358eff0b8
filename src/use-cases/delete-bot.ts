import { setTimeout as sleep } from 'node:timers/promises';
import { checkBotId } from '../contracts/dynamo-limits';
import type { DeleteBotMessage } from '../contracts/ingestion-messages';
import { DocumentBusyError } from '../errors';
import { type BackoffPolicy, backoffDelay } from '../machinery/backoff';
import type { BotRegistry, ChunkStore, DocumentLeases } from '../ports';
import { DEFAULT_LEASE_POLICY, type LeasePolicy } from './document-lease';

export type DeleteBotResult = { bot_id: string; deleted: number };

export type DeleteBotDeps = {
  chunks: Pick<ChunkStore, 'botChunkIds' | 'delete'>;
  bots: Pick<BotRegistry, 'beginDelete' | 'markDeleted'>;
  leases: Pick<DocumentLeases, 'inUse'>;
  /** How long to wait for writes already running (`waitMs`, `retryAfterSeconds`, `sleep`). */
  leasePolicy?: LeasePolicy;
};

/** Waits between looks at the bot's leases: 50 ms, doubling, at most 1 s. */
const WRITERS_BACKOFF: BackoffPolicy = { baseMs: 50, maxMs: 1000 };

/**
 * Deletes a bot: marks it `deleting` (every write from then on is refused), waits until no write of its
 * documents holds a lease (a write checks the status under its lease, so one that saw the bot active has
 * a lease until its chunks are written), removes every chunk one page of keys at a time (memory stays
 * flat however large the bot), then marks it `deleted`. Once this returns, no chunk of the bot is left and
 * none can arrive. The stream handler brings its counts to 0 and drops its snapshot as the deletions
 * arrive. A redelivered message, or a repeated delete, finds nothing left to delete.
 * @throws ValidationError when bot_id is not a valid key.
 * @throws DocumentBusyError when writes kept their leases for `leasePolicy.waitMs`: the bot stays
 *   `deleting` (writes refused) and sending the delete again finishes it.
 * @throws WriteIncompleteError when DynamoDB kept refusing some deletes (delivering the message again is safe).
 */
export async function deleteBot(
  deps: DeleteBotDeps,
  message: Pick<DeleteBotMessage, 'bot_id'>,
): Promise<DeleteBotResult> {
  checkBotId(message.bot_id);
  const policy = deps.leasePolicy ?? DEFAULT_LEASE_POLICY;
  const hasRecord = await deps.bots.beginDelete(message.bot_id);
  await writesEnded(deps.leases, message.bot_id, policy);
  let deleted = 0;
  for await (const chunkIds of deps.chunks.botChunkIds(message.bot_id)) {
    await deps.chunks.delete(message.bot_id, chunkIds);
    deleted += chunkIds.length;
  }
  if (hasRecord) await deps.bots.markDeleted(message.bot_id);
  return { bot_id: message.bot_id, deleted };
}

/** Returns once no document of the bot is leased. @throws DocumentBusyError after `policy.waitMs`. */
async function writesEnded(
  leases: Pick<DocumentLeases, 'inUse'>,
  botId: string,
  policy: LeasePolicy,
): Promise<void> {
  const wait = policy.sleep ?? ((ms: number) => sleep(ms));
  let waited = 0;
  for (let attempt = 0; ; attempt++) {
    const writing = await leases.inUse(botId);
    if (writing.length === 0) return;
    if (waited >= policy.waitMs) {
      throw new DocumentBusyError(
        `bot ${botId} is being deleted, but ${writing.length} of its documents (${writing
          .slice(0, 3)
          .map((f) => JSON.stringify(f))
          .join(
            ', ',
          )}) are still being written; new writes are refused, so send the delete again in ${policy.retryAfterSeconds} s to finish it`,
        policy.retryAfterSeconds,
      );
    }
    const delay =
      Math.min(policy.waitMs - waited, backoffDelay(attempt + 1, WRITERS_BACKOFF, Math.random)) + 1;
    await wait(delay);
    waited += delay;
  }
}
