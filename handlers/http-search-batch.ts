import { performance } from 'node:perf_hooks';
import { BATCH_DEADLINE_MS, checkBatchTerms, checkSearchShape } from '../src/contracts/response-limits';
import { searchBatchRequestSchema, searchQueryOf } from '../src/contracts/search-request';
import { keywordQueryOf } from '../src/domain/ranking/keyword-query';
import { UnavailableError, ValidationError } from '../src/errors';
import { parseJsonBody } from '../src/http/request';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { countSearchSource, SEARCH_TOO_LARGE, searchResponseBody } from '../src/http/search-response';
import { type SnapshotHttpDeps, snapshotHttpDeps } from '../src/wiring/http-snapshots';

/** Runs `check`, naming `field` in the ValidationError it throws. */
async function within<T>(field: (error: ValidationError) => string, check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const name = field(error);
    throw new ValidationError(`${name}: ${error.message}`, name, { cause: error });
  }
}

/** The batch's clock: `now()` in milliseconds, and how long a batch may run (tests pass their own). */
export type BatchClock = { now(): number; deadlineMs: number };

const realClock: BatchClock = { now: () => performance.now(), deadlineMs: BATCH_DEADLINE_MS };

/**
 * POST /bots/{botId}/search/batch: up to 32 searches of one bot, each answered exactly as
 * POST /bots/{botId}/search would answer it, in request order. Every query is checked before any runs,
 * and so is the whole answer's shape (results, vector values, keyword terms: src/domain/response-limits.ts).
 * A batch still running at its deadline stops and answers 503 (API Gateway would give up at 29 s).
 */
export const makeSearchBatchHandler = (wiring: () => SnapshotHttpDeps, clock: BatchClock = realClock) =>
  botRoute(wiring, 'reader', async ({ event, deps, botId, bot }) => {
    const startedAt = clock.now();
    const { searches } = parseJsonBody(event, searchBatchRequestSchema, { exactIntegersUnder: ['has_id'] });
    checkSearchShape(searches, bot.embedding_dimension, 'searches');
    const termCounts: number[] = [];
    for (const [i, search] of searches.entries()) {
      if (search.query_text !== undefined) {
        const text = search.query_text;
        const keywords = await within(
          () => `searches[${i}].query_text`,
          () => keywordQueryOf(text, undefined, bot),
        );
        termCounts.push(keywords.terms.length);
      }
      if (search.embedding !== undefined && search.embedding.length !== bot.embedding_dimension) {
        const field = `searches[${i}].embedding`;
        throw new ValidationError(
          `${field}: has ${search.embedding.length} dimensions, bot ${botId} uses ${bot.embedding_dimension}`,
          field,
        );
      }
    }
    checkBatchTerms(termCounts);
    const answers = [];
    for (const [i, search] of searches.entries()) {
      if (clock.now() - startedAt > clock.deadlineMs) {
        throw new UnavailableError(
          `the batch ran past its ${clock.deadlineMs / 1000} s deadline after ${i} of ${searches.length} searches; send fewer searches per batch (or the same again later)`,
          'deadline',
          1,
        );
      }
      const result = await within(
        (error) => `searches[${i}].${error.field}`,
        () => deps.search(botId, search.embedding, { bot, ...searchQueryOf(search) }),
      );
      countSearchSource(deps.metrics, result);
      answers.push(searchResponseBody(result));
    }
    deps.metrics.publishStoredMetrics();
    return json(200, { searches: answers }, SEARCH_TOO_LARGE);
  });

export const handler = makeSearchBatchHandler(snapshotHttpDeps);
