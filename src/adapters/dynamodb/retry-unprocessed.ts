import { setTimeout as wait } from 'node:timers/promises';
import { backoffDelay } from '../../machinery/backoff';

/** How often and how long to retry what a batch call left unprocessed. */
export type RetryPolicy = {
  /** Calls in all, the first included. */
  maxAttempts: number;
  /** The backoff cap before jitter for the first retry; it doubles each retry. */
  baseDelayMs: number;
  /** The backoff never exceeds this, before jitter. */
  maxDelayMs: number;
};

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 10, baseDelayMs: 50, maxDelayMs: 5_000 };

/** The delay before retry number `retry` (1-based): "full jitter", uniformly random up to the capped exponential. */
export function fullJitterDelay(retry: number, policy: RetryPolicy, random: () => number): number {
  return Math.floor(backoffDelay(retry, { baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs }, random));
}

/**
 * Sends `items` and re-sends whatever comes back unprocessed (BatchWriteItem's UnprocessedItems,
 * BatchGetItem's UnprocessedKeys) with exponential backoff and full jitter, until nothing is left or the
 * attempts run out. Throttling returns part of a batch, and retrying at once would only be throttled
 * again; jitter spreads concurrent writers apart.
 * @param send makes one call and resolves to the items it left unprocessed.
 * @returns the items still unprocessed after the last attempt (empty when all went through).
 */
export async function sendWithRetry<T>(
  items: T[],
  send: (items: T[]) => Promise<T[]>,
  options: { policy?: RetryPolicy; sleep?: (ms: number) => Promise<void>; random?: () => number } = {},
): Promise<T[]> {
  const policy = options.policy ?? defaultRetryPolicy;
  const sleep = options.sleep ?? ((ms: number) => wait(ms));
  const random = options.random ?? Math.random;
  let pending = items;
  for (let attempt = 1; pending.length > 0 && attempt <= policy.maxAttempts; attempt++) {
    if (attempt > 1) await sleep(fullJitterDelay(attempt - 1, policy, random));
    pending = await send(pending);
  }
  return pending;
}
