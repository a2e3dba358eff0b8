/**
 * Keyword and hybrid search (docs/api.md, "Keyword and hybrid search"): BM25 over the bot's chunk texts,
 * alone or fused with cosine similarity. The in-process keyword index of a snapshot is derived from the
 * snapshot's own texts, read at one snapshot version and kept per version, so it can never describe
 * another state than the vectors it is fused with (snapshot-bm25.ts picks between it and the Redis index);
 * the DynamoDB fallback builds the same index from its full read.
 */
import { type Bm25Params, DEFAULT_BM25, KeywordIndex, MAX_QUERY_TERMS } from '../domain/bm25';
import { bothMasks, isShown, visibleVersions } from '../domain/document-version';
import { topFusedCandidates } from '../domain/fused-candidates';
import { DEFAULT_FUSION, type FusedScore, type Fusion } from '../domain/fusion';
import { rankHybrid } from '../domain/hybrid-ranking';
import { DEFAULT_TOKENISER, tokenise } from '../domain/keyword-text';
import { dotRow, type ScoreBuffer, scoreRows, type TopKKernel, writeUnitVector } from '../domain/scoring';
import { type CompiledFilter, filterMask, matchesFilter } from '../domain/search-filter';
import type { Ranked, Ranker } from '../domain/search-ranking';
import { emptyHeadFusionStats, fuseFromHead } from '../domain/threshold-fusion';
import type { BotCollection, StoredChunk } from '../domain/types';
import { ValidationError } from '../errors';
import type { CachedSnapshot, SnapshotStore } from '../snapshot';

/** A validated keyword query: its terms, how to fuse, the bot's BM25 parameters. */
export type KeywordQuery = { terms: string[]; fusion: Fusion; bm25: Bm25Params };

/**
 * The query's terms, checked.
 * @throws ValidationError (field `query_text`) when it has no terms (empty, or stop words only) or more
 *   than MAX_QUERY_TERMS.
 */
export function keywordQueryOf(
  queryText: string,
  fusion: Fusion | undefined,
  bot: BotCollection,
): KeywordQuery {
  const terms = tokenise(queryText, DEFAULT_TOKENISER);
  if (terms.length === 0) {
    throw new ValidationError(
      'query_text has no searchable terms (it is empty or only stop words)',
      'query_text',
    );
  }
  if (terms.length > MAX_QUERY_TERMS) {
    throw new ValidationError(
      `query_text has ${terms.length} terms, at most ${MAX_QUERY_TERMS} are allowed`,
      'query_text',
    );
  }
  return { terms, fusion: fusion ?? DEFAULT_FUSION, bm25: bm25Of(bot) };
}

/** The bot's BM25 parameters (PUT /bots/{botId} sets them), defaults k1 1.2, b 0.75. */
export function bm25Of(bot: BotCollection): Bm25Params {
  return { k1: bot.bm25_k1 ?? DEFAULT_BM25.k1, b: bot.bm25_b ?? DEFAULT_BM25.b };
}

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
  // A small bot's copy holds its texts, read at its version (snapshot-cache.ts): no second read, no copy.
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

/**
 * Ranked snapshot rows (candidate i = row `rows[i]`) with their scores, and how many candidates (chunks
 * that pass the filter) match a query term.
 */
export type KeywordRanking<T> = {
  ranked: Ranked<T>;
  scoresOf: (ref: T) => FusedScore;
  keywordMatches: number;
};

/** How often hybrid search proved its fused top from the vector head (read by the bench). */
export const headFusionStats = emptyHeadFusionStats();

/**
 * Keyword or hybrid ranking of a cached snapshot's rows. With `kernel`, an ungrouped hybrid query first
 * tries the fused top from the kernel's vector head; otherwise (and when that is not proven) every
 * candidate's cosine is computed.
 */
export function rankSnapshotKeywords(
  cached: CachedSnapshot,
  keywords: { scores: Float64Array; matched: number[] },
  unitQuery: Float64Array | null,
  query: KeywordQuery,
  filter: CompiledFilter | null,
  ranker: Ranker<number>,
  scoreThreshold: number | undefined,
  buffer?: ScoreBuffer,
  kernel?: TopKKernel,
): KeywordRanking<number> {
  const { snapshot } = cached;
  const rowCount = snapshot.rows.length;
  const mask = bothMasks(
    cached.visible,
    filter === null ? undefined : filterMask(snapshot.rows, filter, cached.rowsByFilename),
  );
  const { scores: bm25, matched } = keywords;
  const idOf = (row: number) => cached.ids[row] as string;
  const groupOf = (row: number) => snapshot.rows[row]?.filename as string;
  const candidateMatches = matched.filter((row) => mask === undefined || mask[row] !== 0);
  const keywordMatches = candidateMatches.length;
  if (unitQuery !== null && !ranker.grouped && kernel !== undefined) {
    // The fused top from the vector head of the native kernel, when the bound proves it
    // (src/domain/threshold-fusion.ts); every row's cosine is computed only when it does not.
    const { vectors, dimension } = snapshot;
    let candidateCount = rowCount;
    if (mask !== undefined) for (let row = 0; row < rowCount; row++) if (mask[row] === 0) candidateCount--;
    const head = fuseFromHead(
      {
        unitQuery,
        candidateCount,
        rowCount,
        mask,
        bm25,
        matched: candidateMatches,
        idOf,
        cosineOf: (row) => dotRow(vectors, row * dimension, unitQuery, dimension),
        head: (query, k) =>
          kernel.topK(vectors, dimension, rowCount, query, idOf, {
            k,
            ...(mask === undefined ? {} : { mask }),
          }),
      },
      query.fusion,
      ranker.selectorFor('').k,
      headFusionStats,
    );
    if (head !== null) {
      const cosine = buffer?.take(rowCount) ?? new Float64Array(rowCount);
      head.rows.forEach((row, i) => {
        cosine[row] = head.vector[i] as number;
      });
      return {
        ...rankRows(head.rows, idOf, groupOf, cosine, bm25, query, ranker, scoreThreshold, head.fused),
        keywordMatches,
      };
    }
  }
  const cosine =
    unitQuery === null
      ? null
      : scoreRows(snapshot.vectors, snapshot.dimension, rowCount, unitQuery, mask, buffer);
  if (cosine !== null && !ranker.grouped) {
    // Only the candidates that can reach the top need ranks and ids (src/domain/fused-candidates.ts).
    const keep = ranker.selectorFor('').k;
    const few = topFusedCandidates({ rowCount, mask, cosine, bm25, matched, idOf }, query.fusion, keep);
    if (few !== null) {
      return {
        ...rankRows(few.rows, idOf, groupOf, cosine, bm25, query, ranker, scoreThreshold, few.fused),
        keywordMatches,
      };
    }
  }
  const rows: number[] = [];
  for (let row = 0; row < rowCount; row++) {
    if (mask !== undefined && mask[row] === 0) continue;
    if (cosine === null && (bm25[row] as number) <= 0) continue;
    rows.push(row);
  }
  return { ...rankRows(rows, idOf, groupOf, cosine, bm25, query, ranker, scoreThreshold), keywordMatches };
}

/**
 * Keyword or hybrid ranking of every chunk of a bot read from DynamoDB (the chunks with an embedding of
 * `dimension`, as the snapshot keeps). BM25 statistics cover all of them; the filter then picks candidates.
 */
export function rankChunkKeywords(
  chunks: readonly StoredChunk[],
  dimension: number,
  unitQuery: Float64Array | null,
  query: KeywordQuery,
  filter: CompiledFilter | null,
  ranker: Ranker<number>,
  scoreThreshold: number | undefined,
): { ranking: KeywordRanking<number>; kept: StoredChunk[] } {
  const latest = new Map<string, StoredChunk>();
  // The snapshot keeps the chunks whose embedding is a finite vector of the bot's dimension: so does this.
  for (const chunk of chunks) {
    if (chunk.embedding.length === dimension && chunk.embedding.every(Number.isFinite)) {
      latest.set(chunk.chunk_id, chunk);
    } else latest.delete(chunk.chunk_id);
  }
  const kept = [...latest.values()];
  const index = new KeywordIndex(kept.map((chunk) => tokenise(chunk.text, DEFAULT_TOKENISER)));
  const bm25 = index.score(query.terms, query.bm25).scores;
  let cosine: Float64Array | null = null;
  // Only the version each document shows may be returned, as from the snapshot (document-version.ts).
  const visible = visibleVersions(kept);
  const mask = new Uint8Array(kept.length);
  kept.forEach((chunk, i) => {
    mask[i] = isShown(chunk, visible) && (filter === null || matchesFilter(chunk, filter)) ? 1 : 0;
  });
  if (unitQuery !== null) {
    // Packed float32 unit vectors scored by the snapshot's own loop: equal scores, bit for bit.
    const vectors = new Float32Array(kept.length * dimension);
    kept.forEach((chunk, i) => {
      writeUnitVector(chunk.embedding, vectors, i * dimension);
    });
    cosine = scoreRows(vectors, dimension, kept.length, unitQuery, mask, undefined);
  }
  const rows: number[] = [];
  for (let row = 0; row < kept.length; row++) {
    if (mask[row] === 0) continue;
    if (cosine === null && (bm25[row] as number) <= 0) continue;
    rows.push(row);
  }
  let keywordMatches = 0;
  for (let row = 0; row < kept.length; row++)
    if (mask[row] !== 0 && (bm25[row] as number) > 0) keywordMatches++;
  const ranked = rankRows(
    rows,
    (row) => (kept[row] as StoredChunk).chunk_id,
    (row) => (kept[row] as StoredChunk).filename,
    cosine,
    bm25,
    query,
    ranker,
    scoreThreshold,
  );
  return { ranking: { ...ranked, keywordMatches }, kept };
}

function rankRows(
  rows: readonly number[],
  idOf: (row: number) => string,
  groupOf: (row: number) => string,
  cosine: Float64Array | null,
  bm25: Float64Array,
  query: KeywordQuery,
  ranker: Ranker<number>,
  scoreThreshold: number | undefined,
  fused?: Float64Array,
): Omit<KeywordRanking<number>, 'keywordMatches'> {
  const n = rows.length;
  const keyword = new Float64Array(n);
  const vector = cosine === null ? null : new Float64Array(n);
  const ids: string[] = new Array(n);
  const groups: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row = rows[i] as number;
    keyword[i] = bm25[row] as number;
    if (vector !== null) vector[i] = (cosine as Float64Array)[row] as number;
    ids[i] = idOf(row);
    groups[i] = ranker.grouped ? groupOf(row) : '';
  }
  const { ranked, scoresOf } = rankHybrid(
    { ids, groups, vector, keyword, ...(fused === undefined ? {} : { fused }) },
    query.fusion,
    ranker,
    scoreThreshold,
  );
  const asRow = (i: number) => rows[i] as number;
  const hits = ranked.hits.map((hit) => ({ ...hit, ref: asRow(hit.ref) }));
  const candidateOf = new Map(ranked.hits.map((hit) => [asRow(hit.ref), hit.ref]));
  return {
    ranked: {
      hits,
      groups: ranked.groups?.map((group) => ({
        id: group.id,
        hits: group.hits.map((hit) => ({ ...hit, ref: asRow(hit.ref) })),
      })),
    },
    scoresOf: (row) => scoresOf(candidateOf.get(row) as number),
  };
}
