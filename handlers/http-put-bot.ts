import { putBotRequestSchema } from '../src/contracts/bot-request';
import { toBotView } from '../src/domain/bot-view';
import { parseJsonBody } from '../src/http/request';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { type HttpDeps, httpDeps } from '../src/wiring/http';

/** PUT /bots/{botId}: creates the bot owned by the caller (201) or updates the caller's own (200). */
export const makePutBotHandler = (wiring: () => HttpDeps) =>
  botRoute(wiring, 'caller', async ({ event, deps, userId, botId }) => {
    const request = parseJsonBody({ ...event, body: event.body || '{}' }, putBotRequestSchema);
    const { bot, created } = await deps.putBot(botId, userId, request);
    return json(created ? 201 : 200, toBotView(bot));
  });

export const handler = makePutBotHandler(httpDeps);
