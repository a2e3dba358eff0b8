/**
 * The best groups of a grouped vector query (a group ranks by its best row: higher score, then lower id)
 * from one approximate int8 scan, so a grouped search scores a few hundred rows instead of every row.
 *
 * The scan lists rows best first by an approximate score within `error` of the exact one. Walking it,
 * each candidate row gets its exact score and raises its group's best. Before row j, every row not yet
 * walked (listed later or left out of the scan) scores at most c = approx[j] + error. Once `limit`
 * groups have a best strictly above c, no row not walked can enter or reorder those groups' bests:
 * they are the top `limit` groups, and each one's best is exact. (When c falls under the score
 * threshold, no row not walked counts at all.) The caller then scores every row of those groups, so
 * each keeps its exact best `groupSize` rows, as scoring every row would give them.
 */

import { nthLargest } from './nth-largest';
import type { VectorScan } from './scoring';

export type GroupedScanInput = {
  /** The best `wanted` candidates by approximate score; null when the kernel cannot scan. */
  scan: (wanted: number) => VectorScan | null;
  candidateCount: number;
  /** Row i is a candidate when mask is absent or mask[i] !== 0. */
  mask: Uint8Array | undefined;
  groupOf: (row: number) => string;
  idOf: (row: number) => string;
  cosineOf: (row: number) => number;
  limit: number;
  /** Rows scoring under it take no part. */
  threshold: number;
};

/** Rows walked between two checks of the proof (a check costs a selection over the groups seen). */
const CHECK_EVERY = 16;
/** A scan that does not prove the groups is read again this many times deeper. */
const DEEPER = 4;
/** The deepest scan read, as a share of the candidates; past it the caller scores every row. */
const LARGEST_SHARE = 1 / 8;

/**
 * The top `limit` groups' names (in no particular order), or null when no scan is available or none
 * shallower than LARGEST_SHARE of the candidates proves them.
 */
export function bestGroupsFromScan(input: GroupedScanInput): string[] | null {
  const { candidateCount, limit } = input;
  if (limit < 1) return [];
  const cap = Math.max(1, Math.floor(candidateCount * LARGEST_SHARE));
  // Groups of 25 rows fill `limit` groups within a few times `limit` rows; the margin of the bound adds
  // the rows near the limit-th best.
  let wanted = Math.min(cap, Math.max(64, 8 * limit));
  const exact = new Map<number, number>();
  for (;;) {
    const read = input.scan(wanted);
    if (read === null) return null;
    const proven = walk(read, input, exact);
    if (proven !== null) return proven;
    if (read.complete || wanted >= cap) return null;
    wanted = Math.min(cap, wanted * DEEPER);
  }
}

type GroupBest = { score: number; id: string };

/** The proven top groups from one scan, or null when it stops before the proof holds. */
function walk(read: VectorScan, input: GroupedScanInput, exact: Map<number, number>): string[] | null {
  const { rows, approx, error, complete } = read;
  const { mask, threshold, limit } = input;
  const best = new Map<string, GroupBest>();
  const proven = (ceiling: number): string[] | null => {
    if (ceiling < threshold) return topGroups(best, limit);
    if (best.size < limit) return null;
    const scores = new Float64Array(best.size);
    let n = 0;
    for (const group of best.values()) scores[n++] = group.score;
    return nthLargest(scores, n, limit - 1) > ceiling ? topGroups(best, limit) : null;
  };
  for (let j = 0; j < rows.length; j++) {
    if (j % CHECK_EVERY === 0 && j > 0) {
      const done = proven((approx[j] as number) + error);
      if (done !== null) return done;
    }
    const row = rows[j] as number;
    if (mask !== undefined && mask[row] === 0) continue;
    let score = exact.get(row);
    if (score === undefined) {
      score = input.cosineOf(row);
      exact.set(row, score);
    }
    if (score < threshold) continue;
    const group = input.groupOf(row);
    const held = best.get(group);
    const id = input.idOf(row);
    if (held === undefined) best.set(group, { score, id });
    else if (score > held.score || (score === held.score && id < held.id)) {
      held.score = score;
      held.id = id;
    }
  }
  if (complete) return topGroups(best, limit);
  const last = approx[approx.length - 1];
  return last === undefined ? null : proven(last + error);
}

/** The `limit` groups ranking highest by their best row (score, then id). */
function topGroups(best: Map<string, GroupBest>, limit: number): string[] {
  return [...best]
    .sort(([, a], [, b]) => (a.score !== b.score ? b.score - a.score : a.id < b.id ? -1 : 1))
    .slice(0, limit)
    .map(([group]) => group);
}
