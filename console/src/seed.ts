/**
 * "More like this" from a chunk shown on another view: the chunk's stored vector, handed to the search
 * view in memory (a vector is too long for a URL).
 */
export type Seed = { vector: number[]; label: string };

let pending: Seed | undefined;

/** Leaves a seed for the next search view to take. */
export function leaveSeed(seed: Seed): void {
  pending = seed;
}

/** The seed left for this view, once. */
export function takeSeed(): Seed | undefined {
  const seed = pending;
  pending = undefined;
  return seed;
}
