import { ValidationError } from '../errors';
import { parseTimestamp, TIMESTAMP_FORMS } from './timestamp';

/**
 * Chunk expiry (TTL). A chunk written with `expires_at` holds it as epoch seconds, VectorEmbeddings' TTL
 * attribute. DynamoDB removes an expired item only eventually (often within days), so search and the
 * documents list treat a chunk as gone from the second it expires.
 */

/** The latest expiry accepted: 9999-12-31T23:59:59Z. */
const MAX_EXPIRES_AT = 253_402_300_799;

/** The forms `expires_at` takes, for error messages. */
export const EXPIRES_AT_FORMS = `epoch seconds (a positive integer) or ${TIMESTAMP_FORMS}`;

/**
 * The epoch second an `expires_at` names: an integer of epoch seconds as is, a timestamp cut to its second.
 * @throws ValidationError naming `field` for anything else (a fraction, zero or less, past year 9999).
 * @example parseExpiresAt('2030-01-01T00:00:00Z') === 1893456000
 */
export function parseExpiresAt(value: number | string, field = 'expires_at'): number {
  const seconds =
    typeof value === 'number'
      ? value
      : value.length <= 64
        ? (parseTimestamp(value) ?? Number.NaN) / 1000
        : Number.NaN;
  const whole = typeof value === 'number' ? seconds : Math.floor(seconds);
  if (!Number.isSafeInteger(whole) || whole < 1 || whole > MAX_EXPIRES_AT) {
    const shown = typeof value === 'number' ? String(value) : JSON.stringify(value.slice(0, 80));
    throw new ValidationError(`${field} must be ${EXPIRES_AT_FORMS}, up to year 9999; got ${shown}`, field);
  }
  return whole;
}

/** Whether a chunk with this expiry is gone at `nowSeconds` (DynamoDB's rule: expired once the time is reached). */
export function isExpired(expiresAt: number | undefined, nowSeconds: number): boolean {
  return expiresAt !== undefined && expiresAt <= nowSeconds;
}

/** The expiry an item's attribute holds, or undefined when it holds none a TTL would act on. */
export function expiresAtOfItem(item: Record<string, unknown>): number | undefined {
  const value = item.expires_at;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** The current epoch second. */
export function epochSeconds(now: Date = new Date()): number {
  return Math.floor(now.getTime() / 1000);
}
