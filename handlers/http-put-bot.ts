import { putBotRequestSchema } from '../src/domain/bot-request';
import { toBotView } from '../src/domain/bot-view';
import { botIdParameter, parseJsonBody } from '../src/http/request';
import { json } from '../src/http/responses';
import { httpRoute } from '../src/http/route';
import { putBot } from '../src/use-cases/put-bot';
import { httpDeps, httpLogger } from '../src/wiring/http';

/** PUT /bots/{botId}: creates the bot owned by the caller (201) or updates the caller's own (200). */
export const handler = httpRoute(httpLogger, async (event) => {
  const deps = httpDeps();
  const userId = await deps.authenticate(event);
  const botId = botIdParameter(event);
  const request = parseJsonBody({ ...event, body: event.body || '{}' }, putBotRequestSchema);
  const { bot, created } = await putBot(
    deps.bots,
    botId,
    userId,
    request,
    deps.config.defaultEmbeddingDimension,
  );
  return json(created ? 201 : 200, toBotView(bot));
});
