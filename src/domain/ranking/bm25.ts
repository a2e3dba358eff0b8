/**
 * Okapi BM25 over one bot's chunks, exact: every chunk that holds a query term is scored, none is
 * skipped. For a query of distinct terms q (in first-occurrence order), chunk d scores
 *   sum over q of idf(q) * tf(q,d) * (k1 + 1) / (tf(q,d) + k1 * (1 - b + b * |d| / avgdl))
 * with idf(q) = ln(1 + (N - df(q) + 0.5) / (df(q) + 0.5)) (the always-positive form Lucene uses),
 * N the chunk count, |d| the chunk's term count and avgdl the mean of |d|. The terms added in that
 * order make the score bit-for-bit reproducible by any implementation that sums the same way.
 */

import type { ScoreBuffer } from './scoring';

export type Bm25Params = { k1: number; b: number };

export const DEFAULT_BM25: Bm25Params = { k1: 1.2, b: 0.75 };

/** A query's terms may not exceed this many (a longer `query_text` is refused). */
export const MAX_QUERY_TERMS = 1000;

/** `rows` zeros: the buffer's (reused across queries: no fresh memory to touch) or a new array. */
function zeroed(rows: number, buffer: ScoreBuffer | undefined): Float64Array {
  if (buffer === undefined) return new Float64Array(rows);
  const scores = buffer.take(rows);
  scores.fill(0);
  return scores;
}

/** A term's idf (the formula above), computed once per term and query. */
export function bm25Idf(df: number, docCount: number): number {
  return Math.log(1 + (docCount - df + 0.5) / (df + 0.5));
}

/**
 * One term's contribution to one chunk's score, given the term's `bm25Idf` (the formula above, in one
 * place). Always positive: idf > 0 (N >= df) and tf (k1 + 1) / (tf + k1 * norm) > 0 for tf >= 1,
 * k1 >= 0, b in [0, 1].
 */
export function bm25Term(
  tf: number,
  docLength: number,
  idf: number,
  averageLength: number,
  params: Bm25Params,
): number {
  const norm = averageLength === 0 ? 1 : 1 - params.b + (params.b * docLength) / averageLength;
  return (idf * tf * (params.k1 + 1)) / (tf + params.k1 * norm);
}

/**
 * The rows of several ascending lists, each once, ascending: a merge (one pass over every list, the least
 * head taken each step), where sorting the matches costs several times more on common terms. Written into
 * the buffer's rows when one is given (overwritten by its next use), so a warm container's query touches
 * no fresh memory for them: on common terms, tens of thousands of rows.
 */
export function unionAscending(lists: readonly ArrayLike<number>[], buffer?: ScoreBuffer): Int32Array {
  let total = 0;
  for (const list of lists) total += list.length;
  const union = buffer?.takeRows(total) ?? new Int32Array(total);
  if (lists.length === 1) {
    union.set(lists[0] as ArrayLike<number>);
    return union;
  }
  const at = new Int32Array(lists.length);
  let n = 0;
  for (;;) {
    let least = Number.POSITIVE_INFINITY;
    for (let l = 0; l < lists.length; l++) {
      const list = lists[l] as ArrayLike<number>;
      const i = at[l] as number;
      if (i < list.length && (list[i] as number) < least) least = list[i] as number;
    }
    if (least === Number.POSITIVE_INFINITY) return union.subarray(0, n);
    union[n++] = least;
    for (let l = 0; l < lists.length; l++) {
      const list = lists[l] as ArrayLike<number>;
      if (list[at[l] as number] === least) at[l] = (at[l] as number) + 1;
    }
  }
}

/** The distinct terms of a query, in first-occurrence order. */
export function distinctTerms(terms: readonly string[]): string[] {
  return [...new Set(terms)];
}

/** A term's postings: the rows that hold it and how often, rows ascending. */
type Postings = { rows: number[]; tfs: number[] };

/**
 * Postings, document frequencies and lengths of a fixed list of chunks (row i = the i-th text's terms).
 * Built once per snapshot version (or per DynamoDB read) and never mutated.
 */
export class KeywordIndex {
  readonly docCount: number;
  readonly totalLength: number;
  private readonly lengths: Uint32Array;
  private readonly postings = new Map<string, Postings>();

  constructor(termsPerRow: readonly (readonly string[])[]) {
    this.docCount = termsPerRow.length;
    this.lengths = new Uint32Array(this.docCount);
    let total = 0;
    const counts = new Map<string, number>();
    for (let row = 0; row < termsPerRow.length; row++) {
      const terms = termsPerRow[row] as readonly string[];
      this.lengths[row] = terms.length;
      total += terms.length;
      counts.clear();
      for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
      for (const [term, tf] of counts) {
        let list = this.postings.get(term);
        if (list === undefined) {
          list = { rows: [], tfs: [] };
          this.postings.set(term, list);
        }
        list.rows.push(row);
        list.tfs.push(tf);
      }
    }
    this.totalLength = total;
  }

  /** How many chunks hold the term. */
  documentFrequency(term: string): number {
    return this.postings.get(term)?.rows.length ?? 0;
  }

  /** Distinct terms held (for sizing). */
  get termCount(): number {
    return this.postings.size;
  }

  /**
   * BM25 of every row for the query: `scores` (length docCount, 0 where no term matches) and the rows
   * with a positive score, ascending.
   */
  score(
    queryTerms: readonly string[],
    params: Bm25Params,
    buffer?: ScoreBuffer,
  ): { scores: Float64Array; matched: Int32Array } {
    const scores = zeroed(this.docCount, buffer);
    const averageLength = this.docCount === 0 ? 0 : this.totalLength / this.docCount;
    const lists: number[][] = [];
    for (const term of distinctTerms(queryTerms)) {
      const list = this.postings.get(term);
      if (list === undefined) continue;
      lists.push(list.rows);
      const df = list.rows.length;
      const idf = bm25Idf(df, this.docCount);
      for (let i = 0; i < df; i++) {
        const row = list.rows[i] as number;
        const length = this.lengths[row] as number;
        scores[row] =
          (scores[row] as number) + bm25Term(list.tfs[i] as number, length, idf, averageLength, params);
      }
    }
    return { scores, matched: unionAscending(lists, buffer) };
  }
}

/** Postings of one query term as an index store returns them: parallel arrays, chunks by document number. */
export type TermPostings = {
  numbers: ArrayLike<number>;
  tfs: ArrayLike<number>;
  lengths: ArrayLike<number>;
};

/** Postings of one query term with each chunk named by its row: rows strictly ascending. */
export type RowPostings = { rows: Int32Array; tfs: ArrayLike<number>; lengths: ArrayLike<number> };

/**
 * The postings with each document number turned into its row, each term's rows in ascending order, or
 * null when a number names no row that `rowOf` knows, a row at or past `rowCount`, or a row twice (the
 * postings describe other chunks). Numbers are handed out in row order by a build, so a term's rows
 * usually ascend as read; chunks the stream added since may take free rows out of that order, and then
 * the term's postings are sorted here, once, rather than its matches at every query.
 */
export function postingsByRow(
  postings: readonly TermPostings[],
  rowOf: (number: number) => number | undefined,
  rowCount: number,
): RowPostings[] | null {
  const out: RowPostings[] = [];
  for (const list of postings) {
    const rows = new Int32Array(list.numbers.length);
    let ascending = true;
    for (let i = 0; i < rows.length; i++) {
      const row = rowOf(list.numbers[i] as number);
      if (row === undefined || !(row >= 0 && row < rowCount)) return null;
      rows[i] = row;
      if (i > 0 && row <= (rows[i - 1] as number)) ascending = false;
    }
    const byRow = ascending
      ? { rows, tfs: list.tfs, lengths: list.lengths }
      : sortedByRow(rows, list, rowCount);
    if (byRow === null) return null;
    out.push(byRow);
  }
  return out;
}

/** One term's postings ordered by row; null when a row occurs twice. */
function sortedByRow(rows: Int32Array, list: TermPostings, rowCount: number): RowPostings | null {
  const n = rows.length;
  const order = placesByRow(rows, rowCount);
  const sorted = new Int32Array(n);
  const tfs = new Uint32Array(n);
  const lengths = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const at = order[i] as number;
    const row = rows[at] as number;
    if (i > 0 && row === (sorted[i - 1] as number)) return null;
    sorted[i] = row;
    tfs[i] = list.tfs[at] as number;
    lengths[i] = list.lengths[at] as number;
  }
  return { rows: sorted, tfs, lengths };
}

/**
 * The places of `rows` in ascending order of their rows. Each place sorts as one number, its row times
 * the list's length plus the place, so the sort needs no comparator while that stays exact (below 2^53).
 */
function placesByRow(rows: Int32Array, rowCount: number): ArrayLike<number> {
  const n = rows.length;
  if (rowCount * n >= 2 ** 53) {
    return Array.from({ length: n }, (_, i) => i).sort((a, b) => (rows[a] as number) - (rows[b] as number));
  }
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = (rows[i] as number) * n + i;
  keys.sort();
  for (let i = 0; i < n; i++) keys[i] = (keys[i] as number) % n;
  return keys;
}

/**
 * BM25 of every row from stored postings (the query's distinct terms, in first-occurrence order, each
 * with its postings by row as `postingsByRow` orders them, every row under `docCount`), summed in the
 * order `KeywordIndex.score` sums, so the scores are equal bit for bit; the matched rows are the union of
 * the terms' rows, merged.
 * @throws Error when a term's rows do not ascend (postings not made by `postingsByRow`): a bug.
 */
export function scoreFromPostings(
  postings: readonly RowPostings[],
  docCount: number,
  totalLength: number,
  params: Bm25Params,
  buffer?: ScoreBuffer,
): { scores: Float64Array; matched: Int32Array } {
  const scores = zeroed(docCount, buffer);
  const averageLength = docCount === 0 ? 0 : totalLength / docCount;
  for (const list of postings) {
    const df = list.rows.length;
    const idf = bm25Idf(df, docCount);
    let previous = -1;
    for (let i = 0; i < df; i++) {
      const row = list.rows[i] as number;
      if (row <= previous) throw new Error("a term's postings must list its rows in ascending order");
      previous = row;
      scores[row] =
        (scores[row] as number) +
        bm25Term(list.tfs[i] as number, list.lengths[i] as number, idf, averageLength, params);
    }
  }
  return {
    scores,
    matched: unionAscending(
      postings.map((list) => list.rows),
      buffer,
    ),
  };
}
