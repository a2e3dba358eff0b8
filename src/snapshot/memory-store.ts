import { writeUnitVector } from '../domain/ranking/scoring';
import { snapshotRowOf } from '../domain/snapshot';
import type { BotCollection, StoredChunk } from '../domain/types';
import type { BotRegistry, ChangeLog, ChunkIdRange, ChunkStore, Log } from '../ports';
import type { RebuildStaging, RebuildTicket, Snapshot, SnapshotRow, SnapshotStore } from './port';

/** What the memory snapshot mode reads: the bot's item, its chunks and the stream's change log. */
export type MemorySnapshotDeps = {
  bots: Pick<BotRegistry, 'get'>;
  chunks: Pick<ChunkStore, 'readBot' | 'get'>;
  changes: ChangeLog;
  logger: Pick<Log, 'warn'>;
  /** Most versions a held copy catches up by from the change log; further behind, the bot is read whole. */
  maxCatchUpVersions?: number;
  /**
   * Largest bot whose texts are held with its vectors (default: every bot). The whole read brings the
   * texts anyway, and a copy without them reads its hits' texts from DynamoDB on every search; the
   * snapshot cache's byte budget counts them.
   */
  textsHeldMaxRows?: number;
};

/** Default most versions caught up from the change log (one BatchGetItem key each, 100 a call). */
export const DEFAULT_MAX_CATCH_UP_VERSIONS = 200;

/**
 * Where a whole read of a bot splits its chunk ids into ranges read at once. Deterministic chunk ids start
 * with hex digits of a hash (domain/chunk-id.ts), so these spread them evenly; any other id falls in one
 * of the ranges all the same.
 */
export const LOAD_RANGE_BOUNDS = ['2', '4', '6', '8', 'a', 'c', 'e'] as const;

/**
 * The snapshot store of the memory mode: no Redis; a bot's snapshot is read from DynamoDB by the search
 * container that holds it (SnapshotCache), and its version is the bot's `data_version`, which the stream
 * handler moves in the same transaction as the counts and the record of the chunks each version changed
 * (bot-stats.ts). A read is strongly consistent and starts from the bot's item, so a snapshot labelled
 * with a version holds every change up to it (and possibly later ones, which their own version re-reads).
 * A held copy a few versions behind re-reads only the chunks those versions changed.
 */
export class MemorySnapshotStore implements SnapshotStore {
  private readonly maxCatchUp: number;
  private readonly textsHeldMaxRows: number;

  constructor(private readonly deps: MemorySnapshotDeps) {
    this.maxCatchUp = deps.maxCatchUpVersions ?? DEFAULT_MAX_CATCH_UP_VERSIONS;
    this.textsHeldMaxRows = deps.textsHeldMaxRows ?? Number.POSITIVE_INFINITY;
  }

  versionOf(bot: BotCollection): { version: string; epoch: number } {
    return { version: String(bot.data_version ?? 0), epoch: bot.snapshot_epoch ?? 0 };
  }

  async currentVersion(botId: string): Promise<{ version: string; epoch: number } | null> {
    const bot = await this.deps.bots.get(botId);
    return bot === undefined ? null : this.versionOf(bot);
  }

  /**
   * The bot at its current data_version: `previous` brought up to date from the change log when it is of
   * the same epoch and dimension and at most `maxCatchUpVersions` behind, else every chunk read in
   * parallel ranges. Null for a bot without an item.
   */
  async read(botId: string, previous?: Snapshot): Promise<Snapshot | null> {
    const bot = await this.deps.bots.get(botId);
    if (bot === undefined) return null;
    const { version, epoch } = this.versionOf(bot);
    const dimension = bot.embedding_dimension;
    if (previous !== undefined && previous.epoch === epoch && previous.dimension === dimension) {
      const from = Number(previous.version);
      const to = Number(version);
      if (from === to) return previous;
      if (from < to && to - from <= this.maxCatchUp) {
        const changed = await this.deps.changes.changedSince(botId, from, to);
        if (changed !== null) {
          const current = await this.deps.chunks.get(botId, changed, { consistent: true });
          return this.withChanges(previous, version, changed, current);
        }
      }
    }
    return this.readWhole(botId, version, epoch, dimension);
  }

  async texts(botId: string, chunkIds: string[]): Promise<string[] | null> {
    const found = await this.deps.chunks.get(botId, chunkIds, { consistent: true });
    const byId = new Map(found.map((chunk) => [chunk.chunk_id, chunk.text]));
    const texts: string[] = [];
    for (const id of chunkIds) {
      const text = byId.get(id);
      if (text === undefined) return null;
      texts.push(text);
    }
    return texts;
  }

  /** No scan representation: a search reads (or holds) the whole bot. */
  readonly scans = false;

  async readScan(): Promise<null> {
    return null;
  }

  async candidates(): Promise<null> {
    return null;
  }

  /**
   * 'moved': versions are confirmed from the bot's item (`versionOf`), so a held copy's texts are never
   * read by version here; callers take the checked path, which reads the texts they need.
   */
  async textsAt(): Promise<'moved'> {
    return 'moved';
  }

  /** The stream keeps nothing here: the version and the change log are written with the counts. */
  async applyChanges(): Promise<void> {}

  /** A search answering from DynamoDB rebuilds nothing: the next search loads the bot itself. */
  async beginRebuild(): Promise<RebuildTicket | null> {
    return null;
  }

  async commitRebuild(): Promise<boolean> {
    return false;
  }

  /** @throws Error always: `beginRebuild` hands out no ticket to stage under. */
  stageRebuild(): RebuildStaging {
    throw new Error('the memory-mode snapshot store rebuilds nothing');
  }

  /** Nothing is shared to drop: each container's copy is checked against the bot's item. */
  async drop(): Promise<void> {}

  /** Every chunk of the bot, its ranges read at once, rows in chunk id order. */
  private async readWhole(
    botId: string,
    version: string,
    epoch: number,
    dimension: number,
  ): Promise<Snapshot> {
    const ranges: ChunkIdRange[] = [];
    let from: string | undefined;
    for (const below of LOAD_RANGE_BOUNDS) {
      ranges.push(from === undefined ? { below } : { from, below });
      from = below;
    }
    ranges.push({ from });
    const parts = await Promise.all(
      ranges.map(async (range) => {
        const chunks: StoredChunk[] = [];
        for await (const page of this.deps.chunks.readBot(botId, {
          consistent: true,
          withText: true,
          range,
          onInvalid: (chunkId, error) =>
            this.deps.logger.warn('Skipping a chunk with an invalid embedding', { botId, chunkId, error }),
        })) {
          for (const chunk of page) if (chunk.embedding.length === dimension) chunks.push(chunk);
        }
        return chunks;
      }),
    );
    return this.build(botId, version, epoch, dimension, parts.flat());
  }

  /** `previous` with the rows of `changed` replaced by their current chunks (`current`; absent: gone). */
  private withChanges(
    previous: Snapshot,
    version: string,
    changed: readonly string[],
    current: readonly StoredChunk[],
  ): Snapshot {
    const { dimension } = previous;
    const gone = new Set(changed);
    const kept: number[] = [];
    for (const [index, row] of previous.rows.entries()) if (!gone.has(row.chunk_id)) kept.push(index);
    const added = current
      .filter((chunk) => chunk.embedding.length === dimension)
      .sort((a, b) => (a.chunk_id < b.chunk_id ? -1 : a.chunk_id > b.chunk_id ? 1 : 0));
    const count = kept.length + added.length;
    const rows: SnapshotRow[] = new Array(count);
    const vectors = new Float32Array(count * dimension);
    const holdTexts = previous.texts !== undefined && count <= this.textsHeldMaxRows;
    const texts: string[] | undefined = holdTexts ? new Array(count) : undefined;
    for (const [slot, index] of kept.entries()) {
      rows[slot] = previous.rows[index] as SnapshotRow;
      vectors.set(previous.vectors.subarray(index * dimension, (index + 1) * dimension), slot * dimension);
      if (texts !== undefined) texts[slot] = previous.texts?.[index] as string;
    }
    for (const [offset, chunk] of added.entries()) {
      const slot = kept.length + offset;
      rows[slot] = snapshotRowOf(chunk);
      writeUnitVector(chunk.embedding, vectors, slot * dimension);
      if (texts !== undefined) texts[slot] = chunk.text;
    }
    return {
      botId: previous.botId,
      version,
      epoch: previous.epoch,
      dimension,
      rows,
      vectors,
      ...(texts === undefined ? {} : { texts }),
    };
  }

  private build(
    botId: string,
    version: string,
    epoch: number,
    dimension: number,
    chunks: readonly StoredChunk[],
  ): Snapshot {
    const vectors = new Float32Array(chunks.length * dimension);
    const rows = chunks.map((chunk, slot) => {
      writeUnitVector(chunk.embedding, vectors, slot * dimension);
      return snapshotRowOf(chunk);
    });
    const texts = chunks.length <= this.textsHeldMaxRows ? chunks.map((chunk) => chunk.text) : undefined;
    return { botId, version, epoch, dimension, rows, vectors, ...(texts === undefined ? {} : { texts }) };
  }
}
