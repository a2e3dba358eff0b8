import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDocumentCatalog } from '../adapters/dynamodb/document-catalog';
import { type AuthenticatedEvent, authenticate } from '../auth/caller';
import type { Config } from '../config';
import { ScoreBuffer } from '../domain/scoring';
import { makeSearch, type Search } from '../use-cases/search';
import { SnapshotCache } from '../use-cases/snapshot-cache';
import { baseDeps, guardedKeywordIndexStore, guardedSnapshotStore } from './base';
import { searchKernel } from './search-kernel';
import { type WriteDeps, writeDeps } from './write-path';

/** What the HTTP handlers use: the write path's adapters and use cases, plus search and listing. */
export type HttpDeps = Pick<
  WriteDeps,
  'bots' | 'chunks' | 'upsertDocument' | 'deleteDocument' | 'deleteBot'
> & {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /** The caller's user id (token subject). @throws UnauthorizedError */
  authenticate: (event: AuthenticatedEvent) => Promise<string>;
  documents: DynamoDocumentCatalog;
  search: Search;
};

let deps: HttpDeps | undefined;

/**
 * The HTTP API's dependencies over `baseDeps()`, built once per container. The snapshot cache lives here,
 * at module scope, so a warm container keeps decoded snapshots between requests (every use is checked
 * against the version in Redis first).
 */
export function httpDeps(): HttpDeps {
  if (deps === undefined) {
    const base = baseDeps();
    const write = writeDeps();
    const snapshots = guardedSnapshotStore(base);
    deps = {
      bots: write.bots,
      chunks: write.chunks,
      upsertDocument: write.upsertDocument,
      deleteDocument: write.deleteDocument,
      deleteBot: write.deleteBot,
      config: base.config,
      logger: base.logger,
      metrics: base.metrics,
      authenticate: (event) => authenticate(event, base.config.auth),
      documents: new DynamoDocumentCatalog(base.documents, base.config.tables.botDocuments),
      search: makeSearch({
        bots: write.bots,
        chunks: write.chunks,
        snapshots,
        cache: snapshots === null ? null : new SnapshotCache(snapshots),
        scores: new ScoreBuffer(),
        kernel: searchKernel(base.logger, base.metrics),
        keywords: guardedKeywordIndexStore(base),
        logger: base.logger,
      }),
    };
  }
  return deps;
}

/** The logger, for reporting an error even when building the other dependencies failed. */
export function httpLogger(): Pick<Logger, 'error'> {
  return baseDeps().logger;
}
