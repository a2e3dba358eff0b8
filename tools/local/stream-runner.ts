import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { ConfigError, DrainTimeoutError } from '../../src/errors';
import type { BackoffPolicy } from '../../src/machinery/backoff';
import { nap, Wakeup } from '../../src/machinery/wakeup';
import { deliverBatch } from './batch-delivery';
import { runBatchingWindow } from './batch-window';
import { type CheckpointStore, FileCheckpointStore, MemoryCheckpointStore } from './checkpoint-store';
import { localFunctionArn } from './lambda-context';
import { JsonLinesFailureFile } from './on-failure-destination';
import { describeShards } from './shard-discovery';
import { readableShards } from './shard-lineage';
import { pollShard } from './shard-poller';
import { newShardState, type RunnerScope, type ShardState } from './shard-state';
import {
  consoleRunnerLog,
  errorText,
  type StreamRunnerLog,
  type StreamRunnerOptions,
  type StreamRunnerStats,
} from './stream-runner-types';
import { resolveStreamSettings, type StreamSettings } from './stream-settings';

export type { CheckpointStore } from './checkpoint-store';
export { FileCheckpointStore, MemoryCheckpointStore } from './checkpoint-store';
export type {
  FailedBatch,
  StreamHandler,
  StreamRunnerLog,
  StreamRunnerOptions,
  StreamRunnerStats,
} from './stream-runner-types';
export { consoleRunnerLog } from './stream-runner-types';
export { loadStreamSettings, type StreamSettings } from './stream-settings';

type SavedCheckpoints = Record<string, { sequenceNumber?: string; finished?: boolean }>;

/**
 * Locally, what Lambda's DynamoDB event source mapping does in AWS: reads every shard of a table's stream
 * (children after their parents), batches records by the stream event settings, invokes the handler in
 * process with the event Lambda would deliver, honours partial batch responses, bisects, retries, sends
 * what still fails to the on-failure destination, and checkpoints per shard.
 *
 * This file is the lifecycle (start, stop, drain, the shard list); the parts live beside it: shard
 * discovery (`shard-discovery.ts`), polling (`shard-poller.ts`), the batching window (`batch-window.ts`),
 * retry and bisection (`batch-delivery.ts`, rules in `batch-policy.ts`) and the on-failure destination
 * (`failure-sender.ts`).
 */
export class StreamRunner {
  readonly settings: StreamSettings;
  private readonly checkpoints: CheckpointStore;
  private readonly failureFile: JsonLinesFailureFile | undefined;
  private readonly log: StreamRunnerLog;
  private readonly pollIntervalMs: number;
  private readonly shardRefreshIntervalMs: number;
  private readonly retryDelay: BackoffPolicy;
  private readonly shards = new Map<string, ShardState>();
  /** Cuts every nap short: drain, stop, a finished shard. */
  private readonly wakeup = new Wakeup();
  private readonly counters: StreamRunnerStats = {
    invocations: 0,
    recordsSucceeded: 0,
    retries: 0,
    bisections: 0,
    failedBatches: 0,
    failedRecords: 0,
    shardsFinished: 0,
  };
  private scope: RunnerScope | undefined;
  private mappingId = '';
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
    const retryDelay = options.retryDelayMs ?? { base: 100, max: 2000 };
    this.retryDelay = { baseMs: retryDelay.base, maxMs: retryDelay.max };
  }

  /** The stream being read (known once `start()` resolved). */
  get streamArn(): string | undefined {
    return this.scope?.streamArn;
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
    const region = await this.options.dynamodbClient.config.region();
    this.scope = this.newScope(streamArn, region);
    this.mappingId = `${this.options.functionName}|${streamArn}`;
    const saved = await this.checkpoints.load(this.mappingId);
    // A runner started again after stop() resumes from the store, like a new process would.
    this.shards.clear();
    this.streamReplacedBy = undefined;
    this.lastRefreshStart = Number.NEGATIVE_INFINITY;
    this.lastRefreshDone = Number.NEGATIVE_INFINITY;
    this.running = true;
    this.stopping = false;
    this.logStart(streamArn, Object.keys(saved).length);
    this.loop = this.run(saved);
  }

  /** Stops gracefully: the invocation under way finishes and is checkpointed, nothing new starts. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.wakeup.wake();
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
    this.wakeup.wake();
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
      await sleep(10);
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

  /** What the shard reader's parts share with the runner, for the stream `start()` found. */
  private newScope(streamArn: string, region: string): RunnerScope {
    return {
      options: this.options,
      settings: this.settings,
      log: this.log,
      counters: this.counters,
      failureFile: this.failureFile,
      pollIntervalMs: this.pollIntervalMs,
      retryDelay: this.retryDelay,
      streamArn,
      region,
      functionArn: localFunctionArn(this.options.functionName, region),
      wakeup: this.wakeup,
      stopping: () => this.stopping,
      backoff: async (ms) => {
        const until = performance.now() + ms;
        while (!this.stopping && performance.now() < until) await nap(until - performance.now(), this.wakeup);
      },
      saveCheckpoint: (shard, checkpoint) => this.saveCheckpoint(shard, checkpoint),
      logProgress: (force) => this.logProgress(force),
    };
  }

  private logStart(streamArn: string, resumedShards: number): void {
    const s = this.settings;
    this.log.info(`reading ${streamArn} for ${this.options.functionName}`, {
      batchSize: s.batchSize,
      maximumBatchingWindow: s.maximumBatchingWindow,
      bisectBatchOnFunctionError: s.bisectBatchOnFunctionError,
      maximumRetryAttempts: s.maximumRetryAttempts,
      maximumRecordAgeInSeconds: s.maximumRecordAgeInSeconds,
      functionResponseType: s.functionResponseType ?? 'none',
      onFailure: this.failureFile?.path ?? s.onFailureDestination ?? 'none',
      resumedShards,
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
  }

  /** Reads the shard list every `shardRefreshIntervalMs` (or when woken) and starts a reader per readable shard. */
  private async run(saved: SavedCheckpoints): Promise<void> {
    const scope = this.scope as RunnerScope;
    let first = true;
    while (!this.stopping) {
      const started = performance.now();
      this.refreshWanted = false;
      try {
        await this.checkStreamIsCurrent(scope.streamArn);
        const listed = await describeShards(this.options.streamsClient, scope.streamArn);
        for (const info of listed) {
          const known = this.shards.get(info.shardId);
          if (known !== undefined) {
            known.info = info;
            continue;
          }
          const checkpoint = saved[info.shardId];
          const latestStart =
            first && this.settings.startingPosition === 'LATEST' && checkpoint?.sequenceNumber === undefined;
          this.shards.set(info.shardId, newShardState(info, checkpoint, latestStart));
        }
        first = false;
        const finished = new Set(
          [...this.shards.values()].filter((s) => s.finished).map((s) => s.info.shardId),
        );
        for (const info of readableShards(listed, finished)) {
          const shard = this.shards.get(info.shardId);
          if (shard !== undefined && shard.task === undefined) shard.task = this.readShard(scope, shard);
        }
        this.lastRefreshStart = started;
        this.lastRefreshDone = performance.now();
      } catch (error) {
        this.log.error(`cannot list the shards of ${scope.streamArn}: ${errorText(error)}`);
      }
      this.logProgress(false);
      if (!this.refreshWanted) await nap(this.shardRefreshIntervalMs, this.wakeup);
    }
    await Promise.all([...this.shards.values()].map((s) => s.task));
  }

  /** A table deleted and created again has a new stream; this runner keeps to the one it started with. */
  private async checkStreamIsCurrent(streamArn: string): Promise<void> {
    if (this.streamReplacedBy !== undefined) return;
    const { Table } = await this.options.dynamodbClient.send(
      new DescribeTableCommand({ TableName: this.options.tableName }),
    );
    const latest = Table?.LatestStreamArn;
    if (latest !== undefined && latest !== streamArn) {
      this.streamReplacedBy = latest;
      this.log.warn(
        `table ${this.options.tableName} now has the stream ${latest} (recreated?); this runner still reads ${streamArn}: restart it to follow the new stream`,
      );
    }
  }

  /**
   * Reads one shard until it is closed and done, or the runner stops. Polling and delivery run side by
   * side, as in Lambda: the next records are fetched while the handler works on the current batch.
   */
  private async readShard(scope: RunnerScope, shard: ShardState): Promise<void> {
    const polling = pollShard(scope, shard);
    await runBatchingWindow(scope, shard, (records) => deliverBatch(scope, shard, records));
    await polling;
    if (!this.stopping && shard.iterator === null && shard.buffer.length === 0) await this.finishShard(shard);
  }

  private async finishShard(shard: ShardState): Promise<void> {
    shard.finished = true;
    this.counters.shardsFinished++;
    await this.saveCheckpoint(shard, { sequenceNumber: shard.checkpoint, finished: true });
    this.log.info(`shard ${shard.info.shardId} is closed and fully processed`);
    // Its children may be read now.
    this.refreshWanted = true;
    this.wakeup.wake();
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
