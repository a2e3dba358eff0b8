import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { searchBatchRequestSchema, searchQueryOf } from '../src/domain/search-request';
import { ValidationError } from '../src/errors';
import { parseJsonBody, pathParameter } from '../src/http/request';
import { json } from '../src/http/responses';
import { httpRoute } from '../src/http/route';
import { searchResponseBody } from '../src/http/search-response';
import { requireOwnedBot } from '../src/use-cases/authorize-bot';
import { keywordQueryOf } from '../src/use-cases/keyword-search';
import { httpDeps, httpLogger } from '../src/wiring/http';

/**
 * POST /bots/{botId}/search/batch: up to 32 searches of one bot, each answered exactly as
 * POST /bots/{botId}/search would answer it, in request order. Every query is checked before any runs.
 */
export const handler = httpRoute(httpLogger, async (event) => {
  const deps = httpDeps();
  const userId = await deps.authenticate(event);
  const botId = pathParameter(event, 'botId');
  const bot = await requireOwnedBot(deps.bots, botId, userId);
  const { searches } = parseJsonBody(event, searchBatchRequestSchema);
  searches.forEach((search, i) => {
    if (search.query_text !== undefined) {
      try {
        keywordQueryOf(search.query_text, undefined, bot);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        const field = `searches[${i}].query_text`;
        throw new ValidationError(`${field}: ${error.message}`, field, { cause: error });
      }
    }
    if (search.embedding !== undefined && search.embedding.length !== bot.embedding_dimension) {
      const field = `searches[${i}].embedding`;
      throw new ValidationError(
        `${field}: has ${search.embedding.length} dimensions, bot ${botId} uses ${bot.embedding_dimension}`,
        field,
      );
    }
  });
  const answers = [];
  for (const [i, search] of searches.entries()) {
    try {
      const result = await deps.search(botId, search.embedding, { bot, ...searchQueryOf(search) });
      deps.metrics.addMetric(
        result.source === 'snapshot' ? 'SearchFromSnapshot' : 'SearchFromDynamoDb',
        MetricUnit.Count,
        1,
      );
      answers.push(searchResponseBody(result));
    } catch (error) {
      if (error instanceof ValidationError) {
        const field = `searches[${i}].${error.field}`;
        throw new ValidationError(`${field}: ${error.message}`, field, { cause: error });
      }
      throw error;
    }
  }
  deps.metrics.publishStoredMetrics();
  return json(200, { searches: answers });
});
