import { performance } from 'node:perf_hooks';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { ConfigError, DrainTimeoutError } from '../../src/errors';
import {
  type BatchVerdict,
  type FailureCondition,
  type InvocationResult,
  judgeInvocation,
  type PendingBatch,
  planNextStep,
  splitExpired,
} from './batch-policy';
import { type CheckpointStore, FileCheckpointStore, MemoryCheckpointStore } from './checkpoint-store';
import { createLambdaContext, localFunctionArn } from './lambda-context';
import { buildOnFailureRecord, JsonLinesFailureFile, type OnFailureRecord } from './on-failure-destination';
import { readableShards, type ShardInfo } from './shard-lineage';
import { type BufferedRecord, bufferRecord, buildEvent, payloadBytes } from './stream-event';
import { resolveStreamSettings, type StreamSettings } from './stream-settings';

export type { CheckpointStore } from './checkpoint-store';
export { FileCheckpointStore, MemoryCheckpointStore } from './checkpoint-store';
export { loadStreamSettings, type StreamSettings } from './stream-settings';

/** The deployed stream handler's signature: the runner calls the same exported `handler`. */
export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<
  // biome-ignore lint/suspicious/noConfusingVoidType: handlers typed Promise<void> must fit, as in Lambda's own types
  DynamoDBBatchResponse | undefined | void
>;

/** Where the runner reports progress; a Powertools `Logger` fits as is. */
export type StreamRunnerLog = {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
};

/** A batch the runner gave up on, as handed to the `onFailure` callback. */
export type FailedBatch = {
  /** What Lambda would have sent to the on-failure destination (also the line in the JSONL file). */
  record: OnFailureRecord;
  /** The records themselves (Lambda leaves them in the stream; locally they are at hand). */
  event: DynamoDBStreamEvent;
  /** Why the last attempt failed. */
  reason: string;
};

export type StreamRunnerOptions = {
  streamsClient: DynamoDBStreamsClient;
  dynamodbClient: DynamoDBClient;
  /** The table whose stream is read (DescribeTable gives its LatestStreamArn). */
  tableName: string;
  handler: StreamHandler;
  /** The stream event settings (see `loadStreamSettings`); anything left out takes Lambda's default. */
  settings?: Partial<StreamSettings>;
  /** A store, or the path of a JSON checkpoint file. Default: in memory (a restart starts over). */
  checkpoints?: CheckpointStore | string;
  functionName: string;
  /** JSON Lines file that receives the on-failure records (the local stand-in for the SQS destination). */
  onFailureFile?: string;
  /** Called with every batch given up on, after the file was written. */
  onFailure?: (failed: FailedBatch) => void | Promise<void>;
  log?: StreamRunnerLog;
  /** Pause after a GetRecords that returned nothing (Lambda polls each shard four times a second). */
  pollIntervalMs?: number;
  /** How often the shard list is read again to find new shards. */
  shardRefreshIntervalMs?: number;
  /** Backoff before retrying a failed batch: base * 2^(retry-1), capped at max. */
  retryDelayMs?: { base: number; max: number };
};

/** Counters since the runner was created. */
export type StreamRunnerStats = {
  invocations: number;
  /** Records whose invocation succeeded (a record redelivered and succeeding twice counts twice). */
  recordsSucceeded: number;
  retries: number;
  bisections: number;
  failedBatches: number;
  failedRecords: number;
  shardsFinished: number;
};

/** Lambda's limit on a synchronous invocation payload: a batch never grows beyond it. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const GET_RECORDS_LIMIT = 1000;

type ShardState = {
  info: ShardInfo;
  /** Last sequence number fully handled (delivered successfully or sent to the on-failure destination). */
  checkpoint: string | undefined;
  /** Last sequence number read into the buffer. */
  readPosition: string | undefined;
  /** undefined: none yet; null: the shard is closed and read to its end. */
  iterator: string | null | undefined;
  startAtLatest: boolean;
  /** The stored position was trimmed away: start again at the oldest record still there. */
  trimmed: boolean;
  buffer: BufferedRecord[];
  /** When the next batch started to collect (the batching window runs from here). */
  windowStart: number | undefined;
  busy: boolean;
  finished: boolean;
  task: Promise<void> | undefined;
  /** Start time of the latest GetRecords that found nothing new. */
  lastEmptyPollStart: number;
  /** What the shard is stuck on, for a drain timeout. */
  pendingNote: string | undefined;
  /** Naps of this shard's poller and deliverer, cut short when the buffer changes. */
  waiters: Set<() => void>;
};

function errorName(error: unknown): string {
  return (error as { name?: string } | null)?.name ?? '';
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Logs to the console, one line per message. */
const consoleLine = (message: string, attributes: Record<string, unknown>[]) =>
  `[stream] ${message}${attributes.map((a) => ` ${JSON.stringify(a)}`).join('')}`;

export const consoleRunnerLog: StreamRunnerLog = {
  debug: () => {},
  info: (message, ...attributes) => console.log(consoleLine(message, attributes)),
  warn: (message, ...attributes) => console.warn(consoleLine(message, attributes)),
  error: (message, ...attributes) => console.error(consoleLine(message, attributes)),
};

/**
 * Locally, what Lambda's DynamoDB event source mapping does in AWS: reads every shard of a table's stream
 * (children after their parents), batches records by the stream event settings, invokes the handler in
 * process with the event Lambda would deliver, honours partial batch responses, bisects, retries, sends
 * what still fails to the on-failure destination, and checkpoints per shard.
 */
export class StreamRunner {
  readonly settings: StreamSettings;
  private readonly checkpoints: CheckpointStore;
  private readonly failureFile: JsonLinesFailureFile | undefined;
  private readonly log: StreamRunnerLog;
  private readonly pollIntervalMs: number;
  private readonly shardRefreshIntervalMs: number;
  private readonly retryDelay: { base: number; max: number };
  private readonly shards = new Map<string, ShardState>();
  private readonly sleepers = new Set<() => void>();
  private readonly counters: StreamRunnerStats = {
    invocations: 0,
    recordsSucceeded: 0,
    retries: 0,
    bisections: 0,
    failedBatches: 0,
    failedRecords: 0,
    shardsFinished: 0,
  };
  private streamArnValue: string | undefined;
  private mappingId = '';
  private region = '';
  private functionArn = '';
  private running = false;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private lastRefreshStart = Number.NEGATIVE_INFINITY;
  private lastRefreshDone = Number.NEGATIVE_INFINITY;
  private lastProgressLog = 0;
  private streamReplacedBy: string | undefined;
  /** Set by drain() and by a finished shard: read the shard list again without waiting. */
  private refreshWanted = false;
  private loggedCounters = '';

  constructor(private readonly options: StreamRunnerOptions) {
    this.settings = resolveStreamSettings(options.settings ?? {});
    this.checkpoints =
      typeof options.checkpoints === 'string'
        ? new FileCheckpointStore(options.checkpoints)
        : (options.checkpoints ?? new MemoryCheckpointStore());
    this.failureFile =
      options.onFailureFile === undefined ? undefined : new JsonLinesFailureFile(options.onFailureFile);
    this.log = options.log ?? consoleRunnerLog;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.shardRefreshIntervalMs = options.shardRefreshIntervalMs ?? 5000;
    this.retryDelay = options.retryDelayMs ?? { base: 100, max: 2000 };
  }

  /** The stream being read (known once `start()` resolved). */
  get streamArn(): string | undefined {
    return this.streamArnValue;
  }

  /** Counters since the runner was created (a restart keeps counting). */
  stats(): StreamRunnerStats {
    return { ...this.counters };
  }

  /**
   * Finds the table's stream, loads the checkpoints and starts reading in the background.
   * @throws ConfigError when the table has no stream; the SDK's error when the table cannot be described.
   */
  async start(): Promise<void> {
    if (this.running) throw new Error('StreamRunner.start() called twice');
    const { Table } = await this.options.dynamodbClient.send(
      new DescribeTableCommand({ TableName: this.options.tableName }),
    );
    const streamArn = Table?.LatestStreamArn;
    if (streamArn === undefined || Table?.StreamSpecification?.StreamEnabled !== true) {
      throw new ConfigError(
        `Table ${this.options.tableName} has no stream: create it with StreamSpecification { StreamEnabled: true }`,
      );
    }
    this.streamArnValue = streamArn;
    this.region = await this.options.dynamodbClient.config.region();
    this.functionArn = localFunctionArn(this.options.functionName, this.region);
    this.mappingId = `${this.options.functionName}|${streamArn}`;
    const saved = await this.checkpoints.load(this.mappingId);
    // A runner started again after stop() resumes from the store, like a new process would.
    this.shards.clear();
    this.streamReplacedBy = undefined;
    this.lastRefreshStart = Number.NEGATIVE_INFINITY;
    this.lastRefreshDone = Number.NEGATIVE_INFINITY;
    this.running = true;
    this.stopping = false;
    const s = this.settings;
    this.log.info(`reading ${streamArn} for ${this.options.functionName}`, {
      batchSize: s.batchSize,
      maximumBatchingWindow: s.maximumBatchingWindow,
      bisectBatchOnFunctionError: s.bisectBatchOnFunctionError,
      maximumRetryAttempts: s.maximumRetryAttempts,
      maximumRecordAgeInSeconds: s.maximumRecordAgeInSeconds,
      functionResponseType: s.functionResponseType ?? 'none',
      onFailure: this.failureFile?.path ?? s.onFailureDestination ?? 'none',
      resumedShards: Object.keys(saved).length,
    });
    if (
      s.onFailureDestination !== undefined &&
      this.failureFile === undefined &&
      this.options.onFailure === undefined
    ) {
      this.log.warn(
        `the stream event sends failed batches to ${s.onFailureDestination}; locally pass onFailureFile or onFailure, until then they are only logged`,
      );
    }
    this.loop = this.run(saved);
  }

  /** Stops gracefully: the invocation under way finishes and is checkpointed, nothing new starts. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.wakeAll();
    await this.loop;
    this.running = false;
    this.logProgress(true);
  }

  /**
   * Resolves once every record written before the call has been handled (delivered, or sent to the
   * on-failure destination): the shard list was read again, and on every shard a GetRecords that started
   * after the call found nothing new while nothing was buffered or being invoked.
   * @throws DrainTimeoutError naming what is still pending after `timeoutMs`.
   */
  async drain(timeoutMs = 30_000): Promise<void> {
    if (!this.running) throw new Error('StreamRunner.drain() needs a started runner');
    const requestedAt = performance.now();
    this.refreshWanted = true;
    this.wakeAll();
    while (!this.isDrainedSince(requestedAt)) {
      if (performance.now() - requestedAt > timeoutMs) {
        const pending = [...this.shards.values()]
          .filter((s) => !s.finished)
          .map(
            (s) =>
              `${s.info.shardId}: ${s.buffer.length} buffered${s.busy ? ', invoking' : ''}${s.pendingNote ? `, ${s.pendingNote}` : ''}`,
          );
        throw new DrainTimeoutError(
          `Stream not drained after ${timeoutMs} ms: ${pending.join('; ') || 'shard list not read yet'}`,
        );
      }
      if (this.stopping) throw new Error('StreamRunner stopped while draining');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private isDrainedSince(requestedAt: number): boolean {
    if (!(this.lastRefreshStart > requestedAt && this.lastRefreshDone >= this.lastRefreshStart)) return false;
    for (const shard of this.shards.values()) {
      if (shard.finished) continue;
      if (shard.busy || shard.buffer.length > 0 || shard.lastEmptyPollStart <= requestedAt) return false;
    }
    return true;
  }

  private wakeAll(): void {
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
  }

  /** Waits `ms`, or less when woken (drain, stop, a finished shard). */
  private nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  /** Waits `ms` unless the runner stops (a retry backoff is not cut short by a drain). */
  private async backoff(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (!this.stopping && performance.now() < until) await this.nap(until - performance.now());
  }

  private async run(saved: Record<string, { sequenceNumber?: string; finished?: boolean }>): Promise<void> {
    let first = true;
    while (!this.stopping) {
      const started = performance.now();
      this.refreshWanted = false;
      try {
        await this.checkStreamIsCurrent();
        const listed = await this.describeShards();
        for (const info of listed) {
          const known = this.shards.get(info.shardId);
          if (known !== undefined) {
            known.info = info;
            continue;
          }
          const checkpoint = saved[info.shardId];
          const latestStart =
            first && this.settings.startingPosition === 'LATEST' && checkpoint?.sequenceNumber === undefined;
          this.shards.set(info.shardId, {
            info,
            checkpoint: checkpoint?.sequenceNumber,
            readPosition: undefined,
            iterator: undefined,
            // LATEST applies to the shards open when the mapping starts; closed ones are history.
            startAtLatest: latestStart,
            trimmed: false,
            buffer: [],
            windowStart: undefined,
            busy: false,
            finished:
              checkpoint?.finished === true || (latestStart && info.endingSequenceNumber !== undefined),
            task: undefined,
            lastEmptyPollStart: Number.NEGATIVE_INFINITY,
            pendingNote: undefined,
            waiters: new Set(),
          });
        }
        first = false;
        const finished = new Set(
          [...this.shards.values()].filter((s) => s.finished).map((s) => s.info.shardId),
        );
        for (const info of readableShards(listed, finished)) {
          const shard = this.shards.get(info.shardId);
          if (shard !== undefined && shard.task === undefined) shard.task = this.readShard(shard);
        }
        this.lastRefreshStart = started;
        this.lastRefreshDone = performance.now();
      } catch (error) {
        this.log.error(`cannot list the shards of ${this.streamArnValue}: ${errorText(error)}`);
      }
      this.logProgress(false);
      if (!this.refreshWanted) await this.nap(this.shardRefreshIntervalMs);
    }
    await Promise.all([...this.shards.values()].map((s) => s.task));
  }

  /** A table deleted and created again has a new stream; this runner keeps to the one it started with. */
  private async checkStreamIsCurrent(): Promise<void> {
    if (this.streamReplacedBy !== undefined) return;
    const { Table } = await this.options.dynamodbClient.send(
      new DescribeTableCommand({ TableName: this.options.tableName }),
    );
    const latest = Table?.LatestStreamArn;
    if (latest !== undefined && latest !== this.streamArnValue) {
      this.streamReplacedBy = latest;
      this.log.warn(
        `table ${this.options.tableName} now has the stream ${latest} (recreated?); this runner still reads ${this.streamArnValue}: restart it to follow the new stream`,
      );
    }
  }

  private async describeShards(): Promise<ShardInfo[]> {
    const shards: ShardInfo[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await this.options.streamsClient.send(
        new DescribeStreamCommand({
          StreamArn: this.streamArnValue,
          ExclusiveStartShardId: exclusiveStartShardId,
        }),
      );
      for (const shard of StreamDescription?.Shards ?? []) {
        if (shard.ShardId === undefined) continue;
        shards.push({
          shardId: shard.ShardId,
          parentShardId: shard.ParentShardId,
          endingSequenceNumber: shard.SequenceNumberRange?.EndingSequenceNumber,
        });
      }
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
    return shards;
  }

  private async newIterator(shard: ShardState): Promise<string | null> {
    const input: GetShardIteratorCommandInput = {
      StreamArn: this.streamArnValue,
      ShardId: shard.info.shardId,
      ShardIteratorType: 'TRIM_HORIZON',
    };
    const position = shard.readPosition ?? shard.checkpoint;
    if (shard.trimmed) {
      shard.trimmed = false;
    } else if (position !== undefined) {
      input.ShardIteratorType = 'AFTER_SEQUENCE_NUMBER';
      input.SequenceNumber = position;
    } else if (shard.startAtLatest) {
      input.ShardIteratorType = 'LATEST';
    }
    const { ShardIterator } = await this.options.streamsClient.send(new GetShardIteratorCommand(input));
    return ShardIterator ?? null;
  }

  /**
   * Reads one shard until it is closed and done, or the runner stops. Polling and delivery run side by
   * side, as in Lambda: the next records are fetched while the handler works on the current batch.
   */
  private async readShard(shard: ShardState): Promise<void> {
    const polling = this.pollShard(shard);
    await this.deliverShard(shard);
    await polling;
    if (!this.stopping && shard.iterator === null && shard.buffer.length === 0) await this.finishShard(shard);
  }

  /** Waits `ms`, or less when this shard's buffer changed (or on drain and stop). */
  private napShard(shard: ShardState, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        shard.waiters.delete(done);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      shard.waiters.add(done);
      this.sleepers.add(done);
    });
  }

  private wakeShard(shard: ShardState): void {
    for (const wake of [...shard.waiters]) wake();
  }

  /** Fills the shard's buffer (up to two batches ahead) until the shard is closed or the runner stops. */
  private async pollShard(shard: ShardState): Promise<void> {
    const batchSize = this.settings.batchSize;
    const readAhead = 2 * batchSize;
    let failures = 0;
    while (!this.stopping && shard.iterator !== null) {
      if (shard.buffer.length >= readAhead) {
        await this.napShard(shard, this.pollIntervalMs);
        continue;
      }
      try {
        if (shard.iterator === undefined) {
          shard.iterator = await this.newIterator(shard);
          continue;
        }
        const pollStart = performance.now();
        const answer = await this.options.streamsClient.send(
          new GetRecordsCommand({
            ShardIterator: shard.iterator,
            Limit: Math.min(GET_RECORDS_LIMIT, batchSize),
          }),
        );
        let added = 0;
        // A renewed iterator may hand back records already read or already checkpointed: skip them.
        const position = shard.readPosition ?? shard.checkpoint;
        const seen = position === undefined ? undefined : BigInt(position);
        for (const record of answer.Records ?? []) {
          const buffered = bufferRecord(record, this.streamArnValue ?? '', this.region);
          if (seen !== undefined && BigInt(buffered.sequenceNumber) <= seen) continue;
          shard.buffer.push(buffered);
          shard.readPosition = buffered.sequenceNumber;
          added++;
        }
        shard.iterator = answer.NextShardIterator ?? null;
        failures = 0;
        if (added > 0) {
          shard.windowStart ??= performance.now();
          this.wakeShard(shard);
        } else {
          shard.lastEmptyPollStart = pollStart;
          if (shard.iterator === null) this.wakeShard(shard);
          else await this.napShard(shard, this.pollIntervalMs);
        }
      } catch (error) {
        failures++;
        const name = errorName(error);
        if (name === 'ExpiredIteratorException') {
          this.log.info(
            `shard iterator expired on ${shard.info.shardId}; renewing it after ${shard.readPosition ?? shard.checkpoint ?? 'the trim horizon'}`,
          );
          shard.iterator = undefined;
          continue;
        }
        if (name === 'TrimmedDataAccessException') {
          const position = shard.readPosition ?? shard.checkpoint;
          // With no position yet we were reading from the trim horizon anyway: nothing can be lost (DynamoDB
          // Local answers this way on a fresh shard), so it is no error.
          if (position === undefined) {
            this.log.debug(
              `${shard.info.shardId}: started before the oldest record DynamoDB still holds; reading from there (nothing missed)`,
            );
          } else {
            this.log.error(
              `records after ${position} on ${shard.info.shardId} were trimmed from the stream (older than its retention) and are lost; continuing at the oldest record still there`,
            );
          }
          shard.iterator = undefined;
          shard.trimmed = true;
          continue;
        }
        this.log.error(`reading ${shard.info.shardId} failed: ${errorText(error)}`);
        if (name === 'ValidationException' || name === 'ResourceNotFoundException')
          shard.iterator = undefined;
        await this.backoff(
          Math.min(this.retryDelay.max * 5, this.retryDelay.base * 2 ** Math.min(failures, 8)),
        );
      }
    }
    this.wakeShard(shard);
  }

  /** Invokes the handler batch after batch as the buffer allows (batch size, payload, batching window). */
  private async deliverShard(shard: ShardState): Promise<void> {
    const batchSize = this.settings.batchSize;
    const windowMs = this.settings.maximumBatchingWindow * 1000;
    while (!this.stopping) {
      if (shard.buffer.length === 0) {
        if (shard.iterator === null) return;
        await this.napShard(shard, this.pollIntervalMs);
        continue;
      }
      const waited = performance.now() - (shard.windowStart ?? performance.now());
      const ready =
        shard.buffer.length >= batchSize ||
        payloadBytes(shard.buffer) >= MAX_PAYLOAD_BYTES ||
        shard.iterator === null ||
        waited >= windowMs;
      if (!ready) {
        await this.napShard(shard, Math.min(this.pollIntervalMs, windowMs - waited));
        continue;
      }
      const batch = this.takeBatch(shard);
      shard.busy = true;
      this.wakeShard(shard);
      try {
        await this.deliver(shard, batch);
      } finally {
        shard.busy = false;
      }
      // Lambda starts the next batching window when the previous invocation completes.
      shard.windowStart = shard.buffer.length > 0 ? performance.now() : undefined;
    }
  }

  /** The next batch: up to batchSize records, within Lambda's payload limit. */
  private takeBatch(shard: ShardState): BufferedRecord[] {
    let count = 0;
    let bytes = 14;
    for (const record of shard.buffer) {
      if (count >= this.settings.batchSize) break;
      if (count > 0 && bytes + record.bytes + 1 > MAX_PAYLOAD_BYTES) break;
      bytes += record.bytes + 1;
      count++;
    }
    return shard.buffer.splice(0, count);
  }

  private async finishShard(shard: ShardState): Promise<void> {
    shard.finished = true;
    this.counters.shardsFinished++;
    await this.saveCheckpoint(shard, { sequenceNumber: shard.checkpoint, finished: true });
    this.log.info(`shard ${shard.info.shardId} is closed and fully processed`);
    // Its children may be read now.
    this.refreshWanted = true;
    this.wakeAll();
  }

  private async saveCheckpoint(
    shard: ShardState,
    checkpoint: { sequenceNumber: string | undefined; finished?: boolean },
  ): Promise<void> {
    const value: { sequenceNumber?: string; finished?: boolean } = {};
    if (checkpoint.sequenceNumber !== undefined) value.sequenceNumber = checkpoint.sequenceNumber;
    if (checkpoint.finished) value.finished = true;
    try {
      await this.checkpoints.save(this.mappingId, shard.info.shardId, value);
    } catch (error) {
      // Delivery is at least once: a lost checkpoint only means redelivery after a restart.
      this.log.error(`cannot save the checkpoint of ${shard.info.shardId}: ${errorText(error)}`);
    }
  }

  private async advance(shard: ShardState, through: BufferedRecord): Promise<void> {
    shard.checkpoint = through.sequenceNumber;
    await this.saveCheckpoint(shard, { sequenceNumber: through.sequenceNumber });
  }

  private async invoke(records: readonly BufferedRecord[]): Promise<InvocationResult> {
    const event = buildEvent(records);
    const timeoutSeconds = this.settings.functionTimeoutSeconds;
    const context = createLambdaContext({
      functionName: this.options.functionName,
      region: this.region,
      timeoutSeconds,
    });
    this.counters.invocations++;
    const started = performance.now();
    try {
      const value = await this.options.handler(event, context);
      return { kind: 'returned', value };
    } catch (error) {
      return { kind: 'threw', error };
    } finally {
      const elapsed = performance.now() - started;
      if (elapsed > timeoutSeconds * 1000) {
        this.log.warn(
          `invocation took ${Math.round(elapsed)} ms, longer than the function's ${timeoutSeconds} s timeout: Lambda would have failed it`,
        );
      }
    }
  }

  /** Handles one batch to the end: delivered, or given up on and sent to the on-failure destination. */
  private async deliver(shard: ShardState, records: BufferedRecord[]): Promise<void> {
    const queue: PendingBatch<BufferedRecord>[] = [{ records, retries: 0, invocations: 0 }];
    const maxAge = this.settings.maximumRecordAgeInSeconds;
    const expired = (rs: readonly BufferedRecord[]) =>
      splitExpired(rs, (r) => r.approximateCreationTime, maxAge, Date.now()).expired.length > 0;
    let lastVerdict: BatchVerdict | undefined;
    while (queue.length > 0) {
      // Stopping leaves the rest without a checkpoint: a restart delivers it again (at least once).
      if (this.stopping) return;
      const batch = queue[0] as PendingBatch<BufferedRecord>;
      const old = splitExpired(batch.records, (r) => r.approximateCreationTime, maxAge, Date.now());
      if (old.expired.length > 0) {
        const sent = await this.sendToFailure(
          shard,
          { ...batch, records: old.expired },
          'RecordAgeExceeded',
          lastVerdict,
        );
        if (!sent) return;
        await this.advance(shard, old.expired[old.expired.length - 1] as BufferedRecord);
        batch.records = old.fresh;
        if (batch.records.length === 0) {
          queue.shift();
          continue;
        }
      }
      shard.pendingNote =
        batch.retries > 0 ? `retry ${batch.retries} of ${this.describe(batch.records)}` : undefined;
      const result = await this.invoke(batch.records);
      batch.invocations++;
      const verdict = judgeInvocation(
        result,
        batch.records.map((r) => r.sequenceNumber),
        this.settings.functionResponseType === 'ReportBatchItemFailures',
      );
      lastVerdict = verdict;
      const step = planNextStep(batch, verdict, this.settings, expired);
      if (step.succeeded.length > 0) {
        this.counters.recordsSucceeded += step.succeeded.length;
        await this.advance(shard, step.succeeded[step.succeeded.length - 1] as BufferedRecord);
      }
      if (verdict.kind !== 'success') {
        this.log.warn(
          `${this.describe(batch.records)} failed: ${verdict.reason}; ${this.describeAction(step)}`,
          {
            shardId: shard.info.shardId,
            invocations: batch.invocations,
            retries: batch.retries,
          },
        );
      } else {
        this.log.debug(`delivered ${this.describe(batch.records)}`);
      }
      if (step.failed !== undefined) {
        const sent = await this.sendToFailure(shard, step.failed.batch, step.failed.condition, verdict);
        if (!sent) return;
        const failedRecords = step.failed.batch.records;
        await this.advance(shard, failedRecords[failedRecords.length - 1] as BufferedRecord);
      }
      if (step.action === 'bisect') this.counters.bisections++;
      queue.splice(0, 1, ...step.next);
      if (step.action === 'retry') {
        this.counters.retries++;
        const retry = (step.next[0] as PendingBatch<BufferedRecord>).retries;
        await this.backoff(Math.min(this.retryDelay.max, this.retryDelay.base * 2 ** (retry - 1)));
      }
      this.logProgress(false);
    }
    shard.pendingNote = undefined;
  }

  private describe(records: readonly BufferedRecord[]): string {
    const first = records[0]?.sequenceNumber;
    const last = records[records.length - 1]?.sequenceNumber;
    return `batch of ${records.length} record(s) ${first}${first === last ? '' : `..${last}`}`;
  }

  private describeAction(step: ReturnType<typeof planNextStep<BufferedRecord>>): string {
    const retryLimit =
      this.settings.maximumRetryAttempts < 0 ? '∞' : String(this.settings.maximumRetryAttempts);
    switch (step.action) {
      case 'bisect':
        return `bisecting into ${step.next.map((b) => b.records.length).join(' + ')}`;
      case 'split-at-failure':
        return `checkpointed ${step.succeeded.length}, retrying the remaining ${step.next[0]?.records.length}`;
      case 'retry':
        return `retry ${step.next[0]?.retries}/${retryLimit}`;
      case 'give-up':
        return `giving up (${step.failed?.condition}): to the on-failure destination`;
      default:
        return 'done';
    }
  }

  /**
   * Sends a batch to the on-failure destination: the JSONL file and the callback. A failed write is
   * retried until it works or the runner stops (false), so a batch is never skipped unrecorded.
   */
  private async sendToFailure(
    shard: ShardState,
    batch: PendingBatch<BufferedRecord>,
    condition: FailureCondition,
    verdict: BatchVerdict | undefined,
  ): Promise<boolean> {
    const first = batch.records[0] as BufferedRecord;
    const last = batch.records[batch.records.length - 1] as BufferedRecord;
    const record = buildOnFailureRecord({
      functionArn: this.functionArn,
      condition,
      invocations: batch.invocations,
      functionError: verdict?.kind === 'failure' && verdict.functionError,
      shardId: shard.info.shardId,
      streamArn: this.streamArnValue ?? '',
      first,
      last,
      batchSize: batch.records.length,
    });
    const reason =
      verdict === undefined || verdict.kind === 'success'
        ? 'older than maximumRecordAgeInSeconds before any invocation'
        : verdict.reason;
    let attempt = 0;
    let written = false;
    while (!written) {
      try {
        await this.failureFile?.append(record);
        await this.options.onFailure?.({ record, event: buildEvent(batch.records), reason });
        written = true;
      } catch (error) {
        attempt++;
        this.log.error(
          `cannot write to the on-failure destination (attempt ${attempt}): ${errorText(error)}`,
        );
        if (this.stopping) return false;
        await this.backoff(Math.min(this.retryDelay.max, this.retryDelay.base * 2 ** attempt));
      }
    }
    this.counters.failedBatches++;
    this.counters.failedRecords += batch.records.length;
    const destination =
      this.failureFile?.path ??
      (this.options.onFailure !== undefined
        ? 'the onFailure callback'
        : 'no destination configured: discarded');
    this.log.error(
      `${this.describe(batch.records)} given up (${condition}) after ${batch.invocations} invocation(s): ${reason}; written to ${destination}`,
      {
        onFailureRecord: record,
      },
    );
    return true;
  }

  private logProgress(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastProgressLog < 5000) return;
    const c = this.counters;
    const line = `delivered ${c.recordsSucceeded} record(s) in ${c.invocations} invocation(s); ${c.retries} retries, ${c.bisections} bisections, ${c.failedBatches} batch(es) (${c.failedRecords} records) to on-failure`;
    if (line === this.loggedCounters && !force) return;
    this.lastProgressLog = now;
    this.loggedCounters = line;
    this.log.info(line);
  }
}
