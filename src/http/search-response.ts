import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SearchResult } from '../use-cases/search';

/** What a search whose answer exceeds Lambda's response limit can ask for instead (its 413 says it). */
export const SEARCH_TOO_LARGE =
  'ask for fewer results (limit, group_size, fewer searches per batch) or leave out with_vectors; the texts and metadata of the results decide the rest of the size';

/**
 * The body of one search answer: `results`, or `groups` when the request grouped them, and with
 * query_text `keyword_matches`.
 */
export function searchResponseBody(result: SearchResult): Record<string, unknown> {
  const matches = result.keywordMatches === undefined ? {} : { keyword_matches: result.keywordMatches };
  return result.groups === undefined
    ? { source: result.source, results: result.results, ...matches }
    : { source: result.source, groups: result.groups, ...matches };
}

/**
 * Counts where a search was answered from. The snapshot hit rate is what tells whether the cache works
 * (a low rate means rebuild churn).
 */
export function countSearchSource(
  metrics: { addMetric(name: string, unit: typeof MetricUnit.Count, value: number): unknown },
  result: Pick<SearchResult, 'source'>,
): void {
  metrics.addMetric(
    result.source === 'snapshot' ? 'SearchFromSnapshot' : 'SearchFromDynamoDb',
    MetricUnit.Count,
    1,
  );
}
