import type { DeleteDocumentMessage } from '../domain/ingestion-messages';
import { ValidationError } from '../errors';
import type { ChunkStore } from '../ports';

export type DeleteDocumentResult = { bot_id: string; filename: string; deleted: number };

/**
 * Removes every chunk of one document (found through filename-index and, for deterministic ids, the base
 * table; deleted in batches of 25). Deleting a document that has no chunks does nothing, so a redelivered
 * message is harmless.
 * @throws ValidationError when bot_id or filename is empty.
 * @throws WriteIncompleteError when DynamoDB kept refusing some deletes (delivering the message again is safe).
 */
export async function deleteDocument(
  chunks: Pick<ChunkStore, 'documentChunkKeys' | 'delete'>,
  message: Pick<DeleteDocumentMessage, 'bot_id' | 'filename'>,
): Promise<DeleteDocumentResult> {
  if (message.bot_id.trim() === '') throw new ValidationError('bot_id must not be empty', 'bot_id');
  if (message.filename.trim() === '') throw new ValidationError('filename must not be empty', 'filename');
  const keys = await chunks.documentChunkKeys(message.bot_id, message.filename);
  if (keys.length > 0) {
    await chunks.delete(
      message.bot_id,
      keys.map((key) => key.chunk_id),
    );
  }
  return { bot_id: message.bot_id, filename: message.filename, deleted: keys.length };
}
