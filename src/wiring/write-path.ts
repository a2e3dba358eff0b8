import { DynamoDocumentLeases } from '../adapters/dynamodb/document-leases';
import type {
  DeleteBotMessage,
  DeleteDocumentMessage,
  UpsertDocumentMessage,
} from '../contracts/ingestion-messages';
import type { BotRegistry, ChunkStore } from '../ports';
import { type DeleteBotResult, deleteBot } from '../use-cases/delete-bot';
import { type DeleteDocumentResult, deleteDocument } from '../use-cases/delete-document';
import { DEFAULT_LEASE_POLICY } from '../use-cases/document-lease';
import type { IngestDeps } from '../use-cases/ingest-message';
import {
  type PatchMetadataRequest,
  type PatchMetadataResult,
  patchDocumentMetadata,
} from '../use-cases/patch-document-metadata';
import { type UpsertDocumentResult, upsertDocument } from '../use-cases/upsert-document';
import { botAliasesOf, botRegistryOf, chunkStoreOf } from './adapters';
import type { DynamoBaseDeps } from './dynamo-base';

/** The write path's adapters and use cases, shared by the ingestion handler and the HTTP API. */
export type WriteDeps = {
  bots: BotRegistry;
  chunks: ChunkStore;
  /** See `upsertDocument` (HTTP: waits at most 5 s for another write of the document). */
  upsertDocument: (message: UpsertDocumentMessage) => Promise<UpsertDocumentResult>;
  /** See `deleteDocument`. */
  deleteDocument: (
    message: Pick<DeleteDocumentMessage, 'bot_id' | 'filename'>,
  ) => Promise<DeleteDocumentResult>;
  /** See `patchDocumentMetadata`. */
  patchDocumentMetadata: (request: PatchMetadataRequest) => Promise<PatchMetadataResult>;
  /** See `deleteBot`. */
  deleteBot: (message: Pick<DeleteBotMessage, 'bot_id'>) => Promise<DeleteBotResult>;
  /** Everything `ingestMessage` needs. */
  ingest: IngestDeps;
};

/** How long an HTTP write waits for another write of the same document before answering 409. */
const HTTP_LEASE_WAIT_MS = 5000;

/** The write path over `base`'s DynamoDB client and configuration. */
export function createWriteDeps(base: Pick<DynamoBaseDeps, 'config' | 'documents'>): WriteDeps {
  const { config, documents } = base;
  const chunks = chunkStoreOf(base);
  const bots = botRegistryOf(base);
  const ingest: IngestDeps = {
    chunks,
    bots,
    aliases: botAliasesOf(base),
    leases: new DynamoDocumentLeases(documents, config.tables.documentLeases),
    defaultEmbeddingDimension: config.defaultEmbeddingDimension,
    embeddingEncoding: config.embeddingEncoding,
  };
  // A caller waiting on a 29 s HTTP request gets a 409 with Retry-After sooner than a queue consumer,
  // which waits longer for the other writer (or, deleting a bot, for the writes still running) (a failed SQS record is only retried after the visibility
  // timeout).
  const direct: IngestDeps = {
    ...ingest,
    leasePolicy: { ...DEFAULT_LEASE_POLICY, waitMs: HTTP_LEASE_WAIT_MS },
  };
  return {
    bots,
    chunks,
    ingest,
    upsertDocument: (message) => upsertDocument(direct, message),
    deleteDocument: (message) => deleteDocument(direct, message),
    patchDocumentMetadata: (request) => patchDocumentMetadata({ ...direct, chunks }, request),
    deleteBot: (message) => deleteBot(direct, message),
  };
}
