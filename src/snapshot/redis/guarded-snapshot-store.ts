import type { RedisCircuitBreaker } from '../../adapters/redis/circuit-breaker';
import type { BotCollection, StoredChunk } from '../../domain/types';
import type {
  CurrentVersion,
  ReadHead,
  RebuildStaging,
  RebuildTicket,
  ScanCandidates,
  ScanSnapshot,
  Snapshot,
  SnapshotChange,
  SnapshotStore,
} from '../port';

/**
 * A SnapshotStore whose every call goes through the Redis client's circuit breaker: while Redis is known
 * to be down, each call fails at once with CacheUnavailableError instead of waiting on a reconnection.
 */
export class GuardedSnapshotStore implements SnapshotStore {
  constructor(
    private readonly inner: SnapshotStore,
    private readonly breaker: RedisCircuitBreaker,
  ) {}

  get scans(): boolean {
    return this.inner.scans;
  }

  applyChanges(botId: string, changes: SnapshotChange[]): Promise<void> {
    // Nothing to send: no reason to refuse (or to count an attempt).
    if (changes.length === 0) return Promise.resolve();
    return this.breaker.run(() => this.inner.applyChanges(botId, changes));
  }

  /** Reads nothing (the bot's item is at hand): no reason to go through the breaker. */
  versionOf(bot: BotCollection): { version: string; epoch: number } | undefined {
    return this.inner.versionOf(bot);
  }

  currentVersion(botId: string, options?: { head?: boolean }): Promise<CurrentVersion | null> {
    return this.breaker.run(() => this.inner.currentVersion(botId, options));
  }

  read(botId: string, previous?: Snapshot, head?: ReadHead): Promise<Snapshot | null> {
    return this.breaker.run(() => this.inner.read(botId, previous, head));
  }

  readScan(botId: string, head?: ReadHead): Promise<ScanSnapshot | null> {
    return this.breaker.run(() => this.inner.readScan(botId, head));
  }

  candidates(scan: ScanSnapshot, slots: readonly number[]): Promise<ScanCandidates | null> {
    return this.breaker.run(() => this.inner.candidates(scan, slots));
  }

  texts(botId: string, chunkIds: string[]): Promise<string[] | null> {
    return this.breaker.run(() => this.inner.texts(botId, chunkIds));
  }

  textsAt(botId: string, chunkIds: string[], version: string): Promise<string[] | 'moved' | null> {
    return this.breaker.run(() => this.inner.textsAt(botId, chunkIds, version));
  }

  beginRebuild(botId: string, epoch: number): Promise<RebuildTicket | null> {
    return this.breaker.run(() => this.inner.beginRebuild(botId, epoch));
  }

  commitRebuild(
    ticket: RebuildTicket,
    chunks: StoredChunk[],
    reread: (chunkIds: string[]) => Promise<StoredChunk[]>,
  ): Promise<boolean> {
    return this.breaker.run(() => this.inner.commitRebuild(ticket, chunks, reread));
  }

  stageRebuild(ticket: RebuildTicket, dimension: number): RebuildStaging {
    const staging = this.inner.stageRebuild(ticket, dimension);
    return {
      add: (chunks) => this.breaker.run(() => staging.add(chunks)),
      commit: (reread) => this.breaker.run(() => staging.commit(reread)),
      // Releasing must be tried even while the breaker is open (it never throws).
      abort: () => staging.abort(),
    };
  }

  drop(botId: string): Promise<void> {
    return this.breaker.run(() => this.inner.drop(botId));
  }
}
