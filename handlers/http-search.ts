import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { searchRequestSchema } from '../src/domain/search-request';
import { botIdParameter, parseJsonBody } from '../src/http/request';
import { json } from '../src/http/responses';
import { httpRoute } from '../src/http/route';
import { requireOwnedBot } from '../src/use-cases/authorize-bot';
import { httpDeps, httpLogger } from '../src/wiring/http';

/** POST /bots/{botId}/search: the caller's bot's top chunks for an embedding. */
export const handler = httpRoute(httpLogger, async (event) => {
  const deps = httpDeps();
  const userId = await deps.authenticate(event);
  const botId = botIdParameter(event);
  const bot = await requireOwnedBot(deps.bots, botId, userId);
  const request = parseJsonBody(event, searchRequestSchema);
  const { results, source } = await deps.search(botId, request.embedding, {
    bot,
    limit: request.limit,
    ...(request.score_threshold === undefined ? {} : { scoreThreshold: request.score_threshold }),
    ...(request.filter === undefined ? {} : { filter: request.filter }),
  });
  // The snapshot hit rate is what tells whether the cache works (a low rate means rebuild churn).
  deps.metrics.addMetric(
    source === 'snapshot' ? 'SearchFromSnapshot' : 'SearchFromDynamoDb',
    MetricUnit.Count,
    1,
  );
  deps.metrics.publishStoredMetrics();
  return json(200, { results, source });
});
