import { putAliasRequestSchema } from '../src/contracts/bot-request';
import { parseJsonBody, pathParameter } from '../src/http/request';
import { json } from '../src/http/responses';
import { httpRoute } from '../src/http/route';
import { checkAliasName } from '../src/use-cases/aliases';
import { type HttpDeps, httpDeps } from '../src/wiring/http';

/**
 * PUT /aliases/{alias} `{"bot_id": ...}`: points the caller's alias at the caller's bot, creating it (201)
 * or moving it (200) in one conditional write. Read and search routes accept the alias for a bot id.
 */
export const makePutAliasHandler = (wiring: () => HttpDeps) =>
  httpRoute(
    () => wiring().logger,
    async (event) => {
      const deps = wiring();
      const userId = await deps.authenticate(event);
      const alias = pathParameter(event, 'alias');
      checkAliasName(alias);
      const { bot_id: botId } = parseJsonBody(event, putAliasRequestSchema);
      const { created } = await deps.putAlias(alias, botId, userId);
      return json(created ? 201 : 200, { alias, bot_id: botId });
    },
  );

export const handler = makePutAliasHandler(httpDeps);
