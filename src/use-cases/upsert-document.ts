import { type ValidDocument, validateDocument } from '../contracts/document-validation';
import { checkBotId } from '../contracts/dynamo-limits';
import type { UpsertDocumentMessage } from '../contracts/ingestion-messages';
import { supersededChunks, versionIdOf } from '../domain/document-version';
import type { EmbeddingEncoding } from '../domain/embedding-codec';
import type { BotCollection, ChunkVersion, StoredChunk } from '../domain/types';
import {
  ConflictError,
  ItemRefusedError,
  NotFoundError,
  ValidationError,
  WriteIncompleteError,
} from '../errors';
import type { BotAliases, BotRegistry, ChunkStore, DocumentChunkKey, DocumentLeases } from '../ports';
import { DEFAULT_LEASE_POLICY, type LeasePolicy, leaseHolder, withDocumentLease } from './document-lease';

export type UpsertDocumentDeps = {
  bots: Pick<BotRegistry, 'get' | 'ensure'>;
  /** Read only for a bot id without a record: a write never creates a bot under an alias's name. */
  aliases: Pick<BotAliases, 'get'>;
  chunks: Pick<ChunkStore, 'put' | 'delete' | 'documentChunkKeys' | 'get'>;
  /** One writer of a document at a time (see withDocumentLease). */
  leases: DocumentLeases;
  leasePolicy?: LeasePolicy;
  /** The dimension of a bot that has no record yet. */
  defaultEmbeddingDimension: number;
  embeddingEncoding: EmbeddingEncoding;
  now?: () => Date;
};

export type UpsertDocumentResult = {
  bot_id: string;
  filename: string;
  total_chunks: number;
  /** Chunks this message wrote. */
  written: number;
  /** Chunks of other versions of the document it removed (its version is the one shown). */
  deleted: number;
  /** Whether the bot had no record before this message. */
  created_bot: boolean;
};

/**
 * Writes one document's chunks (all of them, or one contiguous part of a split document) as a version of
 * their own, beside the version search shows (docs/ingestion.md, "Versions"). Search switches to the new
 * version when its last chunk is written (every chunk of it present, and it is the latest complete one);
 * then the chunks of every other version are removed. Everything is validated before anything is
 * written; a bot without a record gets one (owned by `owner_user_id` if given). A deleted bot stays
 * deleted (its id is started over with `PUT /bots/{botId}` only). Delivering the same message again
 * leaves the same state.
 * @throws ValidationError naming the offending field; nothing is written. Also for a bot id without a
 *   record that is an alias's name (writes take the bot's own id; reads resolve aliases). Also when DynamoDB refuses a
 *   chunk the checks passed (naming it): what the request wrote is undone, the document is as before.
 * @throws ConflictError when `owner_user_id` names someone other than the bot's owner, or the bot is being
 *   deleted; nothing is written.
 * @throws NotFoundError when the bot was deleted; nothing is written.
 * @throws DocumentBusyError when another write of the document kept its lease; nothing is written.
 * @throws WriteIncompleteError when DynamoDB kept refusing some writes: search keeps showing one version
 *   of the document, whole (the previous one, or nothing for a new document, while the new one misses a
 *   chunk), until the same message is applied again, which completes it exactly.
 *
 * The document's lease is held from reading its existing chunks to removing the superseded ones, so two
 * replacements of one document run one after the other. The bot's status is read again under the
 * lease, so a bot delete (which marks the bot `deleting`, then waits for every lease of the bot) either
 * refuses this write or removes its chunks after it.
 */
export async function upsertDocument(
  deps: UpsertDocumentDeps,
  message: UpsertDocumentMessage,
): Promise<UpsertDocumentResult> {
  // Checked before the lookup: DynamoDB rejects an empty or oversized key outright.
  checkBotId(message.bot_id);
  const bot = await deps.bots.get(message.bot_id);
  const document = validateDocument(message, {
    dimension: bot?.embedding_dimension ?? deps.defaultEmbeddingDimension,
    encoding: deps.embeddingEncoding,
    versionId: versionIdOf(message),
  });
  const owner = document.owner_user_id;
  if (owner !== undefined && bot?.user_id !== undefined && bot.user_id !== owner) {
    throw new ConflictError(`owner_user_id ${owner} does not own bot ${document.bot_id}`);
  }
  checkWritable(bot);
  if (bot === undefined) await refuseAliasName(deps.aliases, message.bot_id);

  return withDocumentLease(
    deps.leases,
    document,
    leaseHolder(message),
    deps.leasePolicy ?? DEFAULT_LEASE_POLICY,
    async () => {
      // Under the lease: a delete that began before this read waits for the lease, one after it is seen.
      const current =
        bot === undefined || (owner !== undefined && bot.user_id === undefined)
          ? await deps.bots.ensure(document.bot_id, owner === undefined ? {} : { user_id: owner })
          : await deps.bots.get(document.bot_id);
      checkWritable(current ?? { bot_id: document.bot_id, status: 'deleted' });
      try {
        return await replaceDocument(deps, document, bot);
      } catch (error) {
        if (!(error instanceof WriteIncompleteError)) throw error;
        throw new WriteIncompleteError(
          `document ${JSON.stringify(document.filename)} of bot ${document.bot_id} is only partly written (search shows one version of it, whole, or nothing of a new document) until the same request is sent again, which completes it exactly: ${error.message}`,
          error.unwritten,
          { cause: error },
        );
      }
    },
  );
}

/**
 * Refuses to create a bot whose id is an alias's name: reads would resolve the name to the alias's bot, and
 * the new bot's chunks would never be found.
 * @throws ValidationError (field `bot_id`)
 */
async function refuseAliasName(aliases: Pick<BotAliases, 'get'>, botId: string): Promise<void> {
  const alias = await aliases.get(botId);
  if (alias === undefined) return;
  throw new ValidationError(
    `bot_id: ${botId} is an alias of bot ${alias.bot_id}; writes take the bot's own id`,
    'bot_id',
  );
}

/**
 * Refuses a write to a bot being deleted (409: the delete is running) or deleted (404).
 * @throws ConflictError, NotFoundError
 */
function checkWritable(bot: Pick<BotCollection, 'bot_id' | 'status'> | undefined): void {
  if (bot?.status === 'deleting') {
    throw new ConflictError(`bot ${bot.bot_id} is being deleted; nothing was written`);
  }
  if (bot?.status === 'deleted') {
    throw new NotFoundError(
      `bot ${bot.bot_id} was deleted; nothing was written (its owner can start it over with PUT /bots/${bot.bot_id})`,
    );
  }
}

/** The writes of an upsert, under the document's lease. */
async function replaceDocument(
  deps: UpsertDocumentDeps,
  document: ValidDocument,
  bot: BotCollection | undefined,
): Promise<UpsertDocumentResult> {
  const existing = await deps.chunks.documentChunkKeys(document.bot_id, document.filename);
  // Keep the document's first created_at across re-ingests and redeliveries unless the message gives one.
  const createdAt =
    document.created_at ??
    earliest(existing.map((key) => key.created_at)) ??
    (deps.now?.() ?? new Date()).toISOString();

  const version: ChunkVersion = {
    id: document.version_id as string,
    chunks: document.total_chunks,
    at: versionTime(deps.now?.() ?? new Date(), existing),
  };
  const stored: StoredChunk[] = document.chunks.map((chunk) => ({
    bot_id: document.bot_id,
    chunk_id: chunk.chunk_id,
    embedding: chunk.embedding,
    text: chunk.text,
    filename: document.filename,
    file_size: document.file_size,
    chunk_index: chunk.chunk_index,
    created_at: createdAt,
    metadata: chunk.metadata,
    version,
    ...(document.expires_at === undefined ? {} : { expires_at: document.expires_at }),
  }));
  const replaced = await chunksReplaced(deps, document.bot_id, existing, stored);
  try {
    await deps.chunks.put(stored);
  } catch (error) {
    if (!(error instanceof ItemRefusedError)) throw error;
    await undoWrite(deps, document.bot_id, stored, existing, replaced);
    throw refusedChunk(document, error);
  }

  // Written first, removed second: once this version is the one shown, the others are dead weight.
  const written = new Set(stored.map((chunk) => chunk.chunk_id));
  const known = [...existing.filter((key) => !written.has(key.chunk_id)), ...stored].map((key) => ({
    chunk_id: key.chunk_id,
    chunk_index: key.chunk_index,
    filename: document.filename,
    version: key.version,
  }));
  const stale = supersededChunks(known, version.id);
  if (stale.length > 0) {
    await deps.chunks.delete(
      document.bot_id,
      stale.map((key) => key.chunk_id),
    );
  }
  return {
    bot_id: document.bot_id,
    filename: document.filename,
    total_chunks: document.total_chunks,
    written: stored.length,
    deleted: stale.length,
    created_bot: bot === undefined,
  };
}

/**
 * When this write happens, for ordering versions: now, but always after every version the document holds
 * (a clock behind another writer's, or two writes in one millisecond), so that under the lease the write
 * applied last is the latest.
 */
function versionTime(now: Date, existing: readonly DocumentChunkKey[]): string {
  let latest = now.getTime();
  for (const key of existing) {
    const at = key.version === undefined ? Number.NaN : Date.parse(key.version.at);
    if (at >= latest) latest = at + 1;
  }
  return new Date(latest).toISOString();
}

/**
 * The stored chunks this write overwrites (same chunk ids), read in full before it does: what undoing it
 * puts back. None for a new document.
 */
async function chunksReplaced(
  deps: UpsertDocumentDeps,
  botId: string,
  existing: DocumentChunkKey[],
  stored: StoredChunk[],
): Promise<StoredChunk[]> {
  const existingIds = new Set(existing.map((key) => key.chunk_id));
  const overwritten = stored.filter((chunk) => existingIds.has(chunk.chunk_id)).map((c) => c.chunk_id);
  return overwritten.length === 0 ? [] : deps.chunks.get(botId, overwritten, { consistent: true });
}

/**
 * Undoes a write DynamoDB refused part of, once every batch of it has ended: the overwritten chunks are
 * put back as they were read, and the chunks that did not exist before are removed, so the document is
 * again exactly its previous version (or absent).
 */
async function undoWrite(
  deps: UpsertDocumentDeps,
  botId: string,
  stored: StoredChunk[],
  existing: DocumentChunkKey[],
  replaced: StoredChunk[],
): Promise<void> {
  const existingIds = new Set(existing.map((key) => key.chunk_id));
  if (replaced.length > 0) await deps.chunks.put(replaced);
  const added = stored.filter((chunk) => !existingIds.has(chunk.chunk_id)).map((chunk) => chunk.chunk_id);
  if (added.length > 0) await deps.chunks.delete(botId, added);
}

/** The 400 for a chunk DynamoDB refused: its position in the request, its id, and DynamoDB's reason. */
function refusedChunk(document: ValidDocument, error: ItemRefusedError): ValidationError {
  const first = error.refused[0];
  const position = document.chunks.findIndex((chunk) => chunk.chunk_id === first?.chunkId);
  const field = position < 0 ? 'chunks' : `chunks[${position}]`;
  return new ValidationError(
    `${field} (chunk_id ${JSON.stringify(first?.chunkId)}) was refused by DynamoDB: ${first?.reason}; nothing of this request was kept`,
    field,
    { cause: error },
  );
}

function earliest(timestamps: Array<string | undefined>): string | undefined {
  let first: string | undefined;
  for (const t of timestamps)
    if (t !== undefined && t !== '' && (first === undefined || t < first)) first = t;
  return first;
}
