import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { StoredChunk } from '../../domain/types';
import type {
  CurrentVersion,
  ReadHead,
  RebuildStaging,
  RebuildTicket,
  ScanCandidates,
  ScanSnapshot,
  Snapshot,
  SnapshotChange,
  SnapshotStore,
} from '../port';
import { encodeChanges, splitIntoCalls } from './changes';
import { HOST_IS_LITTLE_ENDIAN } from './float32-view';
import { type BotSnapshotKeys, DEFAULT_ID_BUCKETS, dataKeyList, snapshotKeys, stagingKeys } from './keys';
import { PagedStaging } from './paged-staging';
import { HeadRead, readHead, readSnapshotOnce } from './read';
import { commitStagedRebuild, type RebuildContext, type RebuildOutcome } from './rebuild';
import { readCandidates, readScanOnce, visibilityValue } from './scan-read';
import {
  beforeDeadline,
  bufferReplies,
  defineSnapshotScripts,
  type ScriptArg,
  type ScriptRunner,
} from './scripts';
import { readTexts } from './texts';

export type { RebuildOutcome } from './rebuild';

/**
 * How long a kept visibility lives (ms). Any change moves the version and makes it useless anyway; the
 * TTL frees the key of a bot nobody searches, or of a snapshot Redis deleted as broken after a reader
 * kept it.
 */
const VISIBILITY_TTL_MS = 24 * 60 * 60 * 1000;

/** Tuning of the store; the defaults suit Lambda talking to ElastiCache. */
export type RedisSnapshotStoreOptions = {
  /**
   * The TTL of a rebuild's slot and staging keys (ms). A rebuild re-arms it as it makes progress (pages,
   * commit rounds; docs/snapshot.md, "Long rebuilds"); one that stalls this long, or crashed, loses the
   * slot, and blocks other rebuilds of the bot for at most this long. Default 5 min.
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
  /**
   * Buckets of the index (chunk id -> slot) and the texts, by a hash of the chunk id. Default 32: a
   * 1M-chunk bot's text buckets then hold about 13 MB each at the bench's 400 bytes of stored text a
   * chunk, far below the 64 MB this project allows a key. Fixed per snapshot when a rebuild stages it
   * (kept as `bkz`); small values let tests cross bucket boundaries, large ones suit bots of many
   * millions of chunks.
   */
  idBuckets?: number;
  /** Told about snapshots found broken and about every rebuild's outcome (for logs and metrics). */
  onEvent?: (event: SnapshotStoreEvent) => void;
};

/** What the store reports through `onEvent`. */
export type SnapshotStoreEvent =
  | { kind: 'dropped'; botId: string; foundBy: 'applyChanges' | 'currentVersion' | 'read' | 'readScan' }
  | { kind: 'rebuild'; botId: string; outcome: RebuildOutcome; rounds: number; chunks: number };

/** How many times `read` retries when the snapshot changed between its meta read and its transaction. */
const READ_ATTEMPTS = 4;

/**
 * The per-bot vector snapshot in Redis (see docs/snapshot.md): segments of unit vectors in fixed slots
 * with their int8 scan codes, plus rows, index, texts and meta hashes, all under the bot's hash tag.
 * Incremental updates run as one Lua script per batch and write only what the batch changes; reads
 * (whole, or the codes and then candidates only) are validated MULTIs; anything inconsistent is deleted,
 * so a snapshot is either whole or absent.
 *
 * Takes an ioredis `Redis` or `Cluster` client and a key prefix; never reads the environment.
 */
export class RedisSnapshotStore implements SnapshotStore {
  /** The int8 codes are kept in their own segments, readable without the float32 vectors. */
  readonly scans = true;
  private readonly rebuildTtlMs: number;
  private readonly maxCommitRounds: number;
  private readonly maxCallBytes: number;
  private readonly applyTimeoutMs: number;
  private readonly segmentBytes: number;
  private readonly idBuckets: number;
  private readonly onEvent: (event: SnapshotStoreEvent) => void;
  private readonly run: ScriptRunner;
  private readonly readHeadScript: (...args: ScriptArg[]) => Promise<unknown>;

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
    this.idBuckets = options.idBuckets ?? DEFAULT_ID_BUCKETS;
    if (!Number.isInteger(this.idBuckets) || this.idBuckets < 1) {
      throw new Error(`idBuckets must be a positive integer, got ${this.idBuckets}`);
    }
    this.onEvent = options.onEvent ?? (() => {});
    this.run = defineSnapshotScripts(client);
    // Its reply carries the kept visibility, which is bytes.
    this.readHeadScript = bufferReplies(client, 'vsSnapshotReadHead');
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
    for (const args of splitIntoCalls(encoded, this.maxCallBytes)) {
      const outcome = await beforeDeadline(
        this.run(
          'vsSnapshotApply',
          ...dataKeyList(keys),
          keys.building,
          keys.dirty,
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

  /** Undefined: the version lives in Redis, not on the bot's item (`currentVersion` asks for it). */
  versionOf(): undefined {
    return undefined;
  }

  async currentVersion(botId: string, options?: { head?: boolean }): Promise<CurrentVersion | null> {
    const keys = snapshotKeys(this.prefix, botId);
    if (options?.head === true) {
      const head = await readHead(this.readHeadScript, keys);
      if (head === 'dropped') this.onEvent({ kind: 'dropped', botId, foundBy: 'currentVersion' });
      if (typeof head === 'string' || head.epoch === null) return null;
      return { version: head.version, epoch: head.epoch, head };
    }
    const reply = (await this.run('vsSnapshotVersion', ...dataKeyList(keys))) as (string | null)[] | string;
    if (reply === 'dropped') this.onEvent({ kind: 'dropped', botId, foundBy: 'currentVersion' });
    if (!Array.isArray(reply)) return null;
    const [build, seq, epoch] = reply;
    if (build == null || epoch == null) return null;
    return { version: `${build}:${seq ?? '0'}`, epoch: Number(epoch) };
  }

  async read(botId: string, _previous?: Snapshot, head?: ReadHead): Promise<Snapshot | null> {
    const keys = snapshotKeys(this.prefix, botId);
    let given = head;
    for (let attempt = 1; ; attempt++) {
      const start = await this.startRead(botId, keys, given, 'read');
      given = undefined;
      if (start === null) return null;
      const outcome = await readSnapshotOnce(this.client, botId, keys, start);
      if (outcome.kind === 'ok') return outcome.snapshot;
      if (outcome.kind === 'broken') {
        await this.dropIfUnchanged(botId, keys, outcome.version);
        return null;
      }
      // The snapshot changed since its head was read: its segment count may differ.
      if (attempt >= READ_ATTEMPTS) return null;
    }
  }

  /**
   * The int8 scan codes of the bot's snapshot (docs/snapshot.md, "Scan reads"), checked like `read`; a
   * broken snapshot is dropped (if still at the version read) and null returned.
   */
  async readScan(botId: string, head?: ReadHead): Promise<ScanSnapshot | null> {
    const keys = snapshotKeys(this.prefix, botId);
    let given = head;
    for (let attempt = 1; ; attempt++) {
      const start = await this.startRead(botId, keys, given, 'readScan');
      given = undefined;
      if (start === null) return null;
      const outcome = await readScanOnce(this.client, botId, keys, start);
      if (outcome.kind === 'ok') {
        if (outcome.hidden !== undefined) this.keepVisibility(keys, outcome.scan.version, outcome.hidden);
        return outcome.scan;
      }
      if (outcome.kind === 'broken') {
        await this.dropIfUnchanged(botId, keys, outcome.version, 'readScan');
        return null;
      }
      if (attempt >= READ_ATTEMPTS) return null;
    }
  }

  /**
   * Keeps which slots search hides at `version` for the next cold reader (docs/snapshot.md, "Scan
   * reads"). Not awaited: the search that worked them out needs nothing back, and a lost write only
   * means the next reader reads the rows.
   */
  private keepVisibility(keys: BotSnapshotKeys, version: string, hidden: Uint32Array): void {
    this.run(
      'vsSnapshotKeepVisibility',
      keys.meta,
      keys.visibility,
      version,
      visibilityValue(version, hidden),
      VISIBILITY_TTL_MS,
    ).catch(() => undefined);
  }

  candidates(scan: ScanSnapshot, slots: readonly number[]): Promise<ScanCandidates | null> {
    return readCandidates(this.client, snapshotKeys(this.prefix, scan.botId), scan, slots);
  }

  texts(botId: string, chunkIds: string[]): Promise<string[] | null> {
    return readTexts(this.client, snapshotKeys(this.prefix, botId), chunkIds, this.idBuckets) as Promise<
      string[] | null
    >;
  }

  textsAt(botId: string, chunkIds: string[], version: string): Promise<string[] | 'moved' | null> {
    return readTexts(this.client, snapshotKeys(this.prefix, botId), chunkIds, this.idBuckets, version);
  }

  async beginRebuild(botId: string, epoch: number): Promise<RebuildTicket | null> {
    const keys = snapshotKeys(this.prefix, botId);
    const token = randomBytes(12).toString('base64url');
    const deadline = Date.now() + this.applyTimeoutMs;
    const claimed = await beforeDeadline(
      this.run(
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
   * staging keys whatever happens (rebuild.ts).
   * @throws ValidationError when a chunk belongs to another bot (nothing is published).
   * @throws whatever `reread` or Redis throws (the slot is released first).
   */
  async commitRebuild(
    ticket: RebuildTicket,
    chunks: StoredChunk[],
    reread: (chunkIds: string[]) => Promise<StoredChunk[]>,
  ): Promise<boolean> {
    const context = this.rebuildContext(ticket);
    const { outcome, rounds } = await commitStagedRebuild(context, ticket, chunks, reread);
    this.onEvent({ kind: 'rebuild', botId: ticket.botId, outcome, rounds, chunks: chunks.length });
    return outcome === 'published';
  }

  stageRebuild(ticket: RebuildTicket, dimension: number): RebuildStaging {
    return new PagedStaging(this.rebuildContext(ticket), ticket, dimension, (outcome, rounds, chunks) =>
      this.onEvent({ kind: 'rebuild', botId: ticket.botId, outcome, rounds, chunks }),
    );
  }

  async drop(botId: string): Promise<void> {
    const keys = snapshotKeys(this.prefix, botId);
    await this.run('vsSnapshotDropAll', ...dataKeyList(keys), keys.building, keys.dirty, keys.visibility);
  }

  private rebuildContext(ticket: RebuildTicket): RebuildContext {
    return {
      client: this.client,
      run: this.run,
      keys: snapshotKeys(this.prefix, ticket.botId),
      staging: stagingKeys(this.prefix, ticket.botId, ticket.token),
      rebuildTtlMs: this.rebuildTtlMs,
      maxCommitRounds: this.maxCommitRounds,
      maxCallBytes: this.maxCallBytes,
      segmentBytes: this.segmentBytes,
      idBuckets: this.idBuckets,
    };
  }

  /**
   * The head a read starts from: `given` (from the version check) for a first attempt, else one read now;
   * null when the snapshot is absent or was found broken (and deleted). A head of a version that moved on
   * is found out by the read's first MULTI, which then starts again from a head of its own.
   */
  private async startRead(
    botId: string,
    keys: BotSnapshotKeys,
    given: ReadHead | undefined,
    foundBy: 'read' | 'readScan',
  ): Promise<HeadRead | null> {
    const head = given instanceof HeadRead ? given : await readHead(this.readHeadScript, keys);
    if (head === 'dropped') this.onEvent({ kind: 'dropped', botId, foundBy });
    return typeof head === 'string' ? null : head;
  }

  private async dropIfUnchanged(
    botId: string,
    keys: BotSnapshotKeys,
    version: string,
    foundBy: 'read' | 'readScan' = 'read',
  ): Promise<void> {
    const dropped = await this.run('vsSnapshotDropIfUnchanged', ...dataKeyList(keys), version);
    if (dropped === 1) this.onEvent({ kind: 'dropped', botId, foundBy });
  }
}
