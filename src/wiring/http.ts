import type { Logger } from '@aws-lambda-powertools/logger';
import { type DocumentPage, DynamoDocumentCatalog } from '../adapters/dynamodb/document-catalog';
import { type AuthenticatedEvent, authenticate } from '../auth/caller';
import type { PutBotRequest } from '../contracts/bot-request';
import type { BotCollection } from '../domain/types';
import type { BotRegistry } from '../ports';
import { ALIAS_TTL_MS, AliasResolver, putAlias } from '../use-cases/aliases';
import { requireOwnedBot, requireOwnedBotOrAlias } from '../use-cases/authorize-bot';
import { type DocumentChunksPage, documentChunks } from '../use-cases/document-chunks';
import { putBot } from '../use-cases/put-bot';
import { botAliasesOf } from './adapters';
import { type DynamoBaseDeps, dynamoBaseDeps, type MetricsSink, once } from './dynamo-base';
import { createWriteDeps, type WriteDeps } from './write-path';

/** What every HTTP route uses: the logger and metrics, who calls, and whether they own the bot. */
export type HttpRouteDeps = {
  logger: Logger;
  metrics: MetricsSink;
  /** The caller's user id (token subject). @throws UnauthorizedError */
  authenticate: (event: AuthenticatedEvent) => Promise<string>;
  /** See `requireOwnedBot` and (`acceptAlias`) `requireOwnedBotOrAlias`. @throws NotFoundError, ForbiddenError */
  ownedBot: (
    botId: string,
    userId: string,
    options?: { allowDeleted?: boolean; acceptAlias?: boolean },
  ) => Promise<BotCollection>;
  /** The names of the aliases pointing at the bot, sorted. */
  aliasesOf: (botId: string) => Promise<string[]>;
};

/** How the route deps are tuned: tests shorten the alias cache's TTL (default `ALIAS_TTL_MS`). */
export type HttpRouteOptions = { aliasTtlMs?: number };

/**
 * `HttpRouteDeps` over `base`, checking ownership in `bots` and resolving aliases through one
 * `AliasResolver`, whose cache lives as long as these deps (a container's, at module scope).
 */
export function httpRouteDeps(
  base: DynamoBaseDeps,
  bots: BotRegistry,
  options: HttpRouteOptions = {},
): HttpRouteDeps {
  const aliases = botAliasesOf(base);
  const resolver = new AliasResolver(aliases, { ttlMs: options.aliasTtlMs ?? ALIAS_TTL_MS });
  return {
    logger: base.logger,
    metrics: base.metrics,
    authenticate: (event) => authenticate(event, base.config.auth),
    ownedBot: (botId, userId, { acceptAlias = false, ...options } = {}) =>
      acceptAlias
        ? requireOwnedBotOrAlias(bots, resolver, botId, userId, options)
        : requireOwnedBot(bots, botId, userId, options),
    aliasesOf: (botId) => aliases.listFor(botId),
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
    /** See `putAlias`: creates or moves the caller's alias. */
    putAlias: (alias: string, botId: string, userId: string) => Promise<{ created: boolean }>;
    /** Removes the caller's alias. @throws NotFoundError, ForbiddenError */
    deleteAlias: (alias: string, userId: string) => Promise<void>;
    /** One page of the bot's documents in filename order. @throws ValidationError (cursor, limit) */
    listDocuments: (botId: string, page: { limit?: number; cursor?: string }) => Promise<DocumentPage>;
    /** One page of a document's chunks in chunk_index order. @throws ValidationError (cursor) */
    documentChunks: (
      botId: string,
      request: { filename: string; limit: number; cursor?: string; withVectors: boolean },
    ) => Promise<DocumentChunksPage>;
  };

/** The DynamoDB routes' dependencies over `base`. */
export function createHttpDeps(base: DynamoBaseDeps, options: HttpRouteOptions = {}): HttpDeps {
  const { config } = base;
  const write = createWriteDeps(base);
  const catalog = new DynamoDocumentCatalog(base.documents, config.tables.botDocuments);
  const aliases = botAliasesOf(base);
  return {
    ...httpRouteDeps(base, write.bots, options),
    putAlias: (alias, botId, userId) => putAlias({ bots: write.bots, aliases }, alias, botId, userId),
    deleteAlias: (alias, userId) => aliases.remove(alias, userId),
    upsertDocument: write.upsertDocument,
    deleteDocument: write.deleteDocument,
    patchDocumentMetadata: write.patchDocumentMetadata,
    deleteBot: write.deleteBot,
    putBot: (botId, userId, request) =>
      putBot({ bots: write.bots, aliases }, botId, userId, request, config.defaultEmbeddingDimension),
    listDocuments: (botId, page) => catalog.list(botId, page),
    documentChunks: (botId, request) => documentChunks(write.chunks, botId, request),
  };
}

/** The container's, built once from the environment. */
export const httpDeps = once(() => createHttpDeps(dynamoBaseDeps()));
