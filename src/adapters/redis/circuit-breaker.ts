import { CacheUnavailableError } from '../../errors';
import { withDeadline } from '../../machinery/deadline';
import type { Log } from '../../ports';

/** Where the breaker reports the outage (once) and the recovery (once); a Powertools Logger fits. */
export type BreakerLog = Pick<Log, 'warn' | 'info'>;

/** The part of an ioredis client (Redis or Cluster) the breaker watches and probes. */
export type WatchedRedis = {
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  ping(): Promise<string>;
};

export type RedisCircuitBreakerOptions = {
  log: BreakerLog;
  /** What to call the server in log lines (host:port, never the password). */
  target: string;
  /** Milliseconds on some monotonic clock; tests pass a fake one. Default `performance.now`. */
  now?: () => number;
  /** While open, the least time between two probes. Default 1 s. */
  probeIntervalMs?: number;
  /** How long a probe may take before it counts as failed. Default 500 ms. */
  probeTimeoutMs?: number;
  /**
   * Failed operations in a row that open the breaker when the connection itself looks fine (Redis slow or
   * hung). A lost connection opens it at once. Default 3.
   */
  failureThreshold?: number;
  /** Checks that Redis answers; `watch` sets it to a PING. Without one, only `connectionReady` closes it. */
  probe?: () => Promise<unknown>;
};

/** Counters since the breaker was made (tests and the benchmark read them). */
export type BreakerStats = {
  /** Operations sent to Redis. */
  attempts: number;
  /** Operations refused at once because the breaker was open. */
  rejections: number;
  /** Operations that were waiting on Redis when the breaker opened, and were let go. */
  released: number;
  probes: number;
  opened: number;
  closed: number;
};

/** Error names that mean Redis answered (it is up; the command or its data was wrong). */
const ANSWERED = new Set(['ReplyError', 'ValidationError']);
/** Error codes and messages of a connection that is gone or cannot be made. */
const CONNECTION_LOST =
  /ECONNREFUSED|ECONNRESET|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest/i;

/**
 * One per Redis client, shared by everything in the container that uses that client. Closed, it passes
 * operations through and counts failures. Once Redis is known to be unreachable (ioredis reports a
 * connection error, an operation fails with one, or `failureThreshold` operations fail in a row), it
 * opens: operations fail at once with CacheUnavailableError instead of waiting out a reconnection, and
 * operations already waiting are let go the same way. While open, an operation that arrives at least
 * `probeIntervalMs` after the last probe starts a new one in the background (a PING with a short
 * timeout), so no caller ever waits on a probe; ioredis's own `ready` after a reconnection closes it too.
 * It logs one warning when it opens and one info line when it closes.
 */
export class RedisCircuitBreaker {
  readonly stats: BreakerStats = {
    attempts: 0,
    rejections: 0,
    released: 0,
    probes: 0,
    opened: 0,
    closed: 0,
  };
  private open = false;
  private openedAt = 0;
  private lastProbeAt = Number.NEGATIVE_INFINITY;
  private probing = false;
  private failuresInRow = 0;
  private readonly waiting = new Set<(error: Error) => void>();
  private readonly now: () => number;
  private readonly probeIntervalMs: number;
  private readonly probeTimeoutMs: number;
  private readonly failureThreshold: number;
  private probe: (() => Promise<unknown>) | undefined;

  constructor(private readonly options: RedisCircuitBreakerOptions) {
    this.now = options.now ?? (() => performance.now());
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 500;
    this.failureThreshold = options.failureThreshold ?? 3;
    this.probe = options.probe;
  }

  /** True while Redis is known to be unreachable. */
  get isOpen(): boolean {
    return this.open;
  }

  /**
   * Listens to the client's connection events (which also means ioredis never reports an unhandled
   * `error` event) and probes with PING.
   */
  watch(client: WatchedRedis): this {
    client.on('error', (error) => this.connectionLost(error));
    client.on('ready', () => this.connectionReady());
    this.probe ??= () => client.ping();
    return this;
  }

  /**
   * Runs `operation` unless the breaker is open.
   * @throws CacheUnavailableError at once while open, or when it opens while `operation` is waiting;
   *   otherwise whatever `operation` throws.
   */
  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.open) {
      this.stats.rejections++;
      this.maybeProbe();
      throw this.unavailable();
    }
    this.stats.attempts++;
    let release: ((error: Error) => void) | undefined;
    const released = new Promise<never>((_, reject) => {
      release = reject;
    });
    const letGo = release as (error: Error) => void;
    this.waiting.add(letGo);
    let pending: Promise<T> | undefined;
    try {
      pending = operation();
      const result = await Promise.race([pending, released]);
      this.failuresInRow = 0;
      return result;
    } catch (error) {
      if (error instanceof CacheUnavailableError) {
        // Let go because the breaker opened: the operation may still settle later; nobody listens.
        pending?.catch(() => {});
        throw error;
      }
      this.operationFailed(error);
      throw error;
    } finally {
      this.waiting.delete(letGo);
    }
  }

  /** ioredis lost its connection or could not make one (its `error` event). */
  connectionLost(error: unknown): void {
    this.trip(error);
  }

  /** ioredis (re)connected and Redis answered its ready check. */
  connectionReady(): void {
    this.close('reconnected');
  }

  private operationFailed(error: unknown): void {
    const name = (error as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && ANSWERED.has(name)) {
      this.failuresInRow = 0;
      return;
    }
    this.failuresInRow++;
    if (isConnectionError(error) || this.failuresInRow >= this.failureThreshold) this.trip(error);
  }

  private trip(error: unknown): void {
    if (this.open) return;
    this.open = true;
    this.openedAt = this.now();
    this.lastProbeAt = this.openedAt;
    this.stats.opened++;
    this.options.log.warn(
      'Redis is unreachable: searches read DynamoDB and stream batches mark snapshots stale until it answers again',
      { redis: this.options.target, error: describe(error) },
    );
    const reason = this.unavailable();
    for (const letGo of this.waiting) {
      this.stats.released++;
      letGo(reason);
    }
    this.waiting.clear();
  }

  private close(how: 'reconnected' | 'probe'): void {
    this.failuresInRow = 0;
    if (!this.open) return;
    this.open = false;
    this.stats.closed++;
    this.options.log.info('Redis answers again: the snapshot cache is back in use', {
      redis: this.options.target,
      downMs: Math.round(this.now() - this.openedAt),
      refused: this.stats.rejections,
      detectedBy: how,
    });
  }

  private maybeProbe(): void {
    const probe = this.probe;
    if (probe === undefined || this.probing || this.now() - this.lastProbeAt < this.probeIntervalMs) return;
    this.probing = true;
    this.lastProbeAt = this.now();
    this.stats.probes++;
    const attempt = probe();
    attempt.catch(() => {});
    withDeadline(attempt, this.probeTimeoutMs, () => {
      throw new Error('probe timed out');
    })
      .then(
        () => this.close('probe'),
        () => {},
      )
      .finally(() => {
        this.probing = false;
      });
  }

  private unavailable(): CacheUnavailableError {
    return new CacheUnavailableError(`Redis at ${this.options.target} is unreachable (circuit breaker open)`);
  }
}

function isConnectionError(error: unknown): boolean {
  const { name, code, message } = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  return [name, code, message].some((part) => typeof part === 'string' && CONNECTION_LOST.test(part));
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code)
      ? `${code}: ${error.message}`
      : error.message;
  }
  return String(error);
}

/** host:port of a redis:// URL, for log lines (never the password). */
export function redisTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'redis';
  }
}
