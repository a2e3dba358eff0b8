import { type LocalService, type LocalStack, startDynamoDbLocal, startRedisServer } from './stack';

export type SupervisorEvents = {
  /** One line per event: a death, a restart, a recovery. */
  log(message: string): void;
  /** The service is dead for good (no restart possible, or it failed, or it keeps dying); says what died. */
  giveUp(message: string): void;
};

export type SupervisorOptions = {
  /** How to start it again (same port, same data); undefined: it cannot be restarted (e.g. in memory). */
  restart: (() => Promise<LocalService>) | undefined;
  /** Why it cannot be restarted, for the give-up message when `restart` is undefined. */
  noRestartReason?: string;
  /** More deaths than this within `windowMs` and it is given up. Default 3 in 60 s. */
  maxRestarts?: number;
  windowMs?: number;
  now?: () => number;
};

/** A service the dev stack started, watched: `current` is whichever process runs now. */
export type SupervisedService = {
  current(): LocalService;
  /** From now on deaths are expected (the stack is shutting down): nothing is said or restarted. */
  stopWatching(): void;
  /** Stops the current process; deaths after this are expected. */
  stop(): Promise<void>;
};

/**
 * Watches a service the dev stack started. When its process dies without being asked to, says so in one
 * line and starts it again (then says that too), or gives up with a message naming what died.
 */
export function supervise(
  name: string,
  first: LocalService,
  events: SupervisorEvents,
  options: SupervisorOptions,
): SupervisedService {
  const now = options.now ?? (() => Date.now());
  const maxRestarts = options.maxRestarts ?? 3;
  const windowMs = options.windowMs ?? 60_000;
  const deaths: number[] = [];
  let current = first;
  let stopped = false;

  const watch = (service: LocalService) => {
    service.onUnexpectedExit((how) => {
      if (stopped || service !== current) return;
      void onDeath(service, how);
    });
  };

  const onDeath = async (service: LocalService, how: string) => {
    const at = now();
    deaths.push(at);
    while (deaths.length > 0 && (deaths[0] as number) < at - windowMs) deaths.shift();
    const died = `${name} (${service.url}) died: ${how}`;
    if (options.restart === undefined) {
      events.giveUp(`${died}; it cannot be restarted (${options.noRestartReason ?? 'no way to restart it'})`);
      return;
    }
    if (deaths.length > maxRestarts) {
      events.giveUp(`${died}, ${deaths.length} times within ${Math.round(windowMs / 1000)} s; giving up`);
      return;
    }
    events.log(`${died}; restarting it on the same port`);
    try {
      const next = await options.restart();
      if (stopped) {
        await next.stop();
        return;
      }
      current = next;
      watch(next);
      events.log(`${name} is running again on ${next.url}`);
    } catch (error) {
      events.giveUp(
        `${died}, and restarting it failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  };

  watch(first);
  return {
    current: () => current,
    stopWatching: () => {
      stopped = true;
    },
    stop: async () => {
      stopped = true;
      await current.stop();
    },
  };
}

/**
 * Supervises what `startLocalStack` started (services from DYNAMODB_ENDPOINT / REDIS_URL are not ours to
 * watch). redis-server restarts empty on its port: snapshots are rebuilt from DynamoDB by the next
 * search. DynamoDB Local restarts on its port when its data is on disk; in memory its tables would be
 * gone, so the stack gives up instead. Returns how to stop whatever runs at the time.
 */
export function superviseLocalStack(
  stack: LocalStack,
  input: {
    dynamodbDataDir: string | undefined;
    log: (message: string) => void;
    giveUp: (message: string) => void;
  },
): { stopWatching(): void; stop(): Promise<void> } {
  const events = { log: input.log, giveUp: input.giveUp };
  const services: SupervisedService[] = [];
  if (stack.dynamodb.owned) {
    const dataDir = input.dynamodbDataDir;
    services.push(
      supervise('DynamoDB Local', stack.dynamodb, events, {
        restart:
          dataDir === undefined
            ? undefined
            : () =>
                startDynamoDbLocal(input.log, { dataDir, port: stack.dynamodb.port, ownProcessGroup: true }),
        noRestartReason: 'it ran in memory, so its tables are gone; start npm run dev again',
      }),
    );
  }
  if (stack.redis.owned) {
    services.push(
      supervise('redis-server', stack.redis, events, {
        restart: () => startRedisServer({ port: stack.redis.port, log: input.log, ownProcessGroup: true }),
      }),
    );
  }
  return {
    stopWatching: () => {
      for (const service of services) service.stopWatching();
    },
    stop: async () => {
      await Promise.all(services.map((service) => service.stop()));
    },
  };
}
