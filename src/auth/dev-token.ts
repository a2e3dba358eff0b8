import { SignJWT } from 'jose';

/** Issuer and audience the config defaults to (JWT_ISSUER, JWT_AUDIENCE). */
export const DEV_TOKEN_ISSUER = 'ddb-vector-sync-local';
export const DEV_TOKEN_AUDIENCE = 'ddb-vector-sync';

/**
 * Signs a development token (HS256 with the local key) whose subject is `sub`: what `npm run dev` prints
 * and tests send. Accepted only where AUTH_MODE=local-key.
 */
export async function signDevToken(
  secret: string,
  sub: string,
  options: { issuer?: string; audience?: string; expiresIn?: string | number } = {},
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuer(options.issuer ?? DEV_TOKEN_ISSUER)
    .setAudience(options.audience ?? DEV_TOKEN_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h')
    .sign(new TextEncoder().encode(secret));
}
