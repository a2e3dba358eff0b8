import { DynamoCountsDoctorStore } from '../adapters/dynamodb/counts-doctor-store';
import { DynamoDocumentLeases } from '../adapters/dynamodb/document-leases';
import { ScoreBuffer } from '../domain/ranking/scoring';
import { containerBudgets, MemorySnapshotStore, SnapshotCache } from '../snapshot';
import { type BotVerdict, checkBot } from '../use-cases/check-bot';
import { type ListedBot, listBots } from '../use-cases/list-bots';
import { makeSearch, type Search } from '../use-cases/search';
import { botRegistryOf, changeLogOf, chunkStoreOf } from './adapters';
import { type BaseDeps, baseDeps, guardedKeywordIndexStore, guardedSnapshotStore } from './base';
import { once } from './dynamo-base';
import { type HttpRouteDeps, type HttpRouteOptions, httpRouteDeps } from './http';
import { searchKernel } from './search-kernel';

/**
 * What the HTTP routes that read the bots' Redis snapshots use: search (one query or a batch), the list
 * of bots with their snapshot state, and the doctor's check of one bot.
 */
export type SnapshotHttpDeps = HttpRouteDeps & {
  search: Search;
  /** One page of the caller's bots with counts and snapshot state. @throws ValidationError (cursor) */
  listBots: (
    userId: string,
    page: { limit: number; cursor?: string },
  ) => Promise<{ bots: ListedBot[]; nextCursor?: string }>;
  /** The doctor's read-only verdict on one bot. */
  checkBot: (botId: string) => Promise<BotVerdict>;
};

/** How long the HTTP doctor check waits before confirming drift (the CLI waits 3 s; a request is shorter). */
const CHECK_SETTLE_MS = 1000;

/**
 * The snapshot routes' dependencies over `base`. The snapshot cache lives in them, so a container that
 * keeps them (module scope) keeps decoded snapshots between requests (every use is checked against the
 * version in Redis first, or in memory mode against the bot's data_version).
 */
export function createSnapshotHttpDeps(base: BaseDeps, options: HttpRouteOptions = {}): SnapshotHttpDeps {
  const { config } = base;
  const bots = botRegistryOf(base);
  const chunks = chunkStoreOf(base);
  // Memory mode: each container holds its bots' snapshots, read from DynamoDB; Redis mode: shared ones.
  const memory =
    config.snapshotMode === 'memory'
      ? new MemorySnapshotStore({ bots, chunks, changes: changeLogOf(base), logger: base.logger })
      : null;
  const shared = guardedSnapshotStore(base);
  const snapshots = memory ?? shared;
  // What the container holds between searches grows with the memory the function is given.
  const budgets = containerBudgets(config.functionMemoryMb);
  return {
    ...httpRouteDeps(base, bots, options),
    listBots: (userId, page) => listBots({ bots, snapshots: shared }, userId, page),
    checkBot: (botId) =>
      checkBot(
        {
          store: new DynamoCountsDoctorStore(base.documents, {
            vectorEmbeddingsTable: config.tables.vectorEmbeddings,
            botCollectionsTable: config.tables.botCollections,
            botDocumentsTable: config.tables.botDocuments,
            defaultEmbeddingDimension: config.defaultEmbeddingDimension,
          }),
          chunks,
          leases: new DynamoDocumentLeases(base.documents, config.tables.documentLeases),
          snapshots: shared,
          settleMs: CHECK_SETTLE_MS,
        },
        botId,
      ),
    search: makeSearch({
      bots,
      chunks,
      snapshots,
      cache:
        snapshots === null ? null : new SnapshotCache(snapshots, { maxBytes: budgets.snapshotCacheBytes }),
      scores: new ScoreBuffer(),
      kernel: searchKernel(base.logger, base.metrics),
      keywords: guardedKeywordIndexStore(base, { heldIdBytes: budgets.keywordIdBytes }),
      logger: base.logger,
    }),
  };
}

/** The container's, built once from the environment. */
export const snapshotHttpDeps = once(() => createSnapshotHttpDeps(baseDeps()));
