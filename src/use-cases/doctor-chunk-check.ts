import type { StoredChunk } from '../domain/types';
import type { ChunkStore, RecordedCounts } from '../ports';
import type { Snapshot, SnapshotStore } from '../snapshot';

/** What the doctor's read of a bot's chunks needs: the chunks, and the snapshots when Redis is there. */
export type ChunkCheckDeps = { chunks: Pick<ChunkStore, 'readBot'>; snapshots: SnapshotStore | null };

export type SnapshotCheck = {
  /** current: built under the bot's epoch and compared row by row; stale: readers will rebuild it. */
  state: 'absent' | 'stale' | 'current' | 'unavailable';
  /** Chunks VectorEmbeddings holds (with a valid embedding) that the snapshot lacks. */
  missing: string[];
  /** Chunks the snapshot serves that VectorEmbeddings no longer holds. */
  extra: string[];
  /** Chunks whose row (filename, chunk_index, metadata) or vector differs. */
  different: string[];
};

/** A chunk VectorEmbeddings holds that no snapshot or search can serve, and why. */
export type UnusableChunk = { chunkId: string; reason: string };

/**
 * Reads every chunk of the bot (no texts) once: names those no snapshot can serve, and compares the rest
 * with the snapshot when it is current. An odd value never stops the check: it is named.
 */
export async function checkChunks(
  deps: ChunkCheckDeps,
  botId: string,
  { snapshotEpoch: epoch, embeddingDimension: dimension }: RecordedCounts,
): Promise<{ snapshot: SnapshotCheck; unusable: UnusableChunk[] }> {
  const unusable: UnusableChunk[] = [];
  const onInvalid = (chunkId: string, error: Error) => unusable.push({ chunkId, reason: error.message });
  const empty = { missing: [], extra: [], different: [] };
  let snapshot: Snapshot | null = null;
  let state: SnapshotCheck['state'] = 'unavailable';
  if (deps.snapshots !== null) {
    snapshot = await deps.snapshots.read(botId);
    state = snapshot === null ? 'absent' : snapshot.epoch !== epoch ? 'stale' : 'current';
  }
  const served = new Map<string, { row: string; vector: Float32Array }>();
  if (snapshot !== null && state === 'current') {
    const { dimension } = snapshot;
    snapshot.rows.forEach((row, i) => {
      served.set(row.chunk_id, {
        row: rowText(row),
        vector: (snapshot as Snapshot).vectors.subarray(i * dimension, (i + 1) * dimension),
      });
    });
  }
  const missing: string[] = [];
  const different: string[] = [];
  const seen = new Set<string>();
  for await (const page of deps.chunks.readBot(botId, { consistent: true, withText: false, onInvalid })) {
    for (const chunk of page) {
      if (chunk.embedding.length !== dimension) {
        unusable.push({
          chunkId: chunk.chunk_id,
          reason: `embedding has ${chunk.embedding.length} dimensions, the bot's is ${dimension}`,
        });
        continue;
      }
      if (state !== 'current') continue;
      seen.add(chunk.chunk_id);
      const row = served.get(chunk.chunk_id);
      if (row === undefined) missing.push(chunk.chunk_id);
      else if (row.row !== rowText(chunk) || !sameDirection(row.vector, chunk.embedding)) {
        different.push(chunk.chunk_id);
      }
    }
  }
  unusable.sort((a, b) => (a.chunkId < b.chunkId ? -1 : 1));
  if (state !== 'current') return { snapshot: { state, ...empty }, unusable };
  const extra = [...served.keys()].filter((id) => !seen.has(id));
  return {
    snapshot: { state, missing: missing.sort(), extra: extra.sort(), different: different.sort() },
    unusable,
  };
}
function rowText(row: Pick<StoredChunk, 'filename' | 'chunk_index' | 'metadata' | 'version'>): string {
  return JSON.stringify([row.filename, row.chunk_index, row.metadata ?? {}, row.version ?? null]);
}

/** The snapshot keeps unit vectors: equal when the stored embedding points the same way. */
function sameDirection(unitVector: Float32Array, embedding: Float32Array): boolean {
  let norm = 0;
  for (const x of embedding) norm += x * x;
  norm = Math.sqrt(norm);
  if (unitVector.length !== embedding.length) return false;
  for (let d = 0; d < embedding.length; d++) {
    const expected = norm === 0 ? 0 : (embedding[d] as number) / norm;
    if (Math.abs((unitVector[d] as number) - expected) > 1e-5) return false;
  }
  return true;
}
