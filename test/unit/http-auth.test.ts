import { SignJWT } from 'jose';
import { authenticate } from '../../src/auth/caller';
import { signDevToken } from '../../src/auth/dev-token';
import type { Config } from '../../src/config';
import { UnauthorizedError } from '../../src/errors';
import { httpEvent } from '../fixtures/http-events';

const secret = 'a-development-key-of-at-least-32-characters';
const localKey: Config['auth'] = {
  mode: 'local-key',
  secret,
  issuer: 'ddb-vector-sync-local',
  audience: 'ddb-vector-sync',
};
const authorizer: Config['auth'] = { mode: 'authorizer', issuer: 'https://issuer', audience: 'api' };

function withToken(token: string | undefined) {
  return httpEvent({
    method: 'GET',
    route: '/bots/{botId}',
    pathParameters: { botId: 'b' },
    ...(token === undefined ? {} : { token }),
  });
}

describe('authentication with the local development key', () => {
  it('returns the subject of a token signed by signDevToken', async () => {
    const token = await signDevToken(secret, 'user-a');
    await expect(authenticate(withToken(token), localKey)).resolves.toBe('user-a');
  });

  it('accepts the header in any letter case', async () => {
    const event = withToken(undefined);
    event.headers.Authorization = `bearer ${await signDevToken(secret, 'user-a')}`;
    await expect(authenticate(event, localKey)).resolves.toBe('user-a');
  });

  it('refuses a request without a token', async () => {
    await expect(authenticate(withToken(undefined), localKey)).rejects.toThrow(UnauthorizedError);
  });

  it('refuses a token signed with another key', async () => {
    const token = await signDevToken('another-key-that-is-also-32-characters-long', 'user-a');
    await expect(authenticate(withToken(token), localKey)).rejects.toThrow('invalid token');
  });

  it('refuses an expired token', async () => {
    const token = await signDevToken(secret, 'user-a', { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    await expect(authenticate(withToken(token), localKey)).rejects.toThrow('token expired');
  });

  it('refuses a token for another audience', async () => {
    const token = await signDevToken(secret, 'user-a', { audience: 'someone-else' });
    await expect(authenticate(withToken(token), localKey)).rejects.toThrow(UnauthorizedError);
  });

  it('refuses a token without a subject', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('ddb-vector-sync-local')
      .setAudience('ddb-vector-sync')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    await expect(authenticate(withToken(token), localKey)).rejects.toThrow(UnauthorizedError);
  });

  it('refuses an unsigned token (alg none)', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({
        sub: 'user-a',
        iss: 'ddb-vector-sync-local',
        aud: 'ddb-vector-sync',
        exp: 9999999999,
      }),
    ).toString('base64url');
    await expect(authenticate(withToken(`${header}.${payload}.`), localKey)).rejects.toThrow(
      UnauthorizedError,
    );
  });
});

describe('authentication behind the API Gateway JWT authorizer', () => {
  it('reads the subject the authorizer verified', async () => {
    const event = httpEvent({ method: 'GET', route: '/bots/{botId}', claims: { sub: 'user-b' } });
    await expect(authenticate(event, authorizer)).resolves.toBe('user-b');
  });

  it('refuses a request whose context has no subject, whatever header it sends', async () => {
    const event = withToken(await signDevToken(secret, 'user-a'));
    await expect(authenticate(event, authorizer)).rejects.toThrow(UnauthorizedError);
  });
});
