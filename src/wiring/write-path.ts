import { DynamoBotRegistry } from '../adapters/dynamodb/bot-registry';
import { DynamoChunkStore } from '../adapters/dynamodb/chunk-store';
import { DynamoDocumentLeases } from '../adapters/dynamodb/document-leases';
import type {
  DeleteBotMessage,
  DeleteDocumentMessage,
  UpsertDocumentMessage,
} from '../domain/ingestion-messages';
import { type DeleteBotResult, deleteBot } from '../use-cases/delete-bot';
import { type DeleteDocumentResult, deleteDocument } from '../use-cases/delete-document';
import type { IngestDeps } from '../use-cases/ingest-message';
import { type UpsertDocumentResult, upsertDocument } from '../use-cases/upsert-document';
import { baseDeps } from './base';

/** The write path's adapters and use cases, shared by the ingestion handler and the HTTP API. */
export type WriteDeps = {
  bots: DynamoBotRegistry;
  chunks: DynamoChunkStore;
  /** See `upsertDocument`. */
  upsertDocument: (message: UpsertDocumentMessage) => Promise<UpsertDocumentResult>;
  /** See `deleteDocument`. */
  deleteDocument: (
    message: Pick<DeleteDocumentMessage, 'bot_id' | 'filename'>,
  ) => Promise<DeleteDocumentResult>;
  /** See `deleteBot`. */
  deleteBot: (message: Pick<DeleteBotMessage, 'bot_id'>) => Promise<DeleteBotResult>;
  /** Everything `ingestMessage` needs. */
  ingest: IngestDeps;
};

let deps: WriteDeps | undefined;

/** Built once per container over `baseDeps()`. */
export function writeDeps(): WriteDeps {
  if (deps === undefined) {
    const { config, documents } = baseDeps();
    const chunks = new DynamoChunkStore(documents, {
      table: config.tables.vectorEmbeddings,
      embeddingEncoding: config.embeddingEncoding,
    });
    const bots = new DynamoBotRegistry(documents, {
      table: config.tables.botCollections,
      defaultEmbeddingDimension: config.defaultEmbeddingDimension,
    });
    const ingest: IngestDeps = {
      chunks,
      bots,
      leases: new DynamoDocumentLeases(documents, config.tables.documentLeases),
      defaultEmbeddingDimension: config.defaultEmbeddingDimension,
      embeddingEncoding: config.embeddingEncoding,
    };
    deps = {
      bots,
      chunks,
      ingest,
      upsertDocument: (message) => upsertDocument(ingest, message),
      deleteDocument: (message) => deleteDocument(ingest, message),
      deleteBot: (message) => deleteBot(ingest, message),
    };
  }
  return deps;
}
