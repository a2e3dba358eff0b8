/**
 * Keyword postings read from the Redis index, held with the copy of the snapshot they were read for
 * (docs/snapshot.md, "The keyword index"): by term, in rows, with the statistics BM25 needs. A version never
 * returns and its postings never change, so they serve every later query of those terms at that version.
 * They go with the copy (a weak map on it), and within it the least recently used terms go first once
 * HELD_POSTINGS_SHARE of its bytes is taken.
 */
import { LRUCache } from 'lru-cache';
import type { RowPostings } from '../../../domain/ranking/bm25';
import type { CachedSnapshot, KeywordPostings } from '../../../snapshot';

/**
 * Share of a held copy's own bytes (`CachedSnapshot.bytes`) that the postings held with it may take. A term
 * matching a tenth of the chunks holds 1.2 bytes a chunk, against the copy's 2 KB or more a chunk (384-d
 * float32 vectors alone are 1.5 KB), so a 16th holds about a hundred such terms.
 */
export const HELD_POSTINGS_SHARE = 1 / 16;

/** Bytes of postings any held copy may hold, however small: a small bot's terms cost next to nothing. */
const HELD_POSTINGS_MIN_BYTES = 64 * 1024;

/**
 * Queries scored from the Redis index with every term's postings held with the copy, and with some read
 * (read by the bench); a query counts once, when it is scored.
 */
export const heldPostingsStats = { held: 0, read: 0 };

/** Bytes a term's postings by row take when held: row, tf and length as 4 bytes each, and the arrays. */
const heldBytes = (postings: RowPostings) => 12 * postings.rows.length + 192;

/** What one copy holds: the index's chunk count and total length at its version, and postings by term. */
export type HeldPostings = { docCount: number; totalLength: number; terms: LRUCache<string, RowPostings> };

const heldPostings = new WeakMap<CachedSnapshot, HeldPostings>();

/**
 * What the copy holds of a query's distinct terms (`terms`, in order): each term's postings where held,
 * and the terms whose postings are to be read.
 */
export type HeldLookup = {
  held: HeldPostings | undefined;
  terms: readonly string[];
  byTerm: (RowPostings | undefined)[];
  missing: string[];
};

export function lookUpHeld(cached: CachedSnapshot, terms: readonly string[]): HeldLookup {
  const held = heldPostings.get(cached);
  const byTerm = terms.map((term) => held?.terms.get(term));
  const missing = terms.filter((_, i) => byTerm[i] === undefined);
  return { held, terms, byTerm, missing };
}

/** Holds `byRow` (the postings of `terms`, in order) read from the Redis index at the copy's version. */
export function holdPostings(
  cached: CachedSnapshot,
  stored: Pick<KeywordPostings, 'docCount' | 'totalLength'>,
  terms: readonly string[],
  byRow: readonly RowPostings[],
): void {
  let held = heldPostings.get(cached);
  if (held === undefined) {
    held = {
      docCount: stored.docCount,
      totalLength: stored.totalLength,
      terms: new LRUCache<string, RowPostings>({
        maxSize: Math.max(HELD_POSTINGS_MIN_BYTES, Math.floor(cached.bytes * HELD_POSTINGS_SHARE)),
        sizeCalculation: heldBytes,
      }),
    };
    heldPostings.set(cached, held);
  }
  const { terms: byTerm } = held;
  terms.forEach((term, i) => {
    byTerm.set(term, byRow[i] as RowPostings);
  });
}

/** Drops all the postings held with the copy. */
export function dropHeldPostings(cached: CachedSnapshot): void {
  heldPostings.delete(cached);
}
