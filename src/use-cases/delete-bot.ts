import { checkBotId } from '../domain/dynamo-limits';
import type { DeleteBotMessage } from '../domain/ingestion-messages';
import type { BotRegistry, ChunkStore } from '../ports';

export type DeleteBotResult = { bot_id: string; deleted: number };

/**
 * Removes every chunk of a bot, one page of keys at a time (so memory stays flat however large the bot),
 * then marks the bot deleted. The stream handler brings its counts to 0 and drops its snapshot as the
 * deletions arrive. A redelivered message finds nothing left to delete.
 * @throws ValidationError when bot_id is not a valid key.
 * @throws WriteIncompleteError when DynamoDB kept refusing some deletes (delivering the message again is safe).
 */
export async function deleteBot(
  deps: { chunks: Pick<ChunkStore, 'botChunkIds' | 'delete'>; bots: Pick<BotRegistry, 'markDeleted'> },
  message: Pick<DeleteBotMessage, 'bot_id'>,
): Promise<DeleteBotResult> {
  checkBotId(message.bot_id);
  let deleted = 0;
  for await (const chunkIds of deps.chunks.botChunkIds(message.bot_id)) {
    await deps.chunks.delete(message.bot_id, chunkIds);
    deleted += chunkIds.length;
  }
  await deps.bots.markDeleted(message.bot_id);
  return { bot_id: message.bot_id, deleted };
}
