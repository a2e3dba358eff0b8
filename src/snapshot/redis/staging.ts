/**
 * The staging writer of a rebuild (docs/snapshot.md, "Large snapshots"): writes a compact snapshot of the
 * chunks a rebuild read under the staging keys, in pieces, so that no single command carries the whole
 * bot.
 */
import type { Cluster, Redis } from 'ioredis';
import { MAX_CODE, quantiseRowsInto } from '../../domain/ranking/int8-codes';
import type { StoredChunk } from '../../domain/types';
import { ValidationError } from '../../errors';
import { chooseDimension, encodeRow, encodeRowValue, writeUnitVector } from './encoding';
import {
  bucketKey,
  bucketOf,
  codeSegmentKey,
  rowSegmentKey,
  type SnapshotDataKeys,
  segmentKey,
} from './keys';
import { storedText } from './text-codec';

/** Vector bytes per SETRANGE while staging a rebuild, and hash fields per HSET. */
const STAGING_PIECE_BYTES = 4 * 1024 * 1024;
const STAGING_FIELDS_PER_HSET = 1000;
/** Staging commands sent per round trip (bounds client memory for huge snapshots). */
const STAGING_COMMANDS_PER_ROUND_TRIP = 96;

/**
 * How staging keys are written: their TTL, the most bytes one vector segment holds, and the buckets of
 * the index and the texts.
 */
export type StagingOptions = { ttlMs: number; segmentBytes: number; idBuckets: number };

/**
 * Writes a compact snapshot of `chunks` (slot i = i-th distinct chunk of the chosen dimension) to the
 * staging keys: each segment is allocated once at its final length, then filled piece by piece from one
 * reused buffer, so a 150 MB snapshot needs neither one 150 MB argument nor 150 MB of fresh client memory.
 * The meta hash goes last: until it exists the staged snapshot does not pass the scripts' checks.
 * @throws ValidationError when a chunk belongs to another bot (nothing is published then).
 */
export async function writeStaging(
  client: Redis | Cluster,
  botId: string,
  staging: SnapshotDataKeys,
  chunks: StoredChunk[],
  options: StagingOptions,
): Promise<void> {
  const ttl = String(options.ttlMs);
  const dim = chooseDimension(chunks);
  const latest = new Map<string, StoredChunk>();
  for (const [i, chunk] of chunks.entries()) {
    if (chunk.bot_id !== botId) {
      // Another tenant's chunk in this bot's snapshot would be searchable by this bot's owner.
      throw new ValidationError(
        `chunk ${chunk.chunk_id} belongs to bot ${chunk.bot_id}, not ${botId}`,
        `chunks[${i}].bot_id`,
      );
    }
    if (chunk.embedding.length !== dim || !isFinite32(chunk.embedding)) {
      latest.delete(chunk.chunk_id);
      continue;
    }
    latest.set(chunk.chunk_id, chunk);
  }
  const kept = [...latest.values()];
  const vectorBytes = dim * 4;

  // Rows per segment, fixed for this snapshot (the scripts read it from the meta hash).
  const seg = dim === 0 ? 0 : Math.max(1, Math.floor(options.segmentBytes / vectorBytes));
  const scale = codeScale(kept, dim);
  const bound = { maxCodeNorm: 0, maxResidualNorm: 0 };
  if (kept.length > 0) {
    const perPiece = Math.max(1, Math.min(seg, Math.floor(STAGING_PIECE_BYTES / vectorBytes)));
    const scratch = new Float32Array(Math.min(perPiece, kept.length) * dim);
    const codes = new Int8Array(scratch.length);
    for (let first = 0; first < kept.length; first += seg) {
      const key = segmentKey(staging.vectors, first / seg);
      const codeKey = codeSegmentKey(staging.vectors, first / seg);
      const rows = Math.min(seg, kept.length - first);
      await client.setrange(key, rows * vectorBytes - 1, '\0');
      await client.pexpire(key, ttl);
      await client.setrange(codeKey, rows * dim - 1, '\0');
      await client.pexpire(codeKey, ttl);
      for (let start = first; start < first + rows; start += perPiece) {
        const end = Math.min(first + rows, start + perPiece);
        for (let i = start; i < end; i++)
          writeUnitVector((kept[i] as StoredChunk).embedding, scratch, (i - start) * dim);
        const norms = quantiseRowsInto(scratch, dim, end - start, scale, codes, 0);
        bound.maxCodeNorm = Math.max(bound.maxCodeNorm, norms.maxCodeNorm);
        bound.maxResidualNorm = Math.max(bound.maxResidualNorm, norms.maxResidualNorm);
        const piece = Buffer.from(scratch.buffer, 0, (end - start) * vectorBytes);
        // The scratch buffers are refilled only after Redis has answered (the bytes are on the wire by then).
        await client.setrange(key, (start - first) * vectorBytes, piece);
        await client.setrange(
          codeKey,
          (start - first) * dim,
          Buffer.from(codes.buffer, 0, (end - start) * dim),
        );
      }
    }
  }

  let pipeline = client.pipeline();
  const expiring = new Set<string>();
  for (let start = 0; start < kept.length; start += STAGING_FIELDS_PER_HSET) {
    const end = Math.min(kept.length, start + STAGING_FIELDS_PER_HSET);
    const fields = new HashFields();
    for (let i = start; i < end; i++) {
      const chunk = kept[i] as StoredChunk;
      const b = bucketOf(chunk.chunk_id, options.idBuckets);
      fields.add(
        rowSegmentKey(staging.rows, Math.floor(i / seg)),
        String(i),
        encodeRowValue(i, encodeRow(chunk)),
      );
      fields.add(bucketKey(staging.index, b), chunk.chunk_id, String(i));
      fields.add(bucketKey(staging.texts, b), chunk.chunk_id, storedText(chunk.text));
    }
    for (const [key, values] of fields.byKey) {
      pipeline.hset(key, ...values);
      // Every key gets its TTL with its first write, so a crashed rebuild leaves nothing for long.
      if (!expiring.has(key)) pipeline.pexpire(key, ttl);
      expiring.add(key);
    }
    if (pipeline.length >= STAGING_COMMANDS_PER_ROUND_TRIP) {
      throwPipelineError(await pipeline.exec());
      pipeline = client.pipeline();
    }
  }
  pipeline
    .hset(staging.meta, 'dim', dim, 'slots', kept.length, 'live', kept.length, 'seq', 0, 'seg', seg)
    .hset(staging.meta, 'bkz', options.idBuckets)
    .hset(staging.meta, 'qs', scale, 'qc', bound.maxCodeNorm, 'qr', bound.maxResidualNorm)
    .pexpire(staging.meta, ttl);
  throwPipelineError(await pipeline.exec());
}

/** Field-value pairs gathered per hash key, so that each key gets one HSET per block of chunks. */
export class HashFields {
  readonly byKey = new Map<string, (string | Buffer)[]>();

  add(key: string, field: string, value: string | Buffer): void {
    const values = this.byKey.get(key);
    if (values === undefined) this.byKey.set(key, [field, value]);
    else values.push(field, value);
  }
}

/** The codes' scale: the largest component of all unit vectors maps to ±127 (127 when all are zero). */
function codeScale(kept: StoredChunk[], dim: number): number {
  const one = new Float32Array(dim);
  let largest = 0;
  for (const chunk of kept) {
    writeUnitVector(chunk.embedding, one, 0);
    for (let i = 0; i < dim; i++) largest = Math.max(largest, Math.abs(one[i] as number));
  }
  return largest > 0 ? MAX_CODE / largest : MAX_CODE;
}

function isFinite32(vector: Float32Array): boolean {
  for (let i = 0; i < vector.length; i++) if (!Number.isFinite(vector[i])) return false;
  return true;
}

/** Throws the first error of a pipeline's replies (or when Redis discarded it). */
export function throwPipelineError(results: [Error | null, unknown][] | null): void {
  if (results === null) throw new Error('Redis discarded a pipeline');
  for (const [error] of results) if (error) throw error;
}
