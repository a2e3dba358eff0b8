import { toBotView } from '../src/domain/bot-view';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { type HttpDeps, httpDeps } from '../src/wiring/http';

/** GET /bots/{botId}: the caller's bot record (a deleted bot still shows, with status `deleted`). */
export const makeGetBotHandler = (wiring: () => HttpDeps) =>
  botRoute(wiring, 'owner-even-deleted', async ({ bot }) => json(200, toBotView(bot)));

export const handler = makeGetBotHandler(httpDeps);
