import { pathParameter } from '../src/http/request';
import { json } from '../src/http/responses';
import { httpRoute } from '../src/http/route';
import { checkAliasName } from '../src/use-cases/aliases';
import { type HttpDeps, httpDeps } from '../src/wiring/http';

/**
 * DELETE /aliases/{alias}: removes the caller's alias (the bot it pointed at is untouched). Containers that
 * resolved it stop doing so within the alias cache's TTL.
 */
export const makeDeleteAliasHandler = (wiring: () => HttpDeps) =>
  httpRoute(
    () => wiring().logger,
    async (event) => {
      const deps = wiring();
      const userId = await deps.authenticate(event);
      const alias = pathParameter(event, 'alias');
      checkAliasName(alias);
      await deps.deleteAlias(alias, userId);
      return json(200, { alias, status: 'deleted' });
    },
  );

export const handler = makeDeleteAliasHandler(httpDeps);
