/**
 * What a search container may hold between searches, from the memory it has: the snapshot cache's byte
 * budget and the keyword index's held chunk ids. The keyword postings a held copy's queries read come on
 * top, at most a 16th of that copy (`HELD_POSTINGS_SHARE` in src/use-cases/search/sources/held-postings.ts).
 */
import { DEFAULT_SNAPSHOT_CACHE_BYTES } from './cache';

/** The memory (MB, as Lambda sets it) of the search functions in serverless.yml by default. */
export const DEFAULT_SEARCH_MEMORY_MB = 1769;

/**
 * Snapshot cache bytes for each byte of keyword chunk ids held: a chunk's held ids cost about 140 bytes
 * against about 2,100 for its whole held copy, so an eighth holds the ids of every bot the cache holds.
 */
const CACHE_BYTES_PER_KEYWORD_ID_BYTE = 8;

export type ContainerBudgets = { snapshotCacheBytes: number; keywordIdBytes: number };

/**
 * The budgets of a container with `memoryMb` of memory (Lambda's AWS_LAMBDA_FUNCTION_MEMORY_SIZE): the
 * default budget's share of it, 512 MiB for every 1,769 MB (29%). The rest holds Node and the modules,
 * the buffers of a read under way, and a bot's next version, read while its held copy still answers
 * (two copies of one bot at once). A 1M-chunk 384-d bot held whole counts about 2.0 GiB (float32
 * vectors, the int8 copy, rows): it is held from 7,168 MB of memory (2.0 GiB of budget); measured, such a
 * container peaks at 2.7 GiB of RSS with it. Unknown memory (not in Lambda): the default budget.
 */
export function containerBudgets(memoryMb: number | undefined): ContainerBudgets {
  const snapshotCacheBytes =
    memoryMb === undefined
      ? DEFAULT_SNAPSHOT_CACHE_BYTES
      : Math.floor((DEFAULT_SNAPSHOT_CACHE_BYTES * memoryMb) / DEFAULT_SEARCH_MEMORY_MB);
  return {
    snapshotCacheBytes,
    keywordIdBytes: Math.floor(snapshotCacheBytes / CACHE_BYTES_PER_KEYWORD_ID_BYTE),
  };
}
