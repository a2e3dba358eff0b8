import type { BackoffPolicy } from '../../src/machinery/backoff';
import { Wakeup } from '../../src/machinery/wakeup';
import type { JsonLinesFailureFile } from './on-failure-destination';
import type { ShardInfo } from './shard-lineage';
import type { BufferedRecord } from './stream-event';
import type { StreamRunnerLog, StreamRunnerOptions, StreamRunnerStats } from './stream-runner-types';
import type { StreamSettings } from './stream-settings';

/** One shard as the runner reads it: positions, the read-ahead buffer and the delivery state. */
export type ShardState = {
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
  /** Cuts this shard's poller and deliverer naps short when the buffer changes. */
  wakeup: Wakeup;
};

/** A shard not read yet: from its checkpoint, else from the trim horizon (or LATEST when asked). */
export function newShardState(
  info: ShardInfo,
  checkpoint: { sequenceNumber?: string; finished?: boolean } | undefined,
  startAtLatest: boolean,
): ShardState {
  return {
    info,
    checkpoint: checkpoint?.sequenceNumber,
    readPosition: undefined,
    iterator: undefined,
    // LATEST applies to the shards open when the mapping starts; closed ones are history.
    startAtLatest,
    trimmed: false,
    buffer: [],
    windowStart: undefined,
    busy: false,
    finished: checkpoint?.finished === true || (startAtLatest && info.endingSequenceNumber !== undefined),
    task: undefined,
    lastEmptyPollStart: Number.NEGATIVE_INFINITY,
    pendingNote: undefined,
    wakeup: new Wakeup(),
  };
}

/** What the shard reader's parts (poller, batching window, delivery) share with the runner. */
export type RunnerScope = {
  readonly options: StreamRunnerOptions;
  readonly settings: StreamSettings;
  readonly log: StreamRunnerLog;
  readonly counters: StreamRunnerStats;
  readonly failureFile: JsonLinesFailureFile | undefined;
  readonly pollIntervalMs: number;
  readonly retryDelay: BackoffPolicy;
  readonly streamArn: string;
  readonly region: string;
  readonly functionArn: string;
  /** Cuts every nap short (drain, stop, a finished shard). */
  readonly wakeup: Wakeup;
  stopping(): boolean;
  /** Waits `ms` unless the runner stops (a retry backoff is not cut short by a drain). */
  backoff(ms: number): Promise<void>;
  /** Moves the shard's checkpoint to `sequenceNumber` and stores it (a failed store is logged only). */
  saveCheckpoint(
    shard: ShardState,
    checkpoint: { sequenceNumber: string | undefined; finished?: boolean },
  ): Promise<void>;
  logProgress(force: boolean): void;
};
