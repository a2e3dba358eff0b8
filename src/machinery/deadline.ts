import { setTimeout as sleep } from 'node:timers/promises';

/**
 * `work`'s outcome, or `onTimeout()`'s when `work` has not settled within `ms`. The timer is cancelled as
 * soon as either side wins and never keeps the process alive. `work` itself is not stopped: pass it an
 * `AbortSignal.timeout(ms)` too when it can take one.
 */
export async function withDeadline<T, F>(work: Promise<T>, ms: number, onTimeout: () => F): Promise<T | F> {
  const cancel = new AbortController();
  const expired = sleep(ms, undefined, { signal: cancel.signal, ref: false }).then(
    onTimeout,
    // Cancelled: `work` already won the race.
    () => new Promise<never>(() => {}),
  );
  try {
    return await Promise.race([work, expired]);
  } finally {
    cancel.abort();
  }
}
