import { listBotsQuerySchema } from '../src/contracts/bot-request';
import { parseWith } from '../src/http/request';
import { json } from '../src/http/responses';
import { httpRoute } from '../src/http/route';
import { type SnapshotHttpDeps, snapshotHttpDeps } from '../src/wiring/http-snapshots';

/** GET /bots: one page of the caller's bots (deleted ones too), with counts and snapshot state. */
export const makeListBotsHandler = (wiring: () => SnapshotHttpDeps) =>
  httpRoute(
    () => wiring().logger,
    async (event) => {
      const deps = wiring();
      const userId = await deps.authenticate(event);
      const query = parseWith(listBotsQuerySchema, event.queryStringParameters ?? {});
      const page = await deps.listBots(userId, {
        limit: query.limit ?? 50,
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
      });
      return json(200, {
        bots: page.bots,
        ...(page.nextCursor === undefined ? {} : { next_cursor: page.nextCursor }),
      });
    },
  );

export const handler = makeListBotsHandler(snapshotHttpDeps);
