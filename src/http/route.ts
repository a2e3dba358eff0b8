import type {
  APIGatewayProxyEventV2WithJWTAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type { AuthenticatedEvent } from '../auth/caller';
import type { BotCollection } from '../domain/types';
import type { Log } from '../ports';
import { errorToResponse } from './error-response';
import { botIdParameter } from './request';

/** An HTTP API (v2 payload, JWT authorizer) Lambda handler. */
export type HttpHandler = (
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context?: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

type Event = APIGatewayProxyEventV2WithJWTAuthorizer;
type Result = APIGatewayProxyStructuredResultV2;

/**
 * Wraps a route's work so that every thrown error becomes its JSON error response (never an unhandled
 * rejection, never a stack trace in a body). `logger` is asked for lazily: wiring may read config on first use.
 */
export function httpRoute(
  logger: () => Pick<Log, 'error'>,
  serve: (event: Event) => Promise<Result>,
): HttpHandler {
  return async (event) => {
    try {
      return await serve(event);
    } catch (error) {
      return errorToResponse(error, (unexpected) => {
        try {
          logger().error('Unexpected error serving a request', {
            error: unexpected,
            routeKey: event.routeKey,
          });
        } catch {
          // A broken configuration must still produce the generic 500, not a crash.
          console.error(unexpected);
        }
      });
    }
  };
}

/** What a bot route needs of its wiring: who calls, and whether they own the bot. */
export type BotRouteDeps = {
  logger: Pick<Log, 'error'>;
  /** The caller's user id. @throws UnauthorizedError */
  authenticate(event: AuthenticatedEvent): Promise<string>;
  /**
   * The bot's record when `userId` owns it; with `acceptAlias`, `botId` may be an alias of the caller's
   * that points at it. @throws NotFoundError, ForbiddenError
   */
  ownedBot(
    botId: string,
    userId: string,
    options?: { allowDeleted?: boolean; acceptAlias?: boolean },
  ): Promise<BotCollection>;
};

/**
 * Who may call a bot route, and by which name: the owner of an active bot, the owner even of a deleted one
 * (deletes: safe to repeat), or any authenticated caller (`PUT /bots/{botId}` creates or claims), by bot id;
 * or, for the read and search routes (`reader`, `reader-even-deleted`), by bot id or by an alias of the
 * caller's. Writes take the bot id only, so a write never lands in a bot an alias was just moved to.
 */
export type BotAccess = 'owner' | 'owner-even-deleted' | 'reader' | 'reader-even-deleted' | 'caller';

/**
 * One request to a bot route, after the caller was authenticated and (unless `caller`) owns the bot.
 * `botId` is the bot's own id, also when the path named it by an alias.
 */
export type BotRequest<D, A extends BotAccess> = {
  event: Event;
  deps: D;
  userId: string;
  botId: string;
  bot: A extends 'caller' ? undefined : BotCollection;
};

/**
 * A route under `/bots/{botId}`: builds (or reuses) its deps with `wiring`, authenticates the caller,
 * checks the bot id and the caller's access, then serves. Every error becomes its JSON response.
 */
export function botRoute<D extends BotRouteDeps, A extends BotAccess>(
  wiring: () => D,
  access: A,
  serve: (request: BotRequest<D, A>) => Promise<Result>,
): HttpHandler {
  return httpRoute(
    () => wiring().logger,
    async (event) => {
      const deps = wiring();
      const userId = await deps.authenticate(event);
      const named = botIdParameter(event);
      const bot =
        access === 'caller'
          ? undefined
          : await deps.ownedBot(named, userId, {
              allowDeleted: access === 'owner-even-deleted' || access === 'reader-even-deleted',
              acceptAlias: access === 'reader' || access === 'reader-even-deleted',
            });
      const botId = bot?.bot_id ?? named;
      return serve({ event, deps, userId, botId, bot } as BotRequest<D, A>);
    },
  );
}
