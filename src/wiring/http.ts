import type { Logger } from '@aws-lambda-powertools/logger';
import { type DocumentPage, DynamoDocumentCatalog } from '../adapters/dynamodb/document-catalog';
import { type AuthenticatedEvent, authenticate } from '../auth/caller';
import type { PutBotRequest } from '../domain/bot-request';
import type { BotCollection } from '../domain/types';
import type { BotRegistry } from '../ports';
import { requireOwnedBot } from '../use-cases/authorize-bot';
import { type DocumentChunksPage, documentChunks } from '../use-cases/document-chunks';
import { putBot } from '../use-cases/put-bot';
import { type DynamoBaseDeps, dynamoBaseDeps, type MetricsSink, once } from './dynamo-base';
import { createWriteDeps, type WriteDeps } from './write-path';

/** What every HTTP route uses: the logger and metrics, who calls, and whether they own the bot. */
export type HttpRouteDeps = {
  logger: Logger;
  metrics: MetricsSink;
  /** The caller's user id (token subject). @throws UnauthorizedError */
  authenticate: (event: AuthenticatedEvent) => Promise<string>;
  /** See `requireOwnedBot`. @throws NotFoundError, ForbiddenError */
  ownedBot: (botId: string, userId: string, options?: { allowDeleted?: boolean }) => Promise<BotCollection>;
};

/** `HttpRouteDeps` over `base`, checking ownership in `bots`. */
export function httpRouteDeps(base: DynamoBaseDeps, bots: BotRegistry): HttpRouteDeps {
  return {
    logger: base.logger,
    metrics: base.metrics,
    authenticate: (event) => authenticate(event, base.config.auth),
    ownedBot: (botId, userId, options) => requireOwnedBot(bots, botId, userId, options),
  };
}

/**
 * What the HTTP routes served from DynamoDB alone use (a bot, its documents and chunks, writes and
 * deletes): each use case as a function over the wired ports (one calling style: `deps.useCase(...)`).
 * The routes that read Redis snapshots use `SnapshotHttpDeps` (./http-snapshots.ts).
 */
export type HttpDeps = HttpRouteDeps &
  Pick<WriteDeps, 'upsertDocument' | 'deleteDocument' | 'patchDocumentMetadata' | 'deleteBot'> & {
    /** See `putBot` (new bots take the configured default dimension). */
    putBot: (
      botId: string,
      userId: string,
      request: PutBotRequest,
    ) => Promise<{ bot: BotCollection; created: boolean }>;
    /** One page of the bot's documents in filename order. @throws ValidationError (cursor, limit) */
    listDocuments: (botId: string, page: { limit?: number; cursor?: string }) => Promise<DocumentPage>;
    /** One page of a document's chunks in chunk_index order. @throws ValidationError (cursor) */
    documentChunks: (
      botId: string,
      request: { filename: string; limit: number; cursor?: string; withVectors: boolean },
    ) => Promise<DocumentChunksPage>;
  };

/** The DynamoDB routes' dependencies over `base`. */
export function createHttpDeps(base: DynamoBaseDeps): HttpDeps {
  const { config } = base;
  const write = createWriteDeps(base);
  const catalog = new DynamoDocumentCatalog(base.documents, config.tables.botDocuments);
  return {
    ...httpRouteDeps(base, write.bots),
    upsertDocument: write.upsertDocument,
    deleteDocument: write.deleteDocument,
    patchDocumentMetadata: write.patchDocumentMetadata,
    deleteBot: write.deleteBot,
    putBot: (botId, userId, request) =>
      putBot(write.bots, botId, userId, request, config.defaultEmbeddingDimension),
    listDocuments: (botId, page) => catalog.list(botId, page),
    documentChunks: (botId, request) => documentChunks(write.chunks, botId, request),
  };
}

/** The container's, built once from the environment. */
export const httpDeps = once(() => createHttpDeps(dynamoBaseDeps()));
