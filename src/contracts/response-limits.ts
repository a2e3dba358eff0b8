/**
 * What one HTTP answer may hold: a deployed function returns at most 6 MB (Lambda's synchronous response
 * payload, counted on the JSON envelope `{statusCode, headers, body}` in which the body is an escaped
 * string) and API Gateway waits at most 29 s. A search request is checked against the part of its answer
 * the request decides before any work (`checkSearchShape`); the part the data decides (texts, metadata,
 * ids) is measured when the answer is serialised (src/http/responses.ts).
 */

import { ValidationError } from '../errors';
import { DEFAULT_GROUP_SIZE, type SearchRequest } from './search-request';

/** Lambda's cap on a synchronous response: 6 MB (6,291,456 bytes) of serialised envelope. */
export const LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024;

/** Results (hits, counting every hit of every group) one response may carry, over all its searches. */
export const MAX_RESULTS_PER_RESPONSE = 1000;

/** Vector values (`with_vectors`: results x the bot's dimension) one response may carry. */
export const MAX_VECTOR_VALUES_PER_RESPONSE = 100_000;

/** Keyword terms over all the searches of one batch (a 1,000-term hybrid search takes about 1 s). */
export const MAX_BATCH_QUERY_TERMS = 1000;

/**
 * How long a batch search may run before it stops and answers 503: API Gateway gives up at 29 s, and
 * the margin covers a cold start and serialising the answer.
 */
export const BATCH_DEADLINE_MS = 24_000;

/** How long one search may run before it answers 503 instead, for the same reason. */
export const SEARCH_DEADLINE_MS = BATCH_DEADLINE_MS;

/**
 * The most bytes one returned vector value takes in the body: a float32 printed as the shortest double
 * that reads back the same has at most 17 significant digits, a sign and an exponent
 * (`-1.1754943508222875e-38`, 23 characters), plus its comma.
 */
export const MAX_VECTOR_VALUE_JSON_BYTES = 24;

/** Results a search request can return: `limit`, or `limit` groups of `group_size` hits. */
export function resultsOf(request: Pick<SearchRequest, 'limit' | 'group_by' | 'group_size'>): number {
  return request.group_by === undefined
    ? request.limit
    : request.limit * (request.group_size ?? DEFAULT_GROUP_SIZE);
}

/**
 * Checks, before any work, that the answer to `searches` stays within the per-response limits on results
 * and vector values. `field` is where the client fixes it (`limit` for one search, `searches` for a batch).
 * @throws ValidationError naming the limit and what the request asked for.
 */
export function checkSearchShape(
  searches: readonly Pick<SearchRequest, 'limit' | 'group_by' | 'group_size' | 'with_vectors'>[],
  dimension: number,
  field: string,
): void {
  let results = 0;
  let vectorValues = 0;
  for (const search of searches) {
    const count = resultsOf(search);
    results += count;
    if (search.with_vectors === true) vectorValues += count * dimension;
  }
  const what = searches.length === 1 ? 'this search' : `these ${searches.length} searches`;
  if (results > MAX_RESULTS_PER_RESPONSE) {
    throw new ValidationError(
      `${what} can return ${results} results (limit${searches.some((s) => s.group_by !== undefined) ? ' x group_size' : ''}, summed over the batch); one response carries at most ${MAX_RESULTS_PER_RESPONSE} (Lambda returns at most 6 MB): ask for fewer or split the batch`,
      field,
    );
  }
  if (vectorValues > MAX_VECTOR_VALUES_PER_RESPONSE) {
    throw new ValidationError(
      `${what} can return ${vectorValues} vector values (results x ${dimension} dimensions with with_vectors); one response carries at most ${MAX_VECTOR_VALUES_PER_RESPONSE} (Lambda returns at most 6 MB): ask for fewer results with vectors`,
      field,
    );
  }
}

/**
 * Checks that a batch's keyword queries, `termCounts` (one per search that has query_text), fit the batch's
 * deadline. @throws ValidationError (field `searches`) naming the limit.
 */
export function checkBatchTerms(termCounts: readonly number[]): void {
  const total = termCounts.reduce((sum, n) => sum + n, 0);
  if (total > MAX_BATCH_QUERY_TERMS) {
    throw new ValidationError(
      `these searches hold ${total} query_text terms in all; one batch holds at most ${MAX_BATCH_QUERY_TERMS} (each term costs a posting read and scoring, and a batch must answer within API Gateway's 29 s): split the batch`,
      'searches',
    );
  }
}
