import { searchBatchRequestSchema, searchQueryOf } from '../src/domain/search-request';
import { ValidationError } from '../src/errors';
import { parseJsonBody } from '../src/http/request';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { countSearchSource, searchResponseBody } from '../src/http/search-response';
import { keywordQueryOf } from '../src/use-cases/keyword-search';
import { type HttpDeps, httpDeps } from '../src/wiring/http';

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

/**
 * POST /bots/{botId}/search/batch: up to 32 searches of one bot, each answered exactly as
 * POST /bots/{botId}/search would answer it, in request order. Every query is checked before any runs.
 */
export const makeSearchBatchHandler = (wiring: () => HttpDeps) =>
  botRoute(wiring, 'owner', async ({ event, deps, botId, bot }) => {
    const { searches } = parseJsonBody(event, searchBatchRequestSchema, { exactIntegersUnder: ['has_id'] });
    for (const [i, search] of searches.entries()) {
      if (search.query_text !== undefined) {
        const text = search.query_text;
        await within(
          () => `searches[${i}].query_text`,
          () => keywordQueryOf(text, undefined, bot),
        );
      }
      if (search.embedding !== undefined && search.embedding.length !== bot.embedding_dimension) {
        const field = `searches[${i}].embedding`;
        throw new ValidationError(
          `${field}: has ${search.embedding.length} dimensions, bot ${botId} uses ${bot.embedding_dimension}`,
          field,
        );
      }
    }
    const answers = [];
    for (const [i, search] of searches.entries()) {
      const result = await within(
        (error) => `searches[${i}].${error.field}`,
        () => deps.search(botId, search.embedding, { bot, ...searchQueryOf(search) }),
      );
      countSearchSource(deps.metrics, result);
      answers.push(searchResponseBody(result));
    }
    deps.metrics.publishStoredMetrics();
    return json(200, { searches: answers });
  });

export const handler = makeSearchBatchHandler(httpDeps);
