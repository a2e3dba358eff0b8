import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DocumentBusyError } from '../errors';
import { type BackoffPolicy, backoffDelay } from '../machinery/backoff';
import type { DocumentLeases, LeaseHolder } from '../ports';

/** How long a lease lasts and how long a writer waits for one. */
export type LeasePolicy = {
  /**
   * Longer than any holder can run (Lambda timeouts: 29 s HTTP, 60 s ingestion), so a lease never expires
   * under a live writer; a crashed writer's lease blocks other versions of the document this long at most.
   */
  ttlMs: number;
  /** How long to wait for another writer to finish before giving up with DocumentBusyError. */
  waitMs: number;
  /** Seconds the DocumentBusyError tells the client to wait (HTTP `Retry-After`). */
  retryAfterSeconds: number;
  sleep?: (ms: number) => Promise<void>;
};

/** Waits between tries at a taken lease, before full jitter: 50 ms, doubling, at most 1 s. */
const LEASE_BACKOFF: BackoffPolicy = { baseMs: 50, maxMs: 1000 };

export const DEFAULT_LEASE_POLICY: LeasePolicy = { ttlMs: 120_000, waitMs: 20_000, retryAfterSeconds: 2 };

/**
 * The lease holder for one attempt at a request: a digest of what it writes, and a token of its own. A
 * resend of the same request (a client retry, an SQS redelivery after a crash) has the same digest, so it
 * takes over the lease its first try left behind instead of waiting for it to lapse; the first try, if it
 * still runs, then writes the same items, and its release no longer matches the token.
 */
export function leaseHolder(request: unknown): LeaseHolder {
  return {
    request: createHash('sha256').update(JSON.stringify(request)).digest('base64url'),
    token: randomUUID(),
  };
}

/**
 * Runs `work` holding the document's lease, waiting (with capped exponential backoff and full jitter)
 * while another holder has it; gives the lease back however `work` ends.
 * @throws DocumentBusyError when the lease stays taken for `policy.waitMs`; nothing was written.
 */
export async function withDocumentLease<T>(
  leases: DocumentLeases,
  document: { bot_id: string; filename: string },
  holder: LeaseHolder,
  policy: LeasePolicy,
  work: () => Promise<T>,
): Promise<T> {
  const wait = policy.sleep ?? ((ms: number) => sleep(ms));
  let waited = 0;
  for (let attempt = 0; ; attempt++) {
    if (await leases.acquire(document.bot_id, document.filename, holder, policy.ttlMs)) break;
    if (waited >= policy.waitMs) {
      throw new DocumentBusyError(
        `document ${JSON.stringify(document.filename)} of bot ${document.bot_id} is being written by another request; send this one again in ${policy.retryAfterSeconds} s`,
        policy.retryAfterSeconds,
      );
    }
    const delay = Math.min(policy.waitMs - waited, backoffDelay(attempt + 1, LEASE_BACKOFF, Math.random)) + 1;
    await wait(delay);
    waited += delay;
  }
  try {
    return await work();
  } finally {
    await leases.release(document.bot_id, document.filename, holder.token);
  }
}
