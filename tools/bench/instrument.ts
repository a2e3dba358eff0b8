import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type Redis from 'ioredis';

const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

type Consumed = { CapacityUnits?: number };

/** Write capacity consumed through one client since the last reset, as the server reported it. */
export type WriteCapacityMeter = {
  /** Sum of reported CapacityUnits; undefined when no write reported any. */
  units(): number | undefined;
  /**
   * What DynamoDB's rules charge for the same writes when every item is under 1 KB (true of BotCollections
   * and BotDocuments items): 1 WCU a written item, 2 inside TransactWriteItems.
   */
  ruleUnits(): number;
  writes(): number;
  reset(): void;
};

/**
 * Adds ReturnConsumedCapacity TOTAL to every write sent through `client` (and through document clients
 * built on it: they share its middleware stack) and sums what comes back. Code that already asks for
 * consumed capacity keeps its own setting. Instrumentation only: requests still go to the real server.
 */
export function meterWriteCapacity(client: DynamoDBClient): WriteCapacityMeter {
  let units: number | undefined;
  let ruleUnits = 0;
  let writes = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!WRITE_COMMANDS.has(context.commandName ?? '')) return next(args);
      const input = args.input as { ReturnConsumedCapacity?: string };
      const result = await next({
        ...args,
        input: { ...input, ReturnConsumedCapacity: input.ReturnConsumedCapacity ?? 'TOTAL' },
      });
      writes++;
      const request = input as { TransactItems?: unknown[]; RequestItems?: Record<string, unknown[]> };
      if (context.commandName === 'TransactWriteItemsCommand')
        ruleUnits += 2 * (request.TransactItems?.length ?? 0);
      else if (context.commandName === 'BatchWriteItemCommand') {
        for (const requests of Object.values(request.RequestItems ?? {})) ruleUnits += requests.length;
      } else ruleUnits += 1;
      const consumed = (result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
      for (const entry of Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]) {
        if (entry.CapacityUnits !== undefined) units = (units ?? 0) + entry.CapacityUnits;
      }
      return result;
    },
    { step: 'initialize', name: 'benchWriteCapacityMeter' },
  );
  return {
    units: () => units,
    ruleUnits: () => ruleUnits,
    writes: () => writes,
    reset() {
      units = undefined;
      ruleUnits = 0;
      writes = 0;
    },
  };
}

/** Redis's INFO stats total_net_input_bytes: every byte clients sent to the server. */
export async function redisInputBytes(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  const match = /^total_net_input_bytes:(\d+)/m.exec(info);
  if (match === null) throw new Error('INFO stats has no total_net_input_bytes');
  return Number(match[1]);
}

/** Wall time spent inside DynamoDB calls made through one client (and document clients built on it). */
export type CallTimeMeter = { totalMs(): number };

/**
 * Times every command sent through `client`, from the call to the parsed response (serialisation, the
 * server, the transfer, the SDK's parsing and its retries). Calls in flight at once add up separately.
 */
export function meterCallTime(client: DynamoDBClient): CallTimeMeter {
  let total = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        total += performance.now() - started;
      }
    },
    { step: 'initialize', name: 'benchCallTimeMeter' },
  );
  return { totalMs: () => total };
}

/**
 * Wall time during which at least one of several calls was in flight: calls that overlap (a load's
 * parallel ranges) count once, so the total is comparable with the wall time of the whole operation.
 */
export class BusyClock {
  private inFlight = 0;
  private since = 0;
  private busy = 0;

  /** A call started at `now` (ms). */
  begin(now: number): void {
    if (this.inFlight === 0) this.since = now;
    this.inFlight++;
  }

  /** A call started earlier ended at `now` (ms). */
  end(now: number): void {
    this.inFlight--;
    if (this.inFlight === 0) this.busy += now - this.since;
  }

  /** Milliseconds with a call in flight, up to the last call that ended. */
  get totalMs(): number {
    return this.busy;
  }
}

const READ_COMMANDS = new Set(['GetItemCommand', 'QueryCommand', 'BatchGetItemCommand']);

/** What `meterReads` saw while its operation ran. */
export type MeteredReads<T> = {
  result: T;
  /** Read units the server reported (ReturnConsumedCapacity TOTAL) for every read. */
  units: number;
  /** Wall time with at least one read in flight (the server, the transfer and the SDK's parsing). */
  inReadsMs: number;
};

/**
 * Runs `run` with every read sent through `client` (and document clients built on it) asking for its
 * consumed capacity and timed, and takes the instrumentation off again afterwards.
 */
export async function meterReads<T>(client: DynamoDBClient, run: () => Promise<T>): Promise<MeteredReads<T>> {
  let units = 0;
  const clock = new BusyClock();
  const name = `benchReadMeter${Math.random()}`;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!READ_COMMANDS.has(context.commandName ?? '')) return next(args);
      const input = args.input as { ReturnConsumedCapacity?: string };
      clock.begin(performance.now());
      try {
        const result = await next({ ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } });
        const consumed = (result.output as { ConsumedCapacity?: Consumed | Consumed[] }).ConsumedCapacity;
        for (const entry of Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]) {
          units += entry.CapacityUnits ?? 0;
        }
        return result;
      } finally {
        clock.end(performance.now());
      }
    },
    { step: 'initialize', name },
  );
  try {
    const result = await run();
    return { result, units, inReadsMs: clock.totalMs };
  } finally {
    client.middlewareStack.remove(name);
  }
}
