import type { Logger } from '@aws-lambda-powertools/logger';
import { DynamoCountsDoctorStore } from '../adapters/dynamodb/counts-doctor-store';
import { type DocumentPage, DynamoDocumentCatalog } from '../adapters/dynamodb/document-catalog';
import { DynamoDocumentLeases } from '../adapters/dynamodb/document-leases';
import { type AuthenticatedEvent, authenticate } from '../auth/caller';
import type { PutBotRequest } from '../domain/bot-request';
import { ScoreBuffer } from '../domain/scoring';
import type { BotCollection } from '../domain/types';
import { requireOwnedBot } from '../use-cases/authorize-bot';
import { type BotVerdict, checkBot } from '../use-cases/check-bot';
import { type DocumentChunksPage, documentChunks } from '../use-cases/document-chunks';
import { type ListedBot, listBots } from '../use-cases/list-bots';
import { putBot } from '../use-cases/put-bot';
import { makeSearch, type Search } from '../use-cases/search';
import { SnapshotCache } from '../use-cases/snapshot-cache';
import {
  type BaseDeps,
  baseDeps,
  guardedKeywordIndexStore,
  guardedSnapshotStore,
  type MetricsSink,
  once,
} from './base';
import { searchKernel } from './search-kernel';
import { createWriteDeps, type WriteDeps } from './write-path';

/**
 * What the HTTP handlers use: every use case as a function over the wired ports (one calling style:
 * `deps.useCase(...)`), plus the logger and metrics.
 */
export type HttpDeps = Pick<WriteDeps, 'upsertDocument' | 'deleteDocument' | 'deleteBot'> & {
  logger: Logger;
  metrics: MetricsSink;
  /** The caller's user id (token subject). @throws UnauthorizedError */
  authenticate: (event: AuthenticatedEvent) => Promise<string>;
  /** See `requireOwnedBot`. @throws NotFoundError, ForbiddenError */
  ownedBot: (botId: string, userId: string, options?: { allowDeleted?: boolean }) => Promise<BotCollection>;
  /** See `putBot` (new bots take the configured default dimension). */
  putBot: (
    botId: string,
    userId: string,
    request: PutBotRequest,
  ) => Promise<{ bot: BotCollection; created: boolean }>;
  /** One page of the bot's documents in filename order. @throws ValidationError (cursor, limit) */
  listDocuments: (botId: string, page: { limit?: number; cursor?: string }) => Promise<DocumentPage>;
  search: Search;
  /** One page of the caller's bots with counts and snapshot state. @throws ValidationError (cursor) */
  listBots: (
    userId: string,
    page: { limit: number; cursor?: string },
  ) => Promise<{ bots: ListedBot[]; nextCursor?: string }>;
  /** One page of a document's chunks in chunk_index order. @throws ValidationError (cursor) */
  documentChunks: (
    botId: string,
    request: { filename: string; limit: number; cursor?: string; withVectors: boolean },
  ) => Promise<DocumentChunksPage>;
  /** The doctor's read-only verdict on one bot. */
  checkBot: (botId: string) => Promise<BotVerdict>;
};

/** How long the HTTP doctor check waits before confirming drift (the CLI waits 3 s; a request is shorter). */
const CHECK_SETTLE_MS = 1000;

/**
 * The HTTP API's dependencies over `base`. The snapshot cache lives in them, so a container that keeps
 * them (module scope) keeps decoded snapshots between requests (every use is checked against the
 * version in Redis first).
 */
export function createHttpDeps(base: BaseDeps): HttpDeps {
  const { config } = base;
  const write = createWriteDeps(base);
  const snapshots = guardedSnapshotStore(base);
  const catalog = new DynamoDocumentCatalog(base.documents, config.tables.botDocuments);
  return {
    upsertDocument: write.upsertDocument,
    deleteDocument: write.deleteDocument,
    deleteBot: write.deleteBot,
    logger: base.logger,
    metrics: base.metrics,
    authenticate: (event) => authenticate(event, config.auth),
    ownedBot: (botId, userId, options) => requireOwnedBot(write.bots, botId, userId, options),
    putBot: (botId, userId, request) =>
      putBot(write.bots, botId, userId, request, config.defaultEmbeddingDimension),
    listDocuments: (botId, page) => catalog.list(botId, page),
    listBots: (userId, page) => listBots({ bots: write.bots, snapshots }, userId, page),
    documentChunks: (botId, request) => documentChunks(write.chunks, botId, request),
    checkBot: (botId) =>
      checkBot(
        {
          store: new DynamoCountsDoctorStore(base.documents, {
            vectorEmbeddingsTable: config.tables.vectorEmbeddings,
            botCollectionsTable: config.tables.botCollections,
            botDocumentsTable: config.tables.botDocuments,
            defaultEmbeddingDimension: config.defaultEmbeddingDimension,
          }),
          chunks: write.chunks,
          leases: new DynamoDocumentLeases(base.documents, config.tables.documentLeases),
          snapshots,
          settleMs: CHECK_SETTLE_MS,
        },
        botId,
      ),
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

/** The container's, built once from the environment. */
export const httpDeps = once(() => createHttpDeps(baseDeps()));
