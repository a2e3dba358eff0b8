/**
 * `work`'s outcome, or `onTimeout()`'s (its value, or what it throws) when `work` has not settled within
 * `ms`. The timer is cleared as soon as `work` settles and never keeps the process alive. `work` itself is
 * not stopped: pass it an `AbortSignal.timeout(ms)` too when it can take one.
 *
 * A plain timer rather than `node:timers/promises` with an AbortController: cancelling that sleep rejects it
 * with an AbortError whose stack trace costs about 0.1 ms, and a warm search pays this on every query.
 */
export async function withDeadline<T, F>(work: Promise<T>, ms: number, onTimeout: () => F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<F>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
