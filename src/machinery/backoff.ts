/** Exponential backoff between attempts: the first retry waits `baseMs`, each next one twice as long, up to `maxMs`. */
export type BackoffPolicy = { baseMs: number; maxMs: number };

/**
 * How long to wait before retry number `retry` (1 for the first retry): `baseMs * 2^(retry-1)`, capped at
 * `maxMs`. With `jitter` (a random source in [0, 1), e.g. `Math.random`) a random point below that, so
 * that writers that failed together do not retry together ("full jitter").
 */
export function backoffDelay(retry: number, policy: BackoffPolicy, jitter?: () => number): number {
  // The exponent is capped so a long outage cannot overflow to Infinity before the cap applies.
  const delay = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(retry - 1, 0), 30));
  return jitter === undefined ? delay : jitter() * delay;
}
