import { toBotView } from '../src/domain/bot-view';
import { botIdParameter } from '../src/http/request';
import { json } from '../src/http/responses';
import { httpRoute } from '../src/http/route';
import { requireOwnedBot } from '../src/use-cases/authorize-bot';
import { httpDeps, httpLogger } from '../src/wiring/http';

/** GET /bots/{botId}: the caller's bot record (a deleted bot still shows, with status `deleted`). */
export const handler = httpRoute(httpLogger, async (event) => {
  const deps = httpDeps();
  const userId = await deps.authenticate(event);
  const botId = botIdParameter(event);
  const bot = await requireOwnedBot(deps.bots, botId, userId, { allowDeleted: true });
  return json(200, toBotView(bot));
});
