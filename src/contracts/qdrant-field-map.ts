import { ValidationError } from '../errors';

/** The chunk fields a Qdrant payload can supply. */
export const MAPPED_FIELDS = ['text', 'filename', 'chunk_index', 'file_size', 'created_at'] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

/** Per chunk field, the payload paths to try in order (dotted; the first present one wins). */
export type FieldMap = Record<MappedField, readonly string[]>;

/**
 * Where the usual payload shapes keep each field. Plain payloads first; then LangChain's
 * (`page_content` and a nested `metadata` with `source`); then LlamaIndex's (flat metadata such as
 * `file_name`, `file_size`, `creation_date`, and the node serialised as a JSON string in `_node_content`,
 * whose `text` holds the chunk's text).
 */
export const DEFAULT_FIELD_MAP: FieldMap = {
  text: ['text', 'page_content', 'content', '_node_content.text', 'document'],
  filename: [
    'filename',
    'metadata.source',
    'metadata.filename',
    'source',
    'file_name',
    'metadata.file_name',
    'file_path',
    'metadata.file_path',
  ],
  chunk_index: ['chunk_index', 'metadata.chunk_index'],
  file_size: ['file_size', 'metadata.file_size'],
  created_at: ['created_at', 'metadata.created_at', 'creation_date', 'metadata.creation_date'],
};

/** Payload keys that are another library's bookkeeping, not the user's metadata (LlamaIndex's node copy). */
export const BOOKKEEPING_KEYS: ReadonlySet<string> = new Set(['_node_content', '_node_type']);

/**
 * Parses `--field-map text=page_content,filename=metadata.source`: each named field is read from that
 * path only; fields not named keep their defaults.
 * @throws ValidationError (field `--field-map`) for an unknown field name or an entry without `=`.
 */
export function parseFieldMap(spec: string | undefined): FieldMap {
  const map: Record<MappedField, readonly string[]> = { ...DEFAULT_FIELD_MAP };
  if (spec === undefined || spec.trim() === '') return map;
  for (const entry of spec.split(',')) {
    const at = entry.indexOf('=');
    const field = entry.slice(0, at).trim();
    const path = entry.slice(at + 1).trim();
    if (at < 1 || path === '') {
      throw new ValidationError(
        `--field-map entry "${entry}" must look like field=payload.path`,
        '--field-map',
      );
    }
    if (!(MAPPED_FIELDS as readonly string[]).includes(field)) {
      throw new ValidationError(
        `--field-map names "${field}"; the fields are ${MAPPED_FIELDS.join(', ')}`,
        '--field-map',
      );
    }
    map[field as MappedField] = [path];
  }
  return map;
}

/**
 * The value at a dotted path of a payload, or undefined. A string met on the way that holds a JSON object
 * is parsed and walked into (LlamaIndex stores its node that way).
 */
export function valueAtPath(payload: unknown, path: string): unknown {
  let current: unknown = payload;
  for (const key of path.split('.')) {
    if (typeof current === 'string' && current.startsWith('{')) {
      try {
        current = JSON.parse(current);
      } catch {
        return undefined;
      }
    }
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** The first candidate path holding a value (not undefined or null), with that path. */
export function firstPresent(
  payload: unknown,
  paths: readonly string[],
): { path: string; value: unknown } | undefined {
  for (const path of paths) {
    const value = valueAtPath(payload, path);
    if (value !== undefined && value !== null) return { path, value };
  }
  return undefined;
}

/**
 * The payload minus the paths a chunk field came from (and the bot key), as chunk metadata. A nested
 * `metadata` object (LangChain's) is lifted so that its keys become metadata keys, as a Qdrant filter on
 * `metadata.<key>` reads them; a lifted key that a top-level payload key already names stays under
 * `metadata` (so `{page: 1, metadata: {page: 2}}` keeps both, as `page` and `metadata.page`). LlamaIndex's
 * bookkeeping keys are dropped.
 */
export function remainingMetadata(
  payload: Record<string, unknown>,
  usedPaths: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const used = new Set(usedPaths);
  let nested: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(payload)) {
    if (used.has(key) || BOOKKEEPING_KEYS.has(key)) continue;
    if (key === 'metadata' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      nested = value as Record<string, unknown>;
      continue;
    }
    out[key] = value;
  }
  if (nested === undefined) return out;
  const kept: Record<string, unknown> = {};
  for (const [inner, value] of Object.entries(nested)) {
    if (used.has(`metadata.${inner}`)) continue;
    if (Object.hasOwn(out, inner)) kept[inner] = value;
    else out[inner] = value;
  }
  if (Object.keys(kept).length > 0) out.metadata = kept;
  return out;
}
