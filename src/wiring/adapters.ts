import { DynamoBotAliases } from '../adapters/dynamodb/bot-aliases';
import { DynamoBotRegistry } from '../adapters/dynamodb/bot-registry';
import { DynamoBotStats } from '../adapters/dynamodb/bot-stats';
import { DynamoChangeLog } from '../adapters/dynamodb/change-log';
import { DynamoChunkStore } from '../adapters/dynamodb/chunk-store';
import type { DynamoBaseDeps } from './dynamo-base';

/** What the DynamoDB adapters are built from: the configuration and the document client. */
type Dynamo = Pick<DynamoBaseDeps, 'config' | 'documents'>;

/** VectorEmbeddings, written in the configured embedding encoding. */
export function chunkStoreOf({ config, documents }: Dynamo): DynamoChunkStore {
  return new DynamoChunkStore(documents, {
    table: config.tables.vectorEmbeddings,
    embeddingEncoding: config.embeddingEncoding,
  });
}

/** BotCollections as the write path and the HTTP API see it. */
export function botRegistryOf({ config, documents }: Dynamo): DynamoBotRegistry {
  return new DynamoBotRegistry(documents, {
    table: config.tables.botCollections,
    defaultEmbeddingDimension: config.defaultEmbeddingDimension,
  });
}

/** The stream handler's counts: BotCollections, BotDocuments and the StreamClaims of counted records. */
export function botStatsOf({ config, documents }: Dynamo): DynamoBotStats {
  return new DynamoBotStats(documents, {
    botCollectionsTable: config.tables.botCollections,
    botDocumentsTable: config.tables.botDocuments,
    streamClaimsTable: config.tables.streamClaims,
    defaultEmbeddingDimension: config.defaultEmbeddingDimension,
    // The memory snapshot mode's containers catch up from the change log rather than reloading a bot.
    recordChanges: config.snapshotMode === 'memory',
  });
}

/** The chunk ids each data_version of a bot changed (the stream handler's change log). */
export function changeLogOf({ config, documents }: Dynamo): DynamoChangeLog {
  return new DynamoChangeLog(documents, { streamClaimsTable: config.tables.streamClaims });
}

/** BotAliases: alias names and the bot each points at. */
export function botAliasesOf({ config, documents }: Dynamo): DynamoBotAliases {
  return new DynamoBotAliases(documents, config.tables.botAliases);
}
