/**
 * BM25 scores of a cached snapshot's rows for a query (docs/snapshot.md, "The keyword index"), from the
 * first source that describes exactly the snapshot version being searched: the in-process index this
 * container already built at that version; else the bot's keyword index in Redis (only the query terms'
 * postings are read: after a stream update this replaces reading every text again); else an in-process
 * index built from every text at that version, which is then also stored in Redis for the next queries.
 * Postings read from the Redis index are held with the copy they were read for, so a term asked again at
 * that version is scored without a round trip.
 */

import { DEFAULT_TOKENISER, tokenise } from '../../../domain/keyword-text';
import {
  distinctTerms,
  KeywordIndex,
  postingsByRow,
  type RowPostings,
  scoreFromPostings,
} from '../../../domain/ranking/bm25';
import type { KeywordQuery } from '../../../domain/ranking/keyword-query';
import type { ScoreBuffer } from '../../../domain/ranking/scoring';
import type {
  CachedSnapshot,
  DocumentIds,
  KeywordIndexStore,
  KeywordPostings,
  SnapshotStore,
} from '../../../snapshot';
import {
  dropHeldPostings,
  type HeldLookup,
  heldPostingsStats,
  holdPostings,
  lookUpHeld,
} from './held-postings';

/** Per-row BM25 and the matched rows; scores land in the buffer when one is given. */
export type Bm25Scorer = (buffer?: ScoreBuffer) => { scores: Float64Array; matched: Int32Array };

/**
 * A query's BM25 over the rows, to compute when ranking (synchronously, so a reused buffer is never
 * shared by two queries), with a way to get the texts of rows.
 */
export type SnapshotBm25 = {
  score: Bm25Scorer;
  /** Texts of the given rows (null: the snapshot's texts are gone). */
  texts: (rows: readonly number[]) => Promise<string[] | null>;
  source: 'redis-index' | 'in-process';
};

/**
 * A query builds the Redis index only for bots up to this size, inside the request that found it missing
 * (API Gateway allows 29 s). Every snapshot rebuild stores the index at any size (keyword-rebuild.ts), so a
 * query builds it only after it was lost. The bulk build (keyword-index-build.ts) takes 0.4 s at 10k
 * chunks and 3.5 s at 100k on the shared 2-core machine (one run each), so 40k chunks stay well inside
 * the budget with the texts' read and tokenising. Larger bots keep the in-process index until their next
 * rebuild.
 */
export const MAX_BUILD_CHUNKS_IN_A_QUERY = 40_000;

/** A snapshot's keyword index and texts (row order), at the snapshot's version. */
export type SnapshotKeywords = {
  index: KeywordIndex;
  texts: readonly string[];
  terms: string[][];
  ids: string[];
};

/**
 * The last index built per bot, held weakly: a new version's build reuses the terms of every chunk whose
 * text did not change (most of them after a stream batch), so only changed texts are tokenised again.
 */
const lastBuilt = new Map<string, WeakRef<SnapshotKeywords>>();

const TEXTS_PER_READ = 5000;
const indexes = new WeakMap<CachedSnapshot, Promise<SnapshotKeywords | null>>();

/**
 * The keyword index of a cached snapshot, built once per cached version: every row's text is read, and
 * the version is checked again after the read. A snapshot's version changes with every change and
 * never returns to an earlier value, so an unchanged version means the texts are exactly the version's.
 * Null when the texts are missing or the snapshot moved on meanwhile (then DynamoDB answers).
 */
export function snapshotKeywords(
  snapshots: SnapshotStore,
  cached: CachedSnapshot,
): Promise<SnapshotKeywords | null> {
  let pending = indexes.get(cached);
  if (pending === undefined) {
    pending = loadSnapshotKeywords(snapshots, cached);
    indexes.set(cached, pending);
    // A failed or inconsistent read is not kept: the next query tries again.
    pending.then(
      (value) => value === null && indexes.delete(cached),
      () => indexes.delete(cached),
    );
  }
  return pending;
}

/** The in-process index of a cached snapshot when one was built or is being built, else undefined. */
export function builtSnapshotKeywords(cached: CachedSnapshot): Promise<SnapshotKeywords | null> | undefined {
  return indexes.get(cached);
}

async function loadSnapshotKeywords(
  snapshots: SnapshotStore,
  cached: CachedSnapshot,
): Promise<SnapshotKeywords | null> {
  const { botId } = cached.snapshot;
  // A small bot's copy holds its texts, read at its version (src/snapshot/cache.ts): no second read, no copy.
  const texts = cached.texts ?? (await readVersionTexts(snapshots, cached));
  if (texts === null) return null;
  const previous = lastBuilt.get(botId)?.deref();
  const previousRow = new Map<string, number>();
  previous?.ids.forEach((id, row) => {
    previousRow.set(id, row);
  });
  const terms = texts.map((text, row) => {
    const before = previousRow.get(cached.ids[row] as string);
    if (previous !== undefined && before !== undefined && previous.texts[before] === text) {
      return previous.terms[before] as string[];
    }
    return tokenise(text, DEFAULT_TOKENISER);
  });
  const built: SnapshotKeywords = { index: new KeywordIndex(terms), texts, terms, ids: cached.ids };
  lastBuilt.set(botId, new WeakRef(built));
  return built;
}

/** Every row's text read from Redis, or null when one is missing or the snapshot moved on during the read. */
async function readVersionTexts(snapshots: SnapshotStore, cached: CachedSnapshot): Promise<string[] | null> {
  const { botId, version } = cached.snapshot;
  const texts: string[] = [];
  for (let start = 0; start < cached.ids.length; start += TEXTS_PER_READ) {
    const piece = await snapshots.texts(botId, cached.ids.slice(start, start + TEXTS_PER_READ));
    if (piece === null) return null;
    texts.push(...piece);
  }
  const after = await snapshots.currentVersion(botId);
  return after === null || after.version !== version ? null : texts;
}

const rowMaps = new WeakMap<CachedSnapshot, Map<string, number>>();

function rowOf(cached: CachedSnapshot): Map<string, number> {
  let map = rowMaps.get(cached);
  if (map === undefined) {
    map = new Map(cached.ids.map((id, row) => [id, row]));
    rowMaps.set(cached, map);
  }
  return map;
}

/** A number that names no row of the snapshot (free, or a chunk the snapshot does not hold). */
const NO_ROW = -1;

/**
 * Rows of document numbers, per cached snapshot and per id bucket (an id bucket is the same array while
 * its numbers name the same chunks). The first query at a version that reads a bucket's postings maps all
 * of the bucket's numbers to rows at once, so every later query at that version reads rows from a typed
 * array and looks up no chunk id. A version maps each number at most once, as a lazy map per number
 * would over enough queries, and a query's cost does not depend on which terms earlier queries read: at
 * 100k chunks a version's first keyword query takes about 40 ms longer, beside the ~700 ms of the
 * snapshot's own first read at that version (one run each). A bucket's rows take 4 bytes a number: 400 KB
 * for a 100k-chunk bot.
 */
const numberRows = new WeakMap<CachedSnapshot, WeakMap<readonly (string | undefined)[], Int32Array>>();

/** The rows of one id bucket's numbers in the cached snapshot (NO_ROW where none), mapped once. */
function bucketRows(
  cached: CachedSnapshot,
  bucketIds: readonly (string | undefined)[],
  size: number,
): Int32Array {
  let perBucket = numberRows.get(cached);
  if (perBucket === undefined) {
    perBucket = new WeakMap();
    numberRows.set(cached, perBucket);
  }
  let rows = perBucket.get(bucketIds);
  if (rows === undefined) {
    const rowOfId = rowOf(cached);
    rows = new Int32Array(size);
    for (let low = 0; low < size; low++) {
      const id = bucketIds[low];
      rows[low] = (id === undefined ? undefined : rowOfId.get(id)) ?? NO_ROW;
    }
    perBucket.set(bucketIds, rows);
  }
  return rows;
}

/** The row of each document number of `ids` in the cached snapshot, or undefined when it has none. */
function rowOfNumber(cached: CachedSnapshot, ids: DocumentIds): (number: number) => number | undefined {
  const { bucketSize } = ids;
  // A term's postings come bucket by bucket: the last bucket's rows are kept at hand.
  let lastBucket = -1;
  let rows: Int32Array = new Int32Array(0);
  return (number) => {
    const b = Math.floor(number / bucketSize);
    if (b !== lastBucket) {
      const bucketIds = ids.buckets[b];
      if (bucketIds === undefined) return undefined;
      rows = bucketRows(cached, bucketIds, bucketSize);
      lastBucket = b;
    }
    const row = rows[number - b * bucketSize];
    return row === undefined || row === NO_ROW ? undefined : row;
  };
}

/** The query's BM25 from the postings held with the copy when every term's are, else null. */
function heldScorer(lookup: HeldLookup, query: KeywordQuery): Bm25Scorer | null {
  const { held, byTerm, missing } = lookup;
  if (held === undefined || missing.length > 0) return null;
  const byRow = byTerm as RowPostings[];
  return (buffer) => scoreFromPostings(byRow, held.docCount, held.totalLength, query.bm25, buffer);
}

/**
 * BM25 from the postings of the terms the copy does not hold (`lookup.missing`), read from the Redis index
 * at the copy's version and then held with it, and the ones it holds. Null when the read names other
 * chunks than the rows, or counts other chunks or lengths than the postings held (then none stay held).
 */
function storedScorer(
  cached: CachedSnapshot,
  stored: KeywordPostings,
  lookup: HeldLookup,
  query: KeywordQuery,
): Bm25Scorer | null {
  const { held } = lookup;
  if (held !== undefined && (held.docCount !== stored.docCount || held.totalLength !== stored.totalLength)) {
    dropHeldPostings(cached);
    return null;
  }
  const read =
    stored.docCount === cached.ids.length
      ? postingsByRow(stored.postings, rowOfNumber(cached, stored.ids), stored.docCount)
      : null;
  if (read === null) return null;
  holdPostings(cached, stored, lookup.missing, read);
  const readByTerm = new Map(lookup.missing.map((term, i) => [term, read[i] as RowPostings]));
  const byRow = lookup.terms.map((term, i) => lookup.byTerm[i] ?? (readByTerm.get(term) as RowPostings));
  return (buffer) => scoreFromPostings(byRow, stored.docCount, stored.totalLength, query.bm25, buffer);
}

/**
 * The query's BM25 from the bot's Redis index at the copy's version: from the postings held with the copy
 * when it holds every term's, else with a read of the terms it does not hold. 'disagrees' when the read
 * names other chunks than the rows or counts other chunks or lengths than the postings held.
 * @throws whatever the store throws.
 */
async function indexScorer(
  keywords: KeywordIndexStore,
  cached: CachedSnapshot,
  query: KeywordQuery,
): Promise<Bm25Scorer | 'missing' | 'busy' | 'disagrees'> {
  const lookup = lookUpHeld(cached, distinctTerms(query.terms));
  const held = heldScorer(lookup, query);
  if (held !== null) {
    heldPostingsStats.held++;
    return held;
  }
  const { botId, version } = cached.snapshot;
  const stored = await keywords.read(botId, version, lookup.missing);
  if (typeof stored === 'string') return stored;
  const scorer = storedScorer(cached, stored, lookup, query);
  if (scorer === null) return 'disagrees';
  heldPostingsStats.read++;
  return scorer;
}

/**
 * A keyword query's BM25 over a held copy whose version is not confirmed yet (the caller confirms it in a
 * round trip of its own, as a warm vector search does): from the in-process index built at the copy's
 * version, else from the postings held with the copy, else from the Redis index read at that version (the
 * terms not held), sent beside the confirmation rather than after it. Undefined when none serves at once
 * (no index at that version, an update running, a failure, or postings that disagree with the rows): the
 * checked path (`snapshotBm25` after the cache confirmed the version) then answers, and builds, rebuilds
 * or warns as it does.
 */
export async function peekedBm25(
  keywords: KeywordIndexStore | undefined,
  cached: CachedSnapshot,
  query: KeywordQuery,
): Promise<Bm25Scorer | undefined> {
  const warm = builtSnapshotKeywords(cached);
  if (warm !== undefined) {
    const loaded = await warm;
    return loaded === null ? undefined : (buffer) => loaded.index.score(query.terms, query.bm25, buffer);
  }
  if (keywords === undefined) return undefined;
  try {
    const score = await indexScorer(keywords, cached, query);
    return typeof score === 'string' ? undefined : score;
  } catch {
    return undefined;
  }
}

/** Where the scores may come from, and what to tell about a failure of the stored index. */
export type Bm25Sources = {
  snapshots: SnapshotStore;
  keywords: KeywordIndexStore | undefined;
  /** Largest bot whose index a query builds (default MAX_BUILD_CHUNKS_IN_A_QUERY). */
  maxQueryBuildChunks?: number | undefined;
  warn: (message: string, extra: Record<string, unknown>) => void;
};

/**
 * The query's BM25 over the cached snapshot's rows, or null when neither source can give it at the
 * snapshot's version (then DynamoDB answers). A Redis index that fails or disagrees is passed over.
 */
export async function snapshotBm25(
  sources: Bm25Sources,
  cached: CachedSnapshot,
  query: KeywordQuery,
): Promise<SnapshotBm25 | null> {
  const { botId, version } = cached.snapshot;
  const held = cached.texts;
  const texts = async (rows: readonly number[]) =>
    rows.length === 0
      ? []
      : held !== undefined
        ? rows.map((row) => held[row] as string)
        : sources.snapshots.texts(
            botId,
            rows.map((row) => cached.ids[row] as string),
          );
  // An index this process built at this version is the fastest source: no round trip at all.
  const warm = builtSnapshotKeywords(cached);
  // Build the stored index only where none can serve this version: not over an update or build running.
  let build = sources.keywords !== undefined && warm === undefined;
  if (sources.keywords !== undefined && warm === undefined) {
    try {
      const score = await indexScorer(sources.keywords, cached, query);
      build = score === 'missing';
      if (typeof score !== 'string') return { score, texts, source: 'redis-index' };
      if (score === 'disagrees') {
        // Stamped with this version yet naming other chunks: never expected; rebuilt rather than trusted.
        sources.warn('Keyword index disagrees with its snapshot; rebuilding it', { botId, version });
        build = true;
      }
    } catch (error) {
      build = false;
      sources.warn('Keyword index unreadable; scoring in process', { botId, error });
    }
  }
  const loaded = await (warm ?? snapshotKeywords(sources.snapshots, cached));
  if (loaded === null) return null;
  const maxBuild = sources.maxQueryBuildChunks ?? MAX_BUILD_CHUNKS_IN_A_QUERY;
  if (build && sources.keywords !== undefined && loaded.ids.length <= maxBuild) {
    try {
      await sources.keywords.build(
        botId,
        version,
        loaded.ids.map((chunkId, row) => ({ chunkId, terms: loaded.terms[row] as string[] })),
      );
    } catch (error) {
      sources.warn('Keyword index not stored', { botId, error });
    }
  }
  return {
    score: (buffer) => loaded.index.score(query.terms, query.bm25, buffer),
    texts: async (rows) => rows.map((row) => loaded.texts[row] as string),
    source: 'in-process',
  };
}
