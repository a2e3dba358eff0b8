import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** Something a nap can be cut short by: `wake()` ends every nap under way that listens to it. */
export class Wakeup {
  private controller = listenedController();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Ends the naps under way; later naps wait their full time again. */
  wake(): void {
    this.controller.abort();
    this.controller = listenedController();
  }
}

/**
 * A controller whose signal takes any number of listeners: every nap under way listens to it and stops
 * listening when it ends, so the count follows how many naps run at once (the stream runner's two per
 * shard), not time; Node's default warning at 11 would be noise for a stream of six shards.
 */
function listenedController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * Waits `ms`, or less when one of `wakeups` is woken meanwhile. Never rejects. A wait nothing can cut
 * short is `setTimeout` of `node:timers/promises` itself.
 */
export async function nap(ms: number, ...wakeups: Wakeup[]): Promise<void> {
  // One controller per nap, listening to the wakeups only while it lasts (AbortSignal.any would tie
  // every nap to a long-lived signal until that signal aborts).
  const cut = new AbortController();
  const wake = () => cut.abort();
  const signals = wakeups.map((w) => w.signal);
  for (const signal of signals) signal.addEventListener('abort', wake, { once: true });
  try {
    // A woken nap rejects with an AbortError: that is its normal end.
    await sleep(Math.max(0, ms), undefined, { signal: cut.signal }).catch(() => undefined);
  } finally {
    for (const signal of signals) signal.removeEventListener('abort', wake);
  }
}
