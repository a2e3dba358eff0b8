/**
 * The doctor's view of document versions (docs/ingestion.md, "Versions"; docs/doctor.md): chunks of a
 * version their document does not show, left behind by a write that failed or crashed before removing
 * them (a replacement that never completed, a first upload cut short, a superseded version whose writer
 * died). Search never returns them; they only cost storage and counts until removed.
 */
import { isShown, type VersionedChunk, visibleVersions } from '../domain/document-version';
import type { ChunkStore, DocumentLeases } from '../ports';
import { DEFAULT_LEASE_POLICY, type LeasePolicy, leaseHolder, withDocumentLease } from './document-lease';

/** A document's chunks of versions it does not show, older than the grace period. */
export type Leftovers = { filename: string; chunks: number };

/**
 * How long a version not shown is left alone after its last write: the parts of a split document may
 * arrive minutes apart (SQS redelivery), and an unfinished version may still be completed by a resend.
 */
export const DEFAULT_LEFTOVER_GRACE_MS = 60 * 60 * 1000;

export type LeftoverDeps = {
  chunks: Pick<ChunkStore, 'readBot' | 'documentChunkKeys' | 'delete'>;
  /** The document's lease is taken to remove its leftovers, so no writer of it runs meanwhile. */
  leases: DocumentLeases;
  leasePolicy?: LeasePolicy;
  leftoverGraceMs?: number;
  now?: () => Date;
};

/** Which of one document's chunks are leftovers: not of the version shown, last written before `before`. */
export function leftoverChunks<T extends VersionedChunk>(chunks: readonly T[], before: string): T[] {
  const shown = visibleVersions(chunks);
  const latest = new Map<string, string>();
  for (const chunk of chunks) {
    const id = chunk.version?.id ?? '';
    const at = chunk.version?.at ?? '';
    if ((latest.get(id) ?? '') <= at) latest.set(id, at);
  }
  return chunks.filter(
    (chunk) => !isShown(chunk, shown) && (latest.get(chunk.version?.id ?? '') ?? '') < before,
  );
}

function cutoff(deps: LeftoverDeps): string {
  const now = (deps.now?.() ?? new Date()).getTime();
  return new Date(now - (deps.leftoverGraceMs ?? DEFAULT_LEFTOVER_GRACE_MS)).toISOString();
}

/** Every document of the bot with leftovers, and how many (a consistent read of the bot, without texts). */
export async function findLeftovers(deps: LeftoverDeps, botId: string): Promise<Leftovers[]> {
  const byFile = new Map<string, VersionedChunk[]>();
  for await (const page of deps.chunks.readBot(botId, { consistent: true, withText: false })) {
    for (const { filename, chunk_index, version } of page) {
      const list = byFile.get(filename);
      const chunk = { filename, chunk_index, version };
      if (list === undefined) byFile.set(filename, [chunk]);
      else list.push(chunk);
    }
  }
  const before = cutoff(deps);
  const found: Leftovers[] = [];
  for (const [filename, chunks] of byFile) {
    const left = leftoverChunks(chunks, before).length;
    if (left > 0) found.push({ filename, chunks: left });
  }
  return found.sort((a, b) => (a.filename < b.filename ? -1 : 1));
}

/**
 * Removes one document's leftovers under its lease, from a fresh read of its chunks (a write that ran
 * since the diagnosis is taken into account). Returns how many chunks it removed.
 * @throws DocumentBusyError when a writer keeps the lease (the next run removes them).
 */
export async function removeLeftovers(deps: LeftoverDeps, botId: string, filename: string): Promise<number> {
  return withDocumentLease(
    deps.leases,
    { bot_id: botId, filename },
    leaseHolder({ doctor: 'leftovers', botId, filename }),
    deps.leasePolicy ?? DEFAULT_LEASE_POLICY,
    async () => {
      const keys = await deps.chunks.documentChunkKeys(botId, filename);
      const left = leftoverChunks(
        keys.map((key) => ({ ...key, filename })),
        cutoff(deps),
      );
      if (left.length > 0) {
        await deps.chunks.delete(
          botId,
          left.map((key) => key.chunk_id),
        );
      }
      return left.length;
    },
  );
}
