import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { StoredChunk } from '../../domain/types';
import { ValidationError } from '../../errors';
import type { RebuildTicket, Snapshot, SnapshotChange, SnapshotStore } from '../../ports';
import { HOST_IS_LITTLE_ENDIAN } from './float32-view';
import {
  chooseDimension,
  encodeRow,
  encodeRowValue,
  unitVectorBytes,
  writeUnitVector,
} from './snapshot-encoding';
import {
  type BotSnapshotKeys,
  dataKeyList,
  type SnapshotDataKeys,
  segmentKey,
  snapshotKeys,
  stagingKeys,
} from './snapshot-keys';
import { readSnapshotOnce } from './snapshot-read';
import {
  APPLY_CHANGES_LUA,
  BEGIN_REBUILD_LUA,
  COMMIT_REBUILD_LUA,
  DROP_ALL_LUA,
  DROP_IF_UNCHANGED_LUA,
  RELEASE_REBUILD_LUA,
  SNAPSHOT_VERSION_LUA,
  TAKE_DIRTY_LUA,
} from './snapshot-scripts';

/** Tuning of the store; the defaults suit Lambda talking to ElastiCache. */
export type RedisSnapshotStoreOptions = {
  /**
   * How long a rebuild may hold the bot's slot (ms). A rebuild slower than this gives up (its commit finds
   * the slot gone); a crashed one blocks other rebuilds of the bot for at most this long. Default 5 min.
   */
  rebuildTtlMs?: number;
  /** How many times a commit re-reads chunks that changed meanwhile before it gives up. Default 5. */
  maxCommitRounds?: number;
  /** Upper bound of ARGV bytes in one applyChanges script call; larger batches are split. Default 8 MiB. */
  maxCallBytes?: number;
  /**
   * How long applyChanges and beginRebuild wait for Redis (ms) before they throw. The deadline travels
   * with the script, which does nothing if it only reaches Redis later, so a change the caller reported
   * as failed never lands late, and a claim nobody waits for never blocks rebuilds. Keep it below the
   * caller's own timeout. Default 5 s.
   */
  applyTimeoutMs?: number;
  /**
   * Most bytes one vector segment holds (rows per segment = this / (4 * dim), at least 1). Default
   * 32 MiB: a 1M-chunk 384-d bot is 46 segments, each far below Redis's 512 MB string limit. Fixed per
   * snapshot when it takes its dimension; small values let tests cross segment boundaries with few rows.
   */
  segmentBytes?: number;
  /** Told about snapshots found broken and about every rebuild's outcome (for logs and metrics). */
  onEvent?: (event: SnapshotStoreEvent) => void;
};

/** What the store reports through `onEvent`. */
export type SnapshotStoreEvent =
  | { kind: 'dropped'; botId: string; foundBy: 'applyChanges' | 'currentVersion' | 'read' }
  | { kind: 'rebuild'; botId: string; outcome: RebuildOutcome; rounds: number; chunks: number };

/**
 * How a commit ended: published; or gave up because the ticket lost its slot, the dirty set was evicted,
 * changes kept arriving, or a staged key was evicted.
 */
export type RebuildOutcome = 'published' | 'lost' | 'evicted' | 'changing' | 'staging-broken';

type ScriptName = keyof typeof SCRIPTS;
type ScriptArg = string | Buffer | number;
type ScriptCall = (...args: ScriptArg[]) => Promise<unknown>;

const SCRIPTS = {
  vsSnapshotApply: { lua: APPLY_CHANGES_LUA, numberOfKeys: 8 },
  vsSnapshotVersion: { lua: SNAPSHOT_VERSION_LUA, numberOfKeys: 6 },
  vsSnapshotDropIfUnchanged: { lua: DROP_IF_UNCHANGED_LUA, numberOfKeys: 6 },
  vsSnapshotBeginRebuild: { lua: BEGIN_REBUILD_LUA, numberOfKeys: 2 },
  vsSnapshotTakeDirty: { lua: TAKE_DIRTY_LUA, numberOfKeys: 2 },
  vsSnapshotCommit: { lua: COMMIT_REBUILD_LUA, numberOfKeys: 14 },
  vsSnapshotRelease: { lua: RELEASE_REBUILD_LUA, numberOfKeys: 8 },
  vsSnapshotDropAll: { lua: DROP_ALL_LUA, numberOfKeys: 8 },
} as const;

/** How many times `read` retries when the snapshot changed between its meta read and its transaction. */
const READ_ATTEMPTS = 4;

/** Most changes sent in one script call (keeps one call's Redis time short: other clients wait on it). */
const MAX_CHANGES_PER_CALL = 1000;
/** Vector bytes per SETRANGE while staging a rebuild, and hash fields per HSET. */
const STAGING_PIECE_BYTES = 4 * 1024 * 1024;
const STAGING_FIELDS_PER_HSET = 1000;
/** Staging commands sent per round trip (bounds client memory for huge snapshots). */
const STAGING_COMMANDS_PER_ROUND_TRIP = 96;

/**
 * The per-bot vector snapshot in Redis (see docs/snapshot.md): a packed blob of unit vectors in fixed
 * slots plus rows, index, texts and meta hashes, all under the bot's hash tag. Incremental updates run as
 * one Lua script per batch and write only what the batch changes; reads are one MULTI and are validated;
 * anything inconsistent is deleted, so a snapshot is either whole or absent.
 *
 * Takes an ioredis `Redis` or `Cluster` client and a key prefix; never reads the environment.
 */
export class RedisSnapshotStore implements SnapshotStore {
  private readonly rebuildTtlMs: number;
  private readonly maxCommitRounds: number;
  private readonly maxCallBytes: number;
  private readonly applyTimeoutMs: number;
  private readonly segmentBytes: number;
  private readonly onEvent: (event: SnapshotStoreEvent) => void;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly prefix: string,
    options: RedisSnapshotStoreOptions = {},
  ) {
    if (!HOST_IS_LITTLE_ENDIAN) throw new Error('RedisSnapshotStore needs a little-endian host');
    this.rebuildTtlMs = options.rebuildTtlMs ?? 5 * 60_000;
    this.maxCommitRounds = options.maxCommitRounds ?? 5;
    this.maxCallBytes = options.maxCallBytes ?? 8 * 1024 * 1024;
    this.applyTimeoutMs = options.applyTimeoutMs ?? 5000;
    this.segmentBytes = options.segmentBytes ?? 32 * 1024 * 1024;
    this.onEvent = options.onEvent ?? (() => {});
    for (const [name, definition] of Object.entries(SCRIPTS)) {
      client.defineCommand(name, definition);
    }
  }

  /**
   * Applies the changes in order, in as few script calls as their size allows (one for a normal batch).
   * An upsert whose embedding is not a valid vector (empty, non-finite, or of another dimension than the
   * snapshot's) takes the chunk out of the snapshot, as VectorEmbeddings no longer holds a valid one.
   * @throws ValidationError naming the change when a chunk id is empty or a row cannot be encoded;
   *   then nothing of the batch is sent.
   * @throws Error when Redis fails or does not answer within `applyTimeoutMs`; then the changes may be
   *   partly applied or not at all, and never later than the deadline: the caller marks the snapshot stale.
   */
  async applyChanges(botId: string, changes: SnapshotChange[]): Promise<void> {
    if (changes.length === 0) return;
    const keys = snapshotKeys(this.prefix, botId);
    const encoded = encodeChanges(changes);
    const deadline = Date.now() + this.applyTimeoutMs;
    for (const args of this.splitIntoCalls(encoded)) {
      const outcome = await withDeadline(
        this.call(
          'vsSnapshotApply',
          ...liveApplyKeys(keys),
          '',
          String(deadline),
          String(this.segmentBytes),
          ...args,
        ),
        deadline,
        `the snapshot update of ${botId} did not finish within ${this.applyTimeoutMs} ms`,
      );
      if (outcome === 'expired') {
        throw new Error(
          `the snapshot update of ${botId} reached Redis after its ${this.applyTimeoutMs} ms deadline`,
        );
      }
      if (outcome === 'dropped') this.onEvent({ kind: 'dropped', botId, foundBy: 'applyChanges' });
    }
  }

  async currentVersion(botId: string): Promise<{ version: string; epoch: number } | null> {
    const keys = snapshotKeys(this.prefix, botId);
    const reply = (await this.call('vsSnapshotVersion', ...dataKeyList(keys))) as (string | null)[] | string;
    if (reply === 'dropped') this.onEvent({ kind: 'dropped', botId, foundBy: 'currentVersion' });
    if (!Array.isArray(reply)) return null;
    const [build, seq, epoch] = reply;
    if (build == null || epoch == null) return null;
    return { version: `${build}:${seq ?? '0'}`, epoch: Number(epoch) };
  }

  async read(botId: string): Promise<Snapshot | null> {
    const keys = snapshotKeys(this.prefix, botId);
    for (let attempt = 1; ; attempt++) {
      const outcome = await readSnapshotOnce(this.client, botId, keys);
      if (outcome.kind === 'ok') return outcome.snapshot;
      if (outcome.kind === 'absent') return null;
      if (outcome.kind === 'broken') {
        await this.dropIfUnchanged(botId, keys, outcome.version);
        return null;
      }
      // The snapshot changed between the meta read and the transaction: its segment count may differ.
      if (attempt >= READ_ATTEMPTS) return null;
    }
  }

  async texts(botId: string, chunkIds: string[]): Promise<string[] | null> {
    if (chunkIds.length === 0) return [];
    const keys = snapshotKeys(this.prefix, botId);
    const values = await this.client.hmget(keys.texts, ...chunkIds);
    const out: string[] = [];
    for (const value of values) {
      if (value === null) return null;
      out.push(value);
    }
    return out;
  }

  async beginRebuild(botId: string, epoch: number): Promise<RebuildTicket | null> {
    const keys = snapshotKeys(this.prefix, botId);
    const token = randomBytes(12).toString('base64url');
    const deadline = Date.now() + this.applyTimeoutMs;
    const claimed = await withDeadline(
      this.call(
        'vsSnapshotBeginRebuild',
        keys.building,
        keys.dirty,
        token,
        String(epoch),
        String(this.rebuildTtlMs),
        String(deadline),
      ),
      deadline,
      `claiming the rebuild of ${botId} did not finish within ${this.applyTimeoutMs} ms`,
    );
    return claimed === 1 ? { botId, token, epoch } : null;
  }

  /**
   * Stages `chunks` under temporary keys in pieces, then loops: take the ids the stream touched meanwhile,
   * re-read them through `reread` and apply them to the staging copy, and publish in one script that
   * checks the ticket still holds the slot and no id arrived since the take. Releases the slot and the
   * staging keys whatever happens.
   * @throws ValidationError when a chunk belongs to another bot (nothing is published).
   * @throws whatever `reread` or Redis throws (the slot is released first).
   */
  async commitRebuild(
    ticket: RebuildTicket,
    chunks: StoredChunk[],
    reread: (chunkIds: string[]) => Promise<StoredChunk[]>,
  ): Promise<boolean> {
    const keys = snapshotKeys(this.prefix, ticket.botId);
    const staging = stagingKeys(this.prefix, ticket.botId, ticket.token);
    let rounds = 0;
    const finish = (outcome: RebuildOutcome): boolean => {
      this.onEvent({ kind: 'rebuild', botId: ticket.botId, outcome, rounds, chunks: chunks.length });
      return outcome === 'published';
    };
    try {
      await this.writeStaging(ticket.botId, staging, chunks);
      while (rounds < this.maxCommitRounds) {
        rounds += 1;
        const taken = (await this.call('vsSnapshotTakeDirty', keys.building, keys.dirty, ticket.token)) as [
          'ok' | 'lost' | 'evicted',
          string[]?,
        ];
        if (taken[0] !== 'ok') return finish(taken[0]);
        const changed = taken[1] ?? [];
        if (changed.length > 0) {
          const current = await reread(changed);
          const args = encodeChanges(changesFromReread(ticket.botId, changed, current));
          for (const piece of this.splitIntoCalls(args)) {
            await this.call(
              'vsSnapshotApply',
              ...stagingApplyKeys(staging, keys),
              String(this.rebuildTtlMs),
              '',
              String(this.segmentBytes),
              ...piece,
            );
          }
        }
        const outcome = await this.call(
          'vsSnapshotCommit',
          ...dataKeyList(keys),
          keys.building,
          keys.dirty,
          ...dataKeyList(staging),
          ticket.token,
          String(ticket.epoch),
          randomBytes(12).toString('base64url'),
        );
        if (outcome !== 'changed') return finish(outcome as RebuildOutcome);
      }
      return finish('changing');
    } finally {
      // A failure here leaves the slot to expire on its own (rebuildTtlMs); it must not hide the outcome.
      await this.call(
        'vsSnapshotRelease',
        keys.building,
        keys.dirty,
        ...dataKeyList(staging),
        ticket.token,
      ).catch(() => undefined);
    }
  }

  async drop(botId: string): Promise<void> {
    const keys = snapshotKeys(this.prefix, botId);
    await this.call('vsSnapshotDropAll', ...dataKeyList(keys), keys.building, keys.dirty);
  }

  private async dropIfUnchanged(botId: string, keys: BotSnapshotKeys, version: string): Promise<void> {
    const dropped = await this.call('vsSnapshotDropIfUnchanged', ...dataKeyList(keys), version);
    if (dropped === 1) this.onEvent({ kind: 'dropped', botId, foundBy: 'read' });
  }

  private call(name: ScriptName, ...args: ScriptArg[]): Promise<unknown> {
    const fn = (this.client as unknown as Record<ScriptName, ScriptCall>)[name];
    return fn.apply(this.client, args);
  }

  /** Splits encoded changes (whole changes only) into calls of bounded count and size. */
  private *splitIntoCalls(encoded: EncodedChange[]): Generator<ScriptArg[]> {
    let args: ScriptArg[] = [];
    let count = 0;
    let bytes = 0;
    for (const change of encoded) {
      if (count > 0 && (count >= MAX_CHANGES_PER_CALL || bytes + change.bytes > this.maxCallBytes)) {
        yield args;
        args = [];
        count = 0;
        bytes = 0;
      }
      args.push(...change.args);
      count += 1;
      bytes += change.bytes;
    }
    if (count > 0) yield args;
  }

  /**
   * Writes a compact snapshot of `chunks` (slot i = i-th distinct chunk of the chosen dimension) to the
   * staging keys: the blob is allocated once at its final length, then filled piece by piece from one
   * reused buffer, so a 150 MB snapshot needs neither one 150 MB argument nor 150 MB of fresh client memory.
   */
  private async writeStaging(botId: string, staging: SnapshotDataKeys, chunks: StoredChunk[]): Promise<void> {
    const ttl = String(this.rebuildTtlMs);
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
    const seg = dim === 0 ? 0 : Math.max(1, Math.floor(this.segmentBytes / vectorBytes));
    if (kept.length > 0) {
      const perPiece = Math.max(1, Math.min(seg, Math.floor(STAGING_PIECE_BYTES / vectorBytes)));
      const scratch = new Float32Array(Math.min(perPiece, kept.length) * dim);
      for (let first = 0; first < kept.length; first += seg) {
        const key = segmentKey(staging.vectors, first / seg);
        const rows = Math.min(seg, kept.length - first);
        // Each segment is allocated once at its final length, then filled piece by piece.
        await this.client.setrange(key, rows * vectorBytes - 1, '\0');
        await this.client.pexpire(key, ttl);
        for (let start = first; start < first + rows; start += perPiece) {
          const end = Math.min(first + rows, start + perPiece);
          for (let i = start; i < end; i++)
            writeUnitVector((kept[i] as StoredChunk).embedding, scratch, (i - start) * dim);
          const piece = Buffer.from(scratch.buffer, 0, (end - start) * vectorBytes);
          // The scratch buffer is refilled only after Redis has answered (the bytes are on the wire by then).
          await this.client.setrange(key, (start - first) * vectorBytes, piece);
        }
      }
    }

    let pipeline = this.client.pipeline();
    for (let start = 0; start < kept.length; start += STAGING_FIELDS_PER_HSET) {
      const end = Math.min(kept.length, start + STAGING_FIELDS_PER_HSET);
      const rows: string[] = [];
      const index: string[] = [];
      const texts: string[] = [];
      for (let i = start; i < end; i++) {
        const chunk = kept[i] as StoredChunk;
        rows.push(String(i), encodeRowValue(i, encodeRow(chunk)));
        index.push(chunk.chunk_id, String(i));
        texts.push(chunk.chunk_id, chunk.text);
      }
      pipeline
        .hset(staging.rows, ...rows)
        .pexpire(staging.rows, ttl)
        .hset(staging.index, ...index)
        .pexpire(staging.index, ttl)
        .hset(staging.texts, ...texts)
        .pexpire(staging.texts, ttl);
      if (pipeline.length >= STAGING_COMMANDS_PER_ROUND_TRIP) {
        throwPipelineError(await pipeline.exec());
        pipeline = this.client.pipeline();
      }
    }
    // The meta hash goes last: until it exists the staged snapshot does not pass snapshot_state.
    pipeline
      .hset(staging.meta, 'dim', dim, 'slots', kept.length, 'live', kept.length, 'seq', 0, 'seg', seg)
      .pexpire(staging.meta, ttl);
    throwPipelineError(await pipeline.exec());
  }
}

/** One change as script arguments, and roughly how many bytes it sends. */
type EncodedChange = { args: ScriptArg[]; bytes: number };

const EMPTY = Buffer.alloc(0);

/** Validates every change before any is sent, so a bad batch writes nothing. */
function encodeChanges(changes: SnapshotChange[]): EncodedChange[] {
  return changes.map((change, i) => {
    if (change.kind === 'delete') {
      if (change.chunk_id === '') throw new ValidationError('chunk_id is empty', `changes[${i}].chunk_id`);
      return { args: ['d', change.chunk_id], bytes: change.chunk_id.length + 8 };
    }
    const id = change.row.chunk_id;
    if (id === '') throw new ValidationError('chunk_id is empty', `changes[${i}].row.chunk_id`);
    let row: string;
    try {
      row = encodeRow(change.row);
    } catch (error) {
      throw new ValidationError(
        `row cannot be stored as JSON: ${(error as Error).message}`,
        `changes[${i}].row`,
        {
          cause: error,
        },
      );
    }
    // An invalid vector is sent as no vector: the script then takes the chunk out of the snapshot.
    const vector = unitVectorBytes(change.embedding) ?? EMPTY;
    return {
      args: ['u', id, vector, row, change.text],
      bytes: id.length + vector.byteLength + row.length + change.text.length + 16,
    };
  });
}

/** What a strongly consistent re-read says about ids the stream touched: present ones upserted, the rest deleted. */
function changesFromReread(botId: string, ids: string[], current: StoredChunk[]): SnapshotChange[] {
  const found = new Map<string, StoredChunk>();
  for (const chunk of current) if (chunk.bot_id === botId) found.set(chunk.chunk_id, chunk);
  return ids.map((id): SnapshotChange => {
    const chunk = found.get(id);
    if (chunk === undefined) return { kind: 'delete', chunk_id: id };
    return {
      kind: 'upsert',
      row: {
        chunk_id: id,
        filename: chunk.filename,
        chunk_index: chunk.chunk_index,
        metadata: chunk.metadata,
        created_at: chunk.created_at,
      },
      text: chunk.text,
      embedding: chunk.embedding,
    };
  });
}

function liveApplyKeys(keys: BotSnapshotKeys): string[] {
  return [...dataKeyList(keys), keys.building, keys.dirty];
}

/** Staging is never a rebuild's target, so it passes the bot's building/dirty keys only to fill KEYS. */
function stagingApplyKeys(staging: SnapshotDataKeys, keys: BotSnapshotKeys): string[] {
  return [...dataKeyList(staging), keys.building, keys.dirty];
}

/** The promise's value, or a rejection with `message` once `deadline` (Unix ms) has passed. */
async function withDeadline<T>(promise: Promise<T>, deadline: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function isFinite32(vector: Float32Array): boolean {
  for (let i = 0; i < vector.length; i++) if (!Number.isFinite(vector[i])) return false;
  return true;
}

function throwPipelineError(results: [Error | null, unknown][] | null): void {
  if (results === null) throw new Error('Redis discarded a pipeline');
  for (const [error] of results) if (error) throw error;
}
