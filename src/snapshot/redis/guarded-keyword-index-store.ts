import type { RedisCircuitBreaker } from '../../adapters/redis/circuit-breaker';
import type { KeywordChange, KeywordDocument, KeywordIndexStore, KeywordRead } from '../port';

/**
 * A KeywordIndexStore whose every call goes through the Redis client's circuit breaker, as
 * `GuardedSnapshotStore` does for the snapshot: while Redis is known to be down, each call fails at once
 * with CacheUnavailableError.
 */
export class GuardedKeywordIndexStore implements KeywordIndexStore {
  constructor(
    private readonly inner: KeywordIndexStore,
    private readonly breaker: RedisCircuitBreaker,
  ) {}

  beginUpdate(botId: string): Promise<string | null> {
    return this.breaker.run(() => this.inner.beginUpdate(botId));
  }

  finishUpdate(botId: string, token: string, changes: readonly KeywordChange[]): Promise<boolean> {
    return this.breaker.run(() => this.inner.finishUpdate(botId, token, changes));
  }

  drop(botId: string): Promise<void> {
    return this.breaker.run(() => this.inner.drop(botId));
  }

  read(botId: string, version: string, terms: readonly string[]): Promise<KeywordRead> {
    return this.breaker.run(() => this.inner.read(botId, version, terms));
  }

  build(botId: string, version: string, documents: readonly KeywordDocument[]): Promise<boolean> {
    return this.breaker.run(() => this.inner.build(botId, version, documents));
  }

  claimBuild(botId: string): Promise<string> {
    return this.breaker.run(() => this.inner.claimBuild(botId));
  }

  publishBuild(
    botId: string,
    claim: string,
    version: string,
    documents: readonly KeywordDocument[],
  ): Promise<boolean> {
    return this.breaker.run(() => this.inner.publishBuild(botId, claim, version, documents));
  }
}
