/**
 * `work`'s outcome, or `onTimeout()`'s (its value, or what it throws) when `work` has not settled within
 * `ms`. The timer is cleared as soon as `work` settles and never keeps the process alive. `work` itself is
 * not stopped: pass it an `AbortSignal.timeout(ms)` too when it can take one.
 *
 * The deadline is judged after the event loop has read its pending I/O. Node runs expired timers before it
 * polls for I/O, so after the process was busy or starved of CPU, a timer can fire while the answer it waits
 * for already sits in a socket, unread. Such a timer waits one more turn (`setImmediate` runs right after
 * the poll), and `work` wins if its answer was there: a deadline measures the dependency, not the
 * container's own backlog.
 *
 * A plain timer rather than `node:timers/promises` with an AbortController: cancelling that sleep rejects it
 * with an AbortError whose stack trace costs about 0.1 ms, and a warm search pays this on every query.
 */
export async function withDeadline<T, F>(work: Promise<T>, ms: number, onTimeout: () => F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const expired = new Promise<F>((resolve, reject) => {
    timer = setTimeout(() => {
      immediate = setImmediate(() => {
        try {
          resolve(onTimeout());
        } catch (error) {
          reject(error);
        }
      });
      immediate.unref();
    }, ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    if (immediate !== undefined) clearImmediate(immediate);
  }
}
