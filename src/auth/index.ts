export { type AuthenticatedEvent, authenticate } from './caller';
export { DEV_TOKEN_AUDIENCE, DEV_TOKEN_ISSUER, signDevToken } from './dev-token';
