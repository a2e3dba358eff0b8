/**
 * Point ids as Qdrant compares them. A UUID is one id in any of the forms Qdrant's parser takes: hyphenated,
 * simple (32 hex digits), braced (`{...}`) or URN (`urn:uuid:...`), in either case; Qdrant answers every
 * UUID in lower-case hyphenated form, which is what the migration stores as chunk_id.
 */

const HYPHENATED = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const SIMPLE = /^[0-9a-fA-F]{32}$/;

/** The lower-case hyphenated form of a UUID written in any of Qdrant's forms, or undefined. */
export function canonicalUuid(text: string): string | undefined {
  let body = text;
  if (text.length === 38 && text.startsWith('{') && text.endsWith('}')) body = text.slice(1, -1);
  else if (text.length === 45 && text.startsWith('urn:uuid:')) body = text.slice('urn:uuid:'.length);
  else if (SIMPLE.test(text)) {
    const hex = text.toLowerCase();
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  return HYPHENATED.test(body) ? body.toLowerCase() : undefined;
}

/**
 * The form in which a chunk id and a `has_id` value are compared: a UUID in any form becomes lower-case
 * hyphenated, any other id stays as it is (ids given at ingestion are free text).
 */
export function comparableId(id: string): string {
  return canonicalUuid(id) ?? id;
}
