import { json } from '../src/http/responses';
import { botRoute } from '../src/http/route';
import { type SnapshotHttpDeps, snapshotHttpDeps } from '../src/wiring/http-snapshots';

/**
 * GET /bots/{botId}/doctor: the doctor's read-only verdict on the caller's bot (counts and documents
 * against a recount of VectorEmbeddings, the snapshot row by row). Repairs stay with the doctor itself.
 */
export const makeCheckBotHandler = (wiring: () => SnapshotHttpDeps) =>
  botRoute(wiring, 'reader-even-deleted', async ({ deps, botId }) => json(200, await deps.checkBot(botId)));

export const handler = makeCheckBotHandler(snapshotHttpDeps);
