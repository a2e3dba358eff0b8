import { toBotView } from '../src/domain/bot-view';
import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { type HttpDeps, httpDeps } from '../src/wiring/http';

/**
 * GET /bots/{botId}: the caller's bot record (a deleted bot still shows, with status `deleted`) and the
 * names of its aliases. `botId` may be an alias: the answer is the bot it points at.
 */
export const makeGetBotHandler = (wiring: () => HttpDeps) =>
  botRoute(wiring, 'reader-even-deleted', async ({ deps, bot }) =>
    json(200, { ...toBotView(bot), aliases: await deps.aliasesOf(bot.bot_id) }),
  );

export const handler = makeGetBotHandler(httpDeps);
