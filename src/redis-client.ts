import Redis, { type Callback, type Command, type RedisOptions } from 'ioredis';
import type { WriteableStream } from 'ioredis/built/types';
import { type BreakerLog, RedisCircuitBreaker, redisTarget } from './adapters/redis/circuit-breaker';
import type { SecretReader } from './adapters/ssm/secure-string';

/**
 * The Redis client. A command waits for at most one reconnection attempt, then fails, so that search
 * falls back to DynamoDB and the stream handler marks snapshots stale instead of waiting on a dead server.
 * Connection errors surface as failed commands (and, through `createRedisConnection`, as the circuit
 * breaker's one warning), so the client's `error` events are listened to here and never reach the
 * console as ioredis's "Unhandled error event" lines.
 */
export function createRedisClient(url: string, password?: SecretReader): Redis {
  const options: RedisOptions = {
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // Sized for the largest reply: a cold read of a 100k-chunk snapshot moves ~150 MB and took over 5 s on a
    // loaded machine (the benchmark saw search fall back to DynamoDB). A hung Redis is caught sooner where it
    // matters: search's version check gives up after 1 s, the stream handler's snapshot update after 8 s.
    commandTimeout: 30_000,
    // Reconnection is also how an outage ends: a server that is back is found within a second.
    retryStrategy: (attempt) => Math.min(attempt * 200, 1000),
  };
  const client =
    password === undefined ? new Redis(url, options) : new RedisWithReadPassword(url, options, password);
  client.on('error', () => {});
  return client;
}

/**
 * A Redis client whose password is read (once, through `password`) before it first connects, so the
 * password never sits in the environment. It connects lazily: the first command waits for the password,
 * then connects; commands sent meanwhile keep their order. A failed read fails the commands waiting on it
 * (callers fall back as for any Redis failure), and the next command tries again.
 */
class RedisWithReadPassword extends Redis {
  private passwordSet = false;

  constructor(
    url: string,
    options: RedisOptions,
    private readonly password: SecretReader,
  ) {
    super(url, { ...options, lazyConnect: true });
  }

  override connect(callback?: Callback<void>): Promise<void> {
    if (this.passwordSet) return super.connect(callback);
    const connected = this.setPassword().then(() => super.connect());
    if (callback !== undefined) connected.then(() => callback(), callback);
    return connected;
  }

  // ioredis connects on the first command (and queues it) synchronously: that must wait for the password.
  override sendCommand(command: Command, stream?: WriteableStream): unknown {
    if (this.passwordSet) return super.sendCommand(command, stream);
    // The command's own promise carries its outcome; this chain must not hold (and leave unhandled) a copy.
    this.setPassword().then(
      () => {
        super.sendCommand(command, stream);
      },
      (error: Error) => command.reject(error),
    );
    return command.promise;
  }

  private async setPassword(): Promise<void> {
    const password = await this.password();
    this.options.password = password;
    this.passwordSet = true;
  }
}

/** A Redis client and the circuit breaker every user of that client in the process shares. */
export type RedisConnection = { client: Redis; breaker: RedisCircuitBreaker };

/**
 * The container's Redis client with its circuit breaker (see RedisCircuitBreaker), created once; with
 * `password`, the client reads its password through it before connecting.
 */
export function createRedisConnection(
  url: string,
  log: BreakerLog,
  password?: SecretReader,
): RedisConnection {
  const client = createRedisClient(url, password);
  const breaker = new RedisCircuitBreaker({ log, target: redisTarget(url) }).watch(client);
  return { client, breaker };
}
