import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { Config } from '../config';
import { UnauthorizedError } from '../errors';

/** The part of an HTTP API event that says who is calling. */
export type AuthenticatedEvent = Pick<APIGatewayProxyEventV2WithJWTAuthorizer, 'headers'> & {
  requestContext: {
    authorizer?: Partial<APIGatewayProxyEventV2WithJWTAuthorizer['requestContext']['authorizer']>;
  };
};

function bearerToken(headers: AuthenticatedEvent['headers']): string {
  // API Gateway lower-cases header names in v2 events; serverless-offline and hand-made events may not.
  const entry = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'authorization');
  const value = entry?.[1];
  if (value === undefined || value === '') throw new UnauthorizedError('missing Authorization header');
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  if (match === null) throw new UnauthorizedError('Authorization header must be "Bearer <token>"');
  return match[1] as string;
}

async function verifyLocalToken(
  token: string,
  auth: Extract<Config['auth'], { mode: 'local-key' }>,
): Promise<string> {
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(auth.secret), {
      algorithms: ['HS256'],
      issuer: auth.issuer,
      audience: auth.audience,
    });
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new UnauthorizedError('token has no subject');
    return payload.sub;
  } catch (error) {
    if (error instanceof UnauthorizedError) throw error;
    const reason = error instanceof joseErrors.JWTExpired ? 'token expired' : 'invalid token';
    throw new UnauthorizedError(reason, { cause: error });
  }
}

/**
 * The user id (token subject) of the caller. With `authorizer`, API Gateway's JWT authorizer already
 * verified signature, issuer, audience and expiry; its claims are read from the request context. With
 * `local-key` (serverless-offline, tests) the Bearer token is verified here with the development key.
 * @throws UnauthorizedError when there is no valid token or it names no subject.
 */
export async function authenticate(event: AuthenticatedEvent, auth: Config['auth']): Promise<string> {
  if (auth.mode === 'local-key') return verifyLocalToken(bearerToken(event.headers), auth);
  const sub = event.requestContext.authorizer?.jwt?.claims?.sub;
  if (typeof sub !== 'string' || sub === '') throw new UnauthorizedError('no verified token subject');
  return sub;
}
