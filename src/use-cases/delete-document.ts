import { checkBotId, checkKey, MAX_FILENAME_BYTES } from '../contracts/dynamo-limits';
import type { DeleteDocumentMessage } from '../contracts/ingestion-messages';
import type { ChunkStore, DocumentLeases } from '../ports';
import { DEFAULT_LEASE_POLICY, type LeasePolicy, leaseHolder, withDocumentLease } from './document-lease';

export type DeleteDocumentResult = { bot_id: string; filename: string; deleted: number };

/**
 * Removes every chunk of one document (found through filename-index and, for deterministic ids, the base
 * table; deleted in batches of 25). Deleting a document that has no chunks does nothing, so a redelivered
 * message is harmless.
 * @throws ValidationError when bot_id or filename is not a valid key (empty, too many bytes).
 * @throws DocumentBusyError when another write of the document kept its lease; nothing is deleted.
 * @throws WriteIncompleteError when DynamoDB kept refusing some deletes (delivering the message again is safe).
 */
export async function deleteDocument(
  deps: {
    chunks: Pick<ChunkStore, 'documentChunkKeys' | 'delete'>;
    leases: DocumentLeases;
    leasePolicy?: LeasePolicy;
  },
  message: Pick<DeleteDocumentMessage, 'bot_id' | 'filename'>,
): Promise<DeleteDocumentResult> {
  const { chunks } = deps;
  checkBotId(message.bot_id);
  checkKey(message.filename, 'filename', MAX_FILENAME_BYTES);
  // Under the document's lease, so a delete never interleaves with a replacement into a partial document.
  const holder = leaseHolder({ type: 'delete_document', bot_id: message.bot_id, filename: message.filename });
  return withDocumentLease(
    deps.leases,
    message,
    holder,
    deps.leasePolicy ?? DEFAULT_LEASE_POLICY,
    async () => {
      const keys = await chunks.documentChunkKeys(message.bot_id, message.filename);
      if (keys.length > 0) {
        await chunks.delete(
          message.bot_id,
          keys.map((key) => key.chunk_id),
        );
      }
      return { bot_id: message.bot_id, filename: message.filename, deleted: keys.length };
    },
  );
}
