import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import type { SnapshotStore } from '../../src/snapshot';
import { type BenchDataset, prefixOf, storedChunk } from './data';
import type { BenchEnvironment } from './environment';
import { count } from './format';
import { type CallTimeMeter, meterCallTime, meterWriteCapacity, type WriteCapacityMeter } from './instrument';
import { type LoadResult, loadChunks } from './load';
import { machineInfo } from './machine';
import { timeQueries } from './measure';
import type { SearchMethod } from './methods/method';
import type { BenchOptions } from './options';
import type { Progress } from './progress';
import { type BenchResults, METHODS, type MethodKey } from './results';
import { buildSnapshot } from './snapshot-builder';
import { meanRecallAtK, summarize } from './stats';

export const DIMENSION = 384;
export const K = 10;
/** Every generated chunk carries this created_at, so runs write identical items. */
export const CREATED_AT = '2026-01-01T00:00:00.000Z';

export type Encoding = 'list' | 'binary';

/** What one size needs: the rows, the queries, and the exact answers every method is checked against. */
export type SizeContext = {
  n: number;
  dataset: BenchDataset;
  queries: Float32Array[];
  exact: string[][];
};

/** State shared by the suites of one run: options, services, the data, and the results so far. */
export class BenchContext {
  readonly results: BenchResults;
  private readonly loads = new Map<string, LoadResult>();
  /** Snapshots published so far, by Redis URL and size: publishing 100k chunks takes a while. */
  private readonly published = new Set<string>();

  constructor(
    readonly options: BenchOptions,
    readonly progress: Progress,
    readonly env: BenchEnvironment,
    private readonly data: BenchDataset,
  ) {
    this.results = {
      machine: machineInfo(),
      mode: options.mode,
      command: ['npm run bench', ...(options.argv.length > 0 ? ['--', ...options.argv] : [])].join(' '),
      dimension: DIMENSION,
      queries: options.queries,
      k: K,
      totalSeconds: 0,
      latency: [],
      dynamoShare: [],
      writeCost: [],
      bookkeeping: [],
      metadataPatch: [],
      aliases: [],
      memoryMode: [],
      batchCost: [],
      freshness: [],
      outage: [],
      concurrency: [],
      memory: [],
      kernel: [],
      features: [],
      keywordIndex: [],
      notes: [],
    };
  }

  /** How many chunks the run generated (its largest size). */
  get generatedChunks(): number {
    return this.data.count;
  }

  /** The first n generated chunks (n up to the largest size of the run). */
  dataset(n: number): BenchDataset {
    if (n > this.data.count) throw new Error(`only ${this.data.count} chunks were generated, ${n} asked`);
    return prefixOf(this.data, n);
  }

  note(message: string): void {
    if (!this.results.notes.includes(message)) this.results.notes.push(message);
  }

  skip(method: MethodKey, n: number, reason: string): void {
    this.progress.note(`${method} at ${count(n)}: skipped (${reason})`);
    this.results.latency.push({ method, n, skipped: reason });
  }

  /** Times one method at one size; records median, p95 and recall@k against the exact answers. */
  async time(
    key: MethodKey,
    size: SizeContext,
    method: SearchMethod,
    runs: number,
    options: {
      warmup?: number;
      minRuns?: number;
      before?: () => Promise<void> | void;
      note?: string;
    } = {},
  ): Promise<boolean> {
    const label = `${key} at ${count(size.n)}`;
    let timing: Awaited<ReturnType<typeof timeQueries>>;
    try {
      timing = await this.timeOrThrow(method, size, runs, label, options);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.progress.note(`${label} failed: ${message}`);
      this.note(`${METHODS[key].label} at ${count(size.n)} failed: ${message}`);
      return false;
    }
    const exact = timing.answers.map((_, i) => size.exact[i % size.exact.length] as string[]);
    const summary = summarize(timing.samplesMs);
    const recall = meanRecallAtK(exact, timing.answers, K);
    this.results.latency.push({
      method: key,
      n: size.n,
      summary,
      recall,
      ...(options.note === undefined ? {} : { note: options.note }),
    });
    this.progress.note(
      `${label}: median ${summary.median.toFixed(3)} ms, p95 ${summary.p95.toFixed(3)} ms, recall@${K} ${recall.toFixed(3)}`,
    );
    return true;
  }

  private timeOrThrow(
    method: SearchMethod,
    size: SizeContext,
    runs: number,
    label: string,
    options: { warmup?: number; minRuns?: number; before?: () => Promise<void> | void },
  ) {
    return timeQueries(method, size.queries, {
      runs,
      minRuns: options.minRuns ?? 3,
      budgetMs: this.options.budgetMsPerMethod,
      warmup: options.warmup ?? 1,
      k: K,
      ...(options.before === undefined ? {} : { before: options.before }),
      onProgress: (done, total) => this.progress.count(label, done, total),
    });
  }

  botId(encoding: Encoding, n: number): string {
    return `bench-${encoding}-${count(n)}`;
  }

  /** Loads the bot of this size and encoding into DynamoDB Local once; later calls reuse it. */
  async loaded(n: number, encoding: Encoding): Promise<string> {
    const botId = this.botId(encoding, n);
    if (!this.loads.has(botId)) {
      const dataset = this.dataset(n);
      this.progress.note(`loading ${count(n)} chunks (${encoding}) into DynamoDB Local`);
      const store = new DynamoChunkStore(this.env.documents, {
        table: this.env.config.tables.vectorEmbeddings,
        embeddingEncoding: encoding,
      });
      const result = await loadChunks(
        store,
        this.writeCapacity(),
        n,
        (row) => storedChunk(dataset, botId, row, CREATED_AT),
        (done) => this.progress.count(`load ${botId}`, done, n),
      );
      this.progress.note(`loaded ${botId} in ${(result.milliseconds / 1000).toFixed(1)} s`);
      this.loads.set(botId, result);
    }
    return botId;
  }

  /**
   * The bot `bench-snapshot-<n>` with a snapshot of the first n chunks in the Redis at `redisUrl`,
   * published once and shared by the suites that only read it.
   */
  async snapshotBot(store: SnapshotStore, redisUrl: string, n: number): Promise<string> {
    const botId = `bench-snapshot-${count(n)}`;
    const key = `${redisUrl} ${n}`;
    if (!this.published.has(key)) {
      this.progress.note(`publishing the ${count(n)}-chunk snapshot of ${botId}`);
      const started = performance.now();
      await store.drop(botId);
      await buildSnapshot(store, botId, this.dataset(n), CREATED_AT);
      this.progress.note(`published in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      this.published.add(key);
    }
    return botId;
  }

  /** Marks a shared snapshot as changed (a suite wrote to it): the next user republishes it. */
  forgetSnapshot(redisUrl: string, n: number): void {
    this.published.delete(`${redisUrl} ${n}`);
  }

  /** Time spent in calls through the bench's DynamoDB client (one meter, installed on first use). */
  dynamoCallTime(): CallTimeMeter {
    this.callTime ??= meterCallTime(this.env.dynamodb);
    return this.callTime;
  }

  private callTime: CallTimeMeter | undefined;

  /** Write capacity reported for writes through the bench's DynamoDB client (installed on first use). */
  writeCapacity(): WriteCapacityMeter {
    this.capacity ??= meterWriteCapacity(this.env.dynamodb);
    return this.capacity;
  }

  private capacity: WriteCapacityMeter | undefined;

  /** The load of a bot, if this run loaded it. */
  loadOf(botId: string): LoadResult | undefined {
    return this.loads.get(botId);
  }
}
