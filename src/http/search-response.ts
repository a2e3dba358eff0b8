import type { SearchResult } from '../use-cases/search';

/** The body of one search answer: `results`, or `groups` when the request grouped them. */
export function searchResponseBody(
  result: SearchResult,
):
  | { source: SearchResult['source']; results: SearchResult['results'] }
  | Pick<SearchResult, 'source' | 'groups'> {
  return result.groups === undefined
    ? { source: result.source, results: result.results }
    : { source: result.source, groups: result.groups };
}
