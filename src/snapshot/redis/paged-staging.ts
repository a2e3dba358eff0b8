/**
 * A rebuild staged page by page (docs/snapshot.md, "Streaming rebuilds"): each page of chunks read from
 * DynamoDB goes to the staging keys as it arrives, so rebuild memory is one page plus the ids seen (for
 * their slots), not the whole bot. The commit is the one of rebuild.ts.
 */

import { MAX_CODE, quantiseRowsInto } from '../../domain/ranking/int8-codes';
import type { StoredChunk } from '../../domain/types';
import { ValidationError } from '../../errors';
import type { RebuildStaging, RebuildTicket } from '../port';
import { encodeRow, encodeRowValue, writeUnitVector } from './encoding';
import { bucketKey, bucketOf, codeSegmentKey, rowSegmentKey, segmentKey } from './keys';
import {
  publishStaged,
  type RebuildContext,
  RebuildLease,
  type RebuildOutcome,
  releaseRebuild,
} from './rebuild';
import { throwPipelineError } from './staging';
import { storedText } from './text-codec';

/**
 * Stages pages into `ctx.staging` for a snapshot of `dimension` (chunks of other dimensions and
 * non-finite vectors are left out, as a rebuild leaves them out). The codes' scale comes from the first
 * page, with room for components 1.5 times as large (later vectors beyond it are clamped, and the bound
 * covers them), since a page at a time cannot know the largest component of all. A rebuild that makes
 * progress keeps its slot and staging keys (`RebuildLease`); one that lost its slot stops staging, deletes
 * what it staged and commits nothing ('lost'), like a commit that finds the slot gone.
 */
export class PagedStaging implements RebuildStaging {
  private readonly slotOf = new Map<string, number>();
  private readonly ttl: string;
  private readonly rowsPerSegment: number;
  private readonly unitRow: Float32Array;
  private readonly codes: Int8Array;
  private scale = 0;
  private maxCodeNorm = 0;
  private maxResidualNorm = 0;
  private keysTouched = new Set<string>();
  private done = false;
  private lost = false;
  private readonly lease: RebuildLease;

  constructor(
    private readonly ctx: RebuildContext,
    private readonly ticket: RebuildTicket,
    private readonly dimension: number,
    private readonly onOutcome: (outcome: RebuildOutcome, rounds: number, chunks: number) => void,
  ) {
    this.ttl = String(ctx.rebuildTtlMs);
    this.rowsPerSegment = dimension > 0 ? Math.max(1, Math.floor(ctx.segmentBytes / (4 * dimension))) : 0;
    this.unitRow = new Float32Array(Math.max(1, dimension));
    this.codes = new Int8Array(Math.max(1, dimension));
    this.lease = new RebuildLease(ctx, ticket);
  }

  async add(chunks: StoredChunk[]): Promise<void> {
    const { client, staging } = this.ctx;
    const dim = this.dimension;
    for (const [i, chunk] of chunks.entries()) {
      if (chunk.bot_id !== this.ticket.botId) {
        throw new ValidationError(
          `chunk ${chunk.chunk_id} belongs to bot ${chunk.bot_id}, not ${this.ticket.botId}`,
          `chunks[${i}].bot_id`,
        );
      }
    }
    if (this.lost) return;
    if (!(await this.lease.keep(this.segments()))) {
      // Another rebuild may hold the slot now, and changes made while none held it went unrecorded:
      // this one can never publish, so its staging goes now rather than after the remaining pages.
      this.lost = true;
      await releaseRebuild(this.ctx, this.ticket);
      return;
    }
    const pipeline = client.pipeline();
    for (const chunk of chunks) {
      if (dim === 0 || chunk.embedding.length !== dim || !writeUnitVector(chunk.embedding, this.unitRow, 0))
        continue;
      if (this.scale === 0) this.scale = firstScale(this.unitRow);
      const norms = quantiseRowsInto(this.unitRow, dim, 1, this.scale, this.codes, 0);
      this.maxCodeNorm = Math.max(this.maxCodeNorm, norms.maxCodeNorm);
      this.maxResidualNorm = Math.max(this.maxResidualNorm, norms.maxResidualNorm);
      let slot = this.slotOf.get(chunk.chunk_id);
      if (slot === undefined) {
        slot = this.slotOf.size;
        this.slotOf.set(chunk.chunk_id, slot);
      }
      const n = Math.floor(slot / this.rowsPerSegment);
      const row = slot - n * this.rowsPerSegment;
      const b = bucketOf(chunk.chunk_id, this.ctx.idBuckets);
      const written = [
        segmentKey(staging.vectors, n),
        codeSegmentKey(staging.vectors, n),
        rowSegmentKey(staging.rows, n),
        bucketKey(staging.index, b),
        bucketKey(staging.texts, b),
      ] as const;
      for (const key of written) this.keysTouched.add(key);
      // Copies of the reused buffers: a pipeline holds its arguments until it is sent.
      pipeline
        .setrange(written[0], row * dim * 4, Buffer.from(this.unitRow.buffer.slice(0)))
        .setrange(written[1], row * dim, Buffer.from(this.codes.buffer.slice(0)))
        .hset(written[2], slot, encodeRowValue(slot, encodeRow(chunk)))
        .hset(written[3], chunk.chunk_id, slot)
        .hset(written[4], chunk.chunk_id, storedText(chunk.text));
    }
    for (const key of this.keysTouched) pipeline.pexpire(key, this.ttl);
    this.keysTouched = new Set();
    throwPipelineError(await pipeline.exec());
  }

  async commit(reread: (chunkIds: string[]) => Promise<StoredChunk[]>): Promise<boolean> {
    this.done = true;
    const slots = this.slotOf.size;
    if (this.lost) {
      this.onOutcome('lost', 0, slots);
      return false;
    }
    const { outcome, rounds } = await publishStaged(
      this.ctx,
      this.ticket,
      async () => {
        // The meta hash goes last: until it exists the staged snapshot does not pass the scripts' checks.
        throwPipelineError(
          await this.ctx.client
            .pipeline()
            .hset(
              this.ctx.staging.meta,
              'dim',
              slots === 0 ? 0 : this.dimension,
              'slots',
              slots,
              'live',
              slots,
            )
            .hset(this.ctx.staging.meta, 'seq', 0, 'seg', slots === 0 ? 0 : this.rowsPerSegment)
            .hset(this.ctx.staging.meta, 'bkz', this.ctx.idBuckets)
            .hset(
              this.ctx.staging.meta,
              'qs',
              this.scale || MAX_CODE,
              'qc',
              this.maxCodeNorm,
              'qr',
              this.maxResidualNorm,
            )
            .pexpire(this.ctx.staging.meta, this.ttl)
            .exec(),
        );
      },
      reread,
      () => this.lease.keep(this.segments()),
    );
    this.onOutcome(outcome, rounds, slots);
    return outcome === 'published';
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (!this.lost) await releaseRebuild(this.ctx, this.ticket);
  }

  /** Vector segments staged so far. */
  private segments(): number {
    return this.rowsPerSegment === 0 ? 0 : Math.ceil(this.slotOf.size / this.rowsPerSegment);
  }
}

/** 127 / (1.5 · the largest component of the first vector), at least 127 (unit components are ≤ 1). */
function firstScale(unitRow: Float32Array): number {
  let largest = 0;
  for (let i = 0; i < unitRow.length; i++) largest = Math.max(largest, Math.abs(unitRow[i] as number));
  return largest > 0 ? MAX_CODE / Math.min(1, 1.5 * largest) : MAX_CODE;
}
