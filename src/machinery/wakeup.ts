import { setTimeout as sleep } from 'node:timers/promises';

/** Something a nap can be cut short by: `wake()` ends every nap under way that listens to it. */
export class Wakeup {
  private controller = new AbortController();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Ends the naps under way; later naps wait their full time again. */
  wake(): void {
    this.controller.abort();
    this.controller = new AbortController();
  }
}

/** Waits `ms`, or less when one of `wakeups` is woken meanwhile. Never rejects. */
export async function nap(ms: number, ...wakeups: Wakeup[]): Promise<void> {
  const signal =
    wakeups.length === 1 ? (wakeups[0] as Wakeup).signal : AbortSignal.any(wakeups.map((w) => w.signal));
  // A woken nap rejects with an AbortError: that is its normal end.
  await sleep(Math.max(0, ms), undefined, { signal }).catch(() => undefined);
}
