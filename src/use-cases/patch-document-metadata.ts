import { checkBotId, checkMetadata, itemBytes, MAX_CHUNK_ITEM_BYTES } from '../contracts/dynamo-limits';
import { chunkItem } from '../domain/chunk-record';
import type { EmbeddingEncoding } from '../domain/embedding-codec';
import type { ChunkMetadata, StoredChunk } from '../domain/types';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import type { BotRegistry, ChunkStore, DocumentLeases } from '../ports';
import { DEFAULT_LEASE_POLICY, type LeasePolicy, leaseHolder, withDocumentLease } from './document-lease';

export type PatchMetadataDeps = {
  bots: Pick<BotRegistry, 'get'>;
  chunks: Pick<ChunkStore, 'documentChunkKeys' | 'get' | 'setMetadata'>;
  leases: DocumentLeases;
  leasePolicy?: LeasePolicy;
  /** How embeddings are stored (the item size check counts the stored item). */
  embeddingEncoding: EmbeddingEncoding;
};

/** `merge` sets the given top-level keys and keeps the others (Qdrant's set_payload); `replace` overwrites. */
export type MetadataPatchMode = 'merge' | 'replace';

export type PatchMetadataRequest = {
  bot_id: string;
  filename: string;
  metadata: ChunkMetadata;
  mode: MetadataPatchMode;
};

export type PatchMetadataResult = { bot_id: string; filename: string; chunks_updated: number };

/**
 * Sets the metadata of every chunk of one document (every version it holds), sending no embedding: one
 * conditional update per chunk. Holds the document's lease, so it never interleaves with a replacement
 * of the document. Every chunk's new item is checked before any is written; sending the same request
 * again leaves the same state.
 * @throws ValidationError naming `metadata` (or the key at fault) for metadata an upsert would refuse, or
 *   when a chunk would outgrow its item; nothing is written.
 * @throws NotFoundError for a bot without a record, a deleted bot, or a document with no chunk.
 * @throws ConflictError when the bot is being deleted.
 * @throws DocumentBusyError when another write of the document kept its lease.
 */
export async function patchDocumentMetadata(
  deps: PatchMetadataDeps,
  request: PatchMetadataRequest,
): Promise<PatchMetadataResult> {
  checkBotId(request.bot_id);
  checkMetadata(request.metadata, 'metadata');
  await checkWritable(deps, request.bot_id);
  return withDocumentLease(
    deps.leases,
    request,
    leaseHolder({ patch: request }),
    deps.leasePolicy ?? DEFAULT_LEASE_POLICY,
    async () => {
      // Under the lease: a bot delete that began before this read waits for it, one after it is seen.
      await checkWritable(deps, request.bot_id);
      const keys = await deps.chunks.documentChunkKeys(request.bot_id, request.filename);
      const stored =
        keys.length === 0
          ? []
          : await deps.chunks.get(
              request.bot_id,
              keys.map((key) => key.chunk_id),
              { consistent: true },
            );
      if (stored.length === 0) {
        throw new NotFoundError(
          `document ${JSON.stringify(request.filename)} of bot ${request.bot_id} does not exist`,
        );
      }
      const updates = stored.map((chunk) => ({
        chunk_id: chunk.chunk_id,
        metadata: request.mode === 'replace' ? request.metadata : { ...chunk.metadata, ...request.metadata },
      }));
      for (const [i, update] of updates.entries()) {
        checkItemSize(stored[i] as StoredChunk, update.metadata, deps.embeddingEncoding);
      }
      const updated = await deps.chunks.setMetadata(request.bot_id, updates);
      return { bot_id: request.bot_id, filename: request.filename, chunks_updated: updated };
    },
  );
}

async function checkWritable(deps: PatchMetadataDeps, botId: string): Promise<void> {
  const bot = await deps.bots.get(botId);
  if (bot === undefined || bot.status === 'deleted') {
    throw new NotFoundError(`bot ${botId} does not exist; nothing was written`);
  }
  if (bot.status === 'deleting')
    throw new ConflictError(`bot ${botId} is being deleted; nothing was written`);
}

/** @throws ValidationError when the chunk's item with this metadata would pass a chunk's size limit. */
function checkItemSize(chunk: StoredChunk, metadata: ChunkMetadata, encoding: EmbeddingEncoding): void {
  const bytes = itemBytes(chunkItem({ ...chunk, metadata }, encoding));
  if (bytes > MAX_CHUNK_ITEM_BYTES) {
    throw new ValidationError(
      `metadata would make chunk ${chunk.chunk_id} ${bytes} bytes stored; a chunk's item holds at most ${MAX_CHUNK_ITEM_BYTES} bytes`,
      'metadata',
    );
  }
}
