import pLimit, { type LimitFunction } from 'p-limit';
import { UnavailableError } from '../../errors';

/** Full DynamoDB reads of a bot one container runs at once by default. */
export const DEFAULT_FALLBACK_READS = 2;
/** Searches that may wait for a fallback read slot by default; one more is shed (503). */
export const DEFAULT_FALLBACK_WAITING = 16;

/**
 * Bounds the searches of one container that answer from a full DynamoDB read of their bot (no current
 * snapshot, or Redis failing): at most `maxReads` run at once, at most `maxWaiting` wait for a slot, and
 * one more is shed with `UnavailableError` (503, Retry-After) instead of piling another full read onto
 * DynamoDB. Searches of a bot whose read is already under way wait for that read (it rebuilds the
 * snapshot) and try the snapshot again before reading themselves: a container reads a bot once, however
 * many of its searches want it.
 */
export class FallbackGate {
  private readonly limit: LimitFunction;
  private readonly maxWaiting: number;
  private readonly retryAfterSeconds: number;
  /** Searches reading DynamoDB or waiting for a slot to (not those waiting for their bot's read). */
  private readers = 0;
  private readonly reading = new Map<string, Promise<unknown>>();

  constructor(options: { maxReads?: number; maxWaiting?: number; retryAfterSeconds?: number } = {}) {
    this.limit = pLimit(Math.max(1, Math.floor(options.maxReads ?? DEFAULT_FALLBACK_READS)));
    this.maxWaiting = Math.max(0, Math.floor(options.maxWaiting ?? DEFAULT_FALLBACK_WAITING));
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
  }

  /**
   * `read()`'s answer, run within the bounds. When a read of `botId` is under way, waits for it and then
   * asks `again()` (null: still no snapshot, read after all).
   * @throws UnavailableError (capacity) when `maxReads + maxWaiting` searches are reading or waiting to.
   */
  async run<T>(botId: string, read: () => Promise<T>, again: (() => Promise<T | null>) | null): Promise<T> {
    const under = this.reading.get(botId);
    if (under !== undefined && again !== null) {
      await under.catch(() => undefined);
      const answer = await again();
      if (answer !== null) return answer;
    }
    if (this.readers >= this.limit.concurrency + this.maxWaiting) {
      throw new UnavailableError(
        `search is overloaded (${this.readers} searches of this function are reading DynamoDB or waiting to); send the request again later`,
        'capacity',
        this.retryAfterSeconds,
      );
    }
    this.readers += 1;
    // Registered before the read waits for its slot, so searches of the bot arriving meanwhile wait for it.
    const running = this.limit(read);
    this.reading.set(botId, running);
    const done = () => {
      this.readers -= 1;
      if (this.reading.get(botId) === running) this.reading.delete(botId);
    };
    running.then(done, done);
    return running;
  }
}
