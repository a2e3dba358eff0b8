import type { IngestionMessage } from '../contracts/ingestion-messages';
import type { BotRegistry, ChunkStore } from '../ports';
import { type DeleteBotResult, deleteBot } from './delete-bot';
import { type DeleteDocumentResult, deleteDocument } from './delete-document';
import { type UpsertDocumentDeps, type UpsertDocumentResult, upsertDocument } from './upsert-document';

/** What every ingestion message type needs: the upsert's dependencies, and the ports a bot deletion uses. */
export type IngestDeps = UpsertDocumentDeps & {
  chunks: Pick<ChunkStore, 'put' | 'delete' | 'documentChunkKeys' | 'get' | 'botChunkIds'>;
  bots: Pick<BotRegistry, 'get' | 'ensure' | 'beginDelete' | 'markDeleted'>;
};

/** What one message did, tagged with its type. */
export type IngestResult =
  | ({ type: 'upsert_document' } & UpsertDocumentResult)
  | ({ type: 'delete_document' } & DeleteDocumentResult)
  | ({ type: 'delete_bot' } & DeleteBotResult);

/**
 * Applies one parsed ingestion message. Every message type is safe to apply twice.
 * @throws as the use case of its type: ValidationError, NotFoundError, ConflictError, WriteIncompleteError.
 */
export async function ingestMessage(deps: IngestDeps, message: IngestionMessage): Promise<IngestResult> {
  switch (message.type) {
    case 'upsert_document':
      return { type: message.type, ...(await upsertDocument(deps, message)) };
    case 'delete_document':
      return { type: message.type, ...(await deleteDocument(deps, message)) };
    case 'delete_bot':
      return { type: message.type, ...(await deleteBot(deps, message)) };
  }
}
