import type { SearchFilter } from './search-request';
import type { ChunkMetadata } from './types';

/** What a filter looks at in a chunk (a snapshot row or a chunk read from DynamoDB). */
export type FilterableChunk = { filename: string; metadata: ChunkMetadata };

/** A filter compiled once per query: a Set for filenames, key/value pairs for metadata. */
export type CompiledFilter = {
  filenames: ReadonlySet<string> | null;
  metadata: ReadonlyArray<readonly [string, unknown]>;
};

/** Compiles a request's filter; null when it filters nothing (no mask needed at all). */
export function compileFilter(filter: SearchFilter | undefined): CompiledFilter | null {
  if (filter === undefined) return null;
  const filenames =
    filter.filename === undefined
      ? null
      : new Set(typeof filter.filename === 'string' ? [filter.filename] : filter.filename);
  const metadata = Object.entries(filter.metadata ?? {});
  if (filenames === null && metadata.length === 0) return null;
  return { filenames, metadata };
}

/** Whether a chunk passes every condition of the filter. */
export function matchesFilter(chunk: FilterableChunk, filter: CompiledFilter): boolean {
  if (filter.filenames !== null && !filter.filenames.has(chunk.filename)) return false;
  for (const [key, value] of filter.metadata) {
    if (!Object.hasOwn(chunk.metadata, key) || chunk.metadata[key] !== value) return false;
  }
  return true;
}

/**
 * The row mask of a filter over a snapshot's rows (1 = the row takes part), built once per query so that
 * the scoring loop tests a byte instead of an object. `rowsByFilename` (when given) narrows a filename
 * filter to the rows of those files without looking at the others.
 */
export function filterMask(
  rows: ReadonlyArray<FilterableChunk>,
  filter: CompiledFilter,
  rowsByFilename?: ReadonlyMap<string, ReadonlyArray<number>>,
): Uint8Array {
  const mask = new Uint8Array(rows.length);
  if (filter.filenames !== null && rowsByFilename !== undefined) {
    for (const filename of filter.filenames) {
      for (const row of rowsByFilename.get(filename) ?? []) {
        if (matchesFilter(rows[row] as FilterableChunk, filter)) mask[row] = 1;
      }
    }
    return mask;
  }
  for (let row = 0; row < rows.length; row++) {
    if (matchesFilter(rows[row] as FilterableChunk, filter)) mask[row] = 1;
  }
  return mask;
}

/** Row indices per filename, for `filterMask`. Built once per cached snapshot. */
export function indexRowsByFilename(rows: ReadonlyArray<FilterableChunk>): Map<string, number[]> {
  const index = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const list = index.get(row.filename);
    if (list === undefined) index.set(row.filename, [i]);
    else list.push(i);
  });
  return index;
}
