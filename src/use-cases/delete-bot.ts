import type { DeleteBotMessage } from '../domain/ingestion-messages';
import { ValidationError } from '../errors';
import type { BotRegistry, ChunkStore } from '../ports';

export type DeleteBotResult = { bot_id: string; deleted: number };

/**
 * Removes every chunk of a bot, one page of keys at a time (so memory stays flat however large the bot),
 * then marks the bot deleted. The stream handler brings its counts to 0 and drops its snapshot as the
 * deletions arrive. A redelivered message finds nothing left to delete.
 * @throws ValidationError when bot_id is empty.
 * @throws WriteIncompleteError when DynamoDB kept refusing some deletes (delivering the message again is safe).
 */
export async function deleteBot(
  deps: { chunks: Pick<ChunkStore, 'botChunkIds' | 'delete'>; bots: Pick<BotRegistry, 'markDeleted'> },
  message: Pick<DeleteBotMessage, 'bot_id'>,
): Promise<DeleteBotResult> {
  if (message.bot_id.trim() === '') throw new ValidationError('bot_id must not be empty', 'bot_id');
  let deleted = 0;
  for await (const chunkIds of deps.chunks.botChunkIds(message.bot_id)) {
    await deps.chunks.delete(message.bot_id, chunkIds);
    deleted += chunkIds.length;
  }
  await deps.bots.markDeleted(message.bot_id);
  return { bot_id: message.bot_id, deleted };
}
