/**
 * Redis key names of a bot's snapshot. Every key of a bot carries the bot id as its hash tag
 * (`{...}`), so all of them live in one Redis Cluster slot and one Lua script or MULTI may touch them all.
 * No content key is unbounded: vectors, codes and rows are split by slot into segments, the index and
 * the texts by a hash of the chunk id into buckets (docs/snapshot.md, "Segments and buckets").
 */
import * as crypto from 'node:crypto';

/** SHA-1 hex of a string's UTF-8 bytes: the one-shot `crypto.hash` (twice as fast) where Node has it. */
const sha1Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha1', text, 'hex')
    : (text) => crypto.createHash('sha1').update(text, 'utf8').digest('hex');

/** Buckets of the index and the texts unless the store is told otherwise (kept per snapshot as `bkz`). */
export const DEFAULT_ID_BUCKETS = 32;

/** The five keys that hold a snapshot's content, plus its meta hash. */
export type SnapshotDataKeys = {
  /**
   * Hash: dim, slots, live, seg, bkz (buckets of the index and the texts, the texts stored as
   * `text-codec.ts` writes them), build, seq, epoch, and the int8 codes' qs (scale), qc and qr (bound maxima).
   */
  meta: string;
  /**
   * Base name of the vector segments: segment n is the string `${vectors}:${n}` (see `segmentKey`), holding
   * the float32 little-endian unit vectors of slots n*seg ... (n+1)*seg - 1, slot i at byte offset
   * (i - n*seg) * dim * 4. `seg` (rows per segment) is kept in the meta hash. Beside each, its int8 scan
   * codes (see `codeSegmentKey`).
   */
  vectors: string;
  /**
   * Base name of the row segments: `${rows}:${n}` (see `rowSegmentKey`) is a hash of the slots of vector
   * segment n -> the slot, a space, and the row's fields as a JSON array (`encodeRow`).
   */
  rows: string;
  /** Base name of the index buckets: `${index}:${b}` is a hash chunk_id -> slot of the ids of bucket b. */
  index: string;
  /** Base name of the text buckets: `${texts}:${b}` is a hash chunk_id -> text of the ids of bucket b. */
  texts: string;
  /** List of slots that no chunk holds, reused before the blob grows. */
  free: string;
};

/** A bot's live snapshot keys and the keys of its rebuild protocol. */
export type BotSnapshotKeys = SnapshotDataKeys & {
  /** Hash with a TTL: token, epoch, dirty (how many ids were ever added to `dirty`). Also the rebuild lock. */
  building: string;
  /** Set of chunk ids changed by stream records while a rebuild runs. */
  dirty: string;
  /**
   * String with a TTL: which slots search hides at one snapshot version (`<build>:<seq>\n` and the
   * hidden slots as uint32 little-endian), kept by cold readers so the next one at that version need not
   * read the rows (docs/snapshot.md, "Scan reads"). Derived: never part of the snapshot's checks.
   */
  visibility: string;
};

/**
 * The bot id as a hash tag body. Redis takes the tag up to the first `}`, so braces (and `%`, to keep the
 * mapping one-to-one) are percent-encoded: two different bots never share a key, whatever their ids hold.
 */
export function encodeBotIdForKey(botId: string): string {
  return botId.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
}

function dataKeys(base: string): SnapshotDataKeys {
  return {
    meta: `${base}:meta`,
    vectors: `${base}:vec`,
    rows: `${base}:rows`,
    index: `${base}:idx`,
    texts: `${base}:text`,
    free: `${base}:free`,
  };
}

/** Keys of the bot's snapshot under `prefix`: `${prefix}:{${botId}}:<part>`. */
export function snapshotKeys(prefix: string, botId: string): BotSnapshotKeys {
  const base = `${prefix}:{${encodeBotIdForKey(botId)}}`;
  return {
    ...dataKeys(base),
    building: `${base}:building`,
    dirty: `${base}:dirty`,
    visibility: `${base}:vis`,
  };
}

/**
 * Keys where a rebuild stages the snapshot it is about to publish (same hash tag, so the commit can
 * RENAME them into place). The token keeps two rebuilds' staging apart.
 */
export function stagingKeys(prefix: string, botId: string, token: string): SnapshotDataKeys {
  return dataKeys(`${prefix}:{${encodeBotIdForKey(botId)}}:staging:${token}`);
}

/** Data keys in the order every snapshot Lua script takes them (KEYS[1..6]). */
export function dataKeyList(keys: SnapshotDataKeys): string[] {
  return [keys.meta, keys.vectors, keys.rows, keys.index, keys.texts, keys.free];
}

/** Key of vector segment `n` (same hash tag as its base, so scripts may touch it beside the others). */
export function segmentKey(vectorsKey: string, n: number): string {
  return `${vectorsKey}:${n}`;
}

/**
 * Key of the int8 scan codes of vector segment `n`: one byte per float, row i of the segment at byte
 * offset i * dim, under the scale kept in the meta hash (`qs`).
 */
export function codeSegmentKey(vectorsKey: string, n: number): string {
  return `${segmentKey(vectorsKey, n)}:i8`;
}

/** Key of the row segment `n`: the rows of the slots vector segment `n` holds. */
export function rowSegmentKey(rowsKey: string, n: number): string {
  return `${rowsKey}:${n}`;
}

/** Key of bucket `b` of the index or the texts (`base` is `index` or `texts` of the data keys). */
export function bucketKey(base: string, b: number): string {
  return `${base}:${b}`;
}

/**
 * The bucket of a chunk id among `buckets`: the first 32 bits of the SHA-1 of its UTF-8 bytes, modulo
 * `buckets`. The Lua scripts compute the same from `redis.sha1hex` (`bucket_of` in the prelude).
 */
export function bucketOf(chunkId: string, buckets: number): number {
  if (buckets <= 1) return 0;
  return Number.parseInt(sha1Hex(chunkId).slice(0, 8), 16) % buckets;
}

/** Groups chunk ids by bucket: bucket -> the positions in `chunkIds` of its ids. */
export function groupByBucket(chunkIds: readonly string[], buckets: number): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  chunkIds.forEach((id, i) => {
    const b = bucketOf(id, buckets);
    const group = groups.get(b);
    if (group === undefined) groups.set(b, [i]);
    else group.push(i);
  });
  return groups;
}

/**
 * Every key of the snapshot's row segments, index and text buckets, for presence checks and TTLs:
 * `segments` row segments and `buckets` buckets of each hash.
 */
export function hashKeys(keys: SnapshotDataKeys, segments: number, buckets: number) {
  return {
    rows: Array.from({ length: segments }, (_, n) => rowSegmentKey(keys.rows, n)),
    index: Array.from({ length: buckets }, (_, b) => bucketKey(keys.index, b)),
    texts: Array.from({ length: buckets }, (_, b) => bucketKey(keys.texts, b)),
  };
}

/**
 * The most segments a snapshot may have: 2 TiB of vectors at the default 32 MiB a segment, far past any
 * Redis. A meta claiming more is corrupt, and no read, check or drop walks that many keys.
 */
export const MAX_SEGMENTS = 65_536;

/** How many segments hold `slots` slots at `rowsPerSegment` rows each. */
export function segmentCount(slots: number, rowsPerSegment: number): number {
  return slots === 0 ? 0 : Math.ceil(slots / rowsPerSegment);
}
