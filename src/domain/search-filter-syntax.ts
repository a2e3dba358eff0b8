import { comparableId } from './point-id';
import { parseTimestamp, TIMESTAMP_FORMS } from './timestamp';

/**
 * The `filter` of a search request: today's `{filename, metadata}` and Qdrant's boolean filters
 * (`must`, `should`, `must_not`, `min_should`, nesting), parsed into a tree that `search-filter.ts`
 * evaluates. Hand-written rather than a zod union so that every error names the exact path of the
 * offending value (`filter.must[2].range.gtx`).
 */

/**
 * One step of a metadata path, as in Qdrant's keys: an object key (`.name`, or `."dotted.name"`), one
 * element of a list (`[2]`), or every element of a list (`[]`).
 */
export type PathStep = { key: string } | { index: number } | { each: true };

/** What a condition's `key` reads: a chunk field or a path into its metadata. */
export type FilterKey =
  | { field: 'filename' | 'chunk_index' | 'created_at' }
  | { field: 'metadata'; path: readonly PathStep[] };

export type Scalar = string | number | boolean;

/** A range's bounds, all numbers or all timestamps (as epoch milliseconds). */
export type RangeBounds = { kind: 'number' | 'time'; gt?: number; gte?: number; lt?: number; lte?: number };

export type FilterCondition =
  | { type: 'match'; key: FilterKey; value: Scalar }
  | { type: 'any'; key: FilterKey; values: ReadonlySet<Scalar> }
  | { type: 'except'; key: FilterKey; values: ReadonlySet<Scalar> }
  | { type: 'range'; key: FilterKey; bounds: RangeBounds }
  | { type: 'is_empty'; key: FilterKey }
  | { type: 'is_null'; key: FilterKey }
  /** Ids in the form `comparableId` gives (a UUID in any of its forms is one id). */
  | { type: 'has_id'; ids: ReadonlySet<string> }
  /** Today's `filter.metadata`: the top-level key present and strictly equal (null included). */
  | { type: 'legacy_equals'; key: string; value: Scalar | null }
  | { type: 'filter'; filter: BooleanFilter };

export type BooleanFilter = {
  must: FilterCondition[];
  /** Undefined when not given; `[]` when given empty, which no chunk passes (as in Qdrant). */
  should: FilterCondition[] | undefined;
  mustNot: FilterCondition[];
  minShould: { conditions: FilterCondition[]; minCount: number } | undefined;
};

/** How deep filters may nest (a filter inside `must` of the top-level filter is depth 2). */
export const MAX_FILTER_DEPTH = 8;
/** How many conditions one request's filter may hold, all levels together. */
export const MAX_FILTER_CONDITIONS = 128;
/** How many values one `match.any`, `match.except` or `has_id` may list. */
export const MAX_MATCH_VALUES = 1024;

/** A filter that could not be parsed: the path of the offending value (below `filter`) and why. */
export class FilterSyntaxError extends Error {
  override readonly name = 'FilterSyntaxError';
  constructor(
    readonly path: ReadonlyArray<string | number>,
    message: string,
  ) {
    super(message);
  }
}

type Path = Array<string | number>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A value a condition compares with: a string, a boolean or a finite number. An integer the body parser
 * kept exact (a bigint, past 2^53) is compared as a number, as metadata numbers are.
 */
function scalarOf(value: unknown): Scalar | undefined {
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  const n = typeof value === 'bigint' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/**
 * The steps of a `metadata.` key in Qdrant's key syntax: `.key` (any characters but `.`, `[`, `]` and
 * `"`), `."quoted key"`, `[n]` and `[]`; undefined when the key does not follow it.
 */
function metadataPath(key: string): PathStep[] | undefined {
  if (!key.startsWith('metadata.')) return undefined;
  const steps: PathStep[] = [];
  let at = 'metadata'.length;
  while (at < key.length) {
    if (key[at] === '.') {
      at++;
      if (key[at] === '"') {
        const end = key.indexOf('"', at + 1);
        if (end < 0 || end === at + 1) return undefined;
        steps.push({ key: key.slice(at + 1, end) });
        at = end + 1;
      } else {
        const name = /^[^.[\]"]+/.exec(key.slice(at))?.[0];
        if (name === undefined) return undefined;
        steps.push({ key: name });
        at += name.length;
      }
    } else if (key[at] === '[' && steps.length > 0) {
      const index = /^\[(\d{0,9})\]/.exec(key.slice(at));
      if (index === null) return undefined;
      steps.push(index[1] === '' ? { each: true } : { index: Number(index[1]) });
      at += (index[0] as string).length;
    } else {
      return undefined;
    }
  }
  return steps.length > 0 ? steps : undefined;
}

const FILTER_KEYS = ['must', 'should', 'must_not', 'min_should', 'filename', 'metadata'];
const RANGE_KEYS = ['gt', 'gte', 'lt', 'lte'] as const;

class Parser {
  private conditions = 0;

  filter(value: unknown, path: Path, depth: number): BooleanFilter {
    if (!isObject(value)) throw new FilterSyntaxError(path, 'must be an object');
    if (depth > MAX_FILTER_DEPTH) {
      throw new FilterSyntaxError(path, `filters nest at most ${MAX_FILTER_DEPTH} levels deep`);
    }
    const out: BooleanFilter = { must: [], should: undefined, mustNot: [], minShould: undefined };
    for (const key of Object.keys(value)) {
      if (!FILTER_KEYS.includes(key) || (depth > 1 && (key === 'filename' || key === 'metadata'))) {
        throw new FilterSyntaxError(
          [...path, key],
          `is not a known filter clause (a filter takes must, should, must_not, min_should${depth === 1 ? ', filename, metadata' : ''})`,
        );
      }
    }
    out.must = this.list(value.must, [...path, 'must'], depth);
    if (value.should !== undefined && value.should !== null) {
      out.should = this.list(value.should, [...path, 'should'], depth);
    }
    out.mustNot = this.list(value.must_not, [...path, 'must_not'], depth);
    if (value.min_should !== undefined)
      out.minShould = this.minShould(value.min_should, [...path, 'min_should'], depth);
    if (value.filename !== undefined)
      out.must.push(this.legacyFilename(value.filename, [...path, 'filename']));
    if (value.metadata !== undefined)
      out.must.push(...this.legacyMetadata(value.metadata, [...path, 'metadata']));
    return out;
  }

  private minShould(value: unknown, path: Path, depth: number): BooleanFilter['minShould'] {
    if (!isObject(value)) throw new FilterSyntaxError(path, 'must be {conditions: [...], min_count: n}');
    this.onlyKeys(value, path, ['conditions', 'min_count'], 'min_should takes conditions and min_count');
    const minCount = value.min_count;
    if (typeof minCount !== 'number' || !Number.isSafeInteger(minCount) || minCount < 0) {
      throw new FilterSyntaxError([...path, 'min_count'], 'must be a non-negative integer');
    }
    return { conditions: this.list(value.conditions, [...path, 'conditions'], depth), minCount };
  }

  /** `must: [...]`, or a single condition as Qdrant also accepts. */
  private list(value: unknown, path: Path, depth: number): FilterCondition[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) return [this.condition(value, path, depth)];
    return value.map((item, i) => this.condition(item, [...path, i], depth));
  }

  private count(path: Path): void {
    this.conditions++;
    if (this.conditions > MAX_FILTER_CONDITIONS) {
      throw new FilterSyntaxError(path, `a filter holds at most ${MAX_FILTER_CONDITIONS} conditions`);
    }
  }

  private condition(value: unknown, path: Path, depth: number): FilterCondition {
    this.count(path);
    if (!isObject(value)) throw new FilterSyntaxError(path, 'a condition must be an object');
    // `{}` is an empty nested filter to Qdrant too: it holds for every chunk.
    const nested = ['must', 'should', 'must_not', 'min_should'].some((clause) => clause in value);
    if (nested || Object.keys(value).length === 0) {
      return { type: 'filter', filter: this.filter(value, path, depth + 1) };
    }
    if ('is_empty' in value || 'is_null' in value) {
      const op = 'is_empty' in value ? 'is_empty' : 'is_null';
      this.onlyKeys(value, path, [op], `${op} stands alone: {"${op}": {"key": ...}}`);
      const inner = value[op];
      if (!isObject(inner)) throw new FilterSyntaxError([...path, op], 'must be {"key": ...}');
      this.onlyKeys(inner, [...path, op], ['key'], `${op} takes only key`);
      return { type: op, key: this.key(inner.key, [...path, op, 'key']) };
    }
    if ('has_id' in value) {
      this.onlyKeys(value, path, ['has_id'], 'has_id stands alone');
      return { type: 'has_id', ids: this.ids(value.has_id, [...path, 'has_id']) };
    }
    if (!('key' in value)) {
      throw new FilterSyntaxError(
        path,
        'is not a condition: expected key with match or range, is_empty, is_null, has_id, or a nested filter',
      );
    }
    this.onlyKeys(value, path, ['key', 'match', 'range'], 'a field condition takes key, match and range');
    const key = this.key(value.key, [...path, 'key']);
    if (value.match !== undefined && value.range !== undefined) {
      // Qdrant's payload check ORs the two (either may hold), which reads as AND; a 400 instead of a guess.
      throw new FilterSyntaxError(
        [...path, 'range'],
        'a condition takes match or range, not both: write two conditions, under must for both to hold or under should for either',
      );
    }
    if (value.match !== undefined) return this.match(key, value.match, [...path, 'match']);
    if (value.range !== undefined) return this.range(key, value.range, [...path, 'range']);
    throw new FilterSyntaxError(path, 'a field condition needs match or range');
  }

  private key(value: unknown, path: Path): FilterKey {
    if (value === 'filename' || value === 'chunk_index' || value === 'created_at') return { field: value };
    const steps = typeof value === 'string' ? metadataPath(value) : undefined;
    if (steps !== undefined) return { field: 'metadata', path: steps };
    throw new FilterSyntaxError(
      path,
      `${typeof value === 'bigint' ? value : JSON.stringify(value)} is not a filterable key: use filename, chunk_index, created_at or metadata.<key> (steps .key, ."dotted.key", [n], [])`,
    );
  }

  private match(key: FilterKey, value: unknown, path: Path): FilterCondition {
    if (!isObject(value) || Object.keys(value).length !== 1) {
      throw new FilterSyntaxError(path, 'must hold exactly one of value, any, except');
    }
    const [op] = Object.keys(value) as [string];
    const at = [...path, op];
    if (op === 'value') {
      const v = scalarOf(value.value);
      if (v === undefined) throw new FilterSyntaxError(at, 'must be a string, number or boolean');
      return { type: 'match', key, value: v };
    }
    if (op === 'any' || op === 'except') {
      return { type: op, key, values: new Set(this.values(value[op], at)) };
    }
    throw new FilterSyntaxError(
      at,
      op === 'text'
        ? 'full-text match is not supported'
        : 'is not a known operator (match takes value, any, except)',
    );
  }

  private valueList(value: unknown, path: Path): unknown[] {
    if (!Array.isArray(value)) throw new FilterSyntaxError(path, 'must be a list');
    if (value.length > MAX_MATCH_VALUES) {
      throw new FilterSyntaxError(path, `lists at most ${MAX_MATCH_VALUES} values`);
    }
    return value;
  }

  private values(value: unknown, path: Path): Scalar[] {
    return this.valueList(value, path).map((v, i) => {
      const scalar = scalarOf(v);
      if (scalar === undefined)
        throw new FilterSyntaxError([...path, i], 'must be a string, number or boolean');
      return scalar;
    });
  }

  /**
   * `has_id`'s ids as Qdrant takes them: unsigned integers (exactly, past 2^53 too, when the body parser
   * kept them as bigints) or strings; a UUID in any of its forms is one id.
   */
  private ids(value: unknown, path: Path): Set<string> {
    return new Set(
      this.valueList(value, path).map((v, i) => {
        if (typeof v === 'string') return comparableId(v);
        if (typeof v === 'bigint' && v >= 0n) return v.toString();
        if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
        throw new FilterSyntaxError(
          [...path, i],
          typeof v === 'number' && Number.isInteger(v) && v > 0
            ? 'is past 2^53 and lost its exact digits as a number: send it as a string'
            : 'must be an unsigned integer or a string id',
        );
      }),
    );
  }

  private range(key: FilterKey, value: unknown, path: Path): FilterCondition {
    if (!isObject(value)) throw new FilterSyntaxError(path, 'must be an object of gt, gte, lt, lte');
    const bounds: RangeBounds = { kind: 'number' };
    let kinds = 0;
    for (const [op, bound] of Object.entries(value)) {
      const at = [...path, op];
      if (!(RANGE_KEYS as readonly string[]).includes(op)) {
        throw new FilterSyntaxError(at, 'is not a known operator (range takes gt, gte, lt, lte)');
      }
      if (bound === null || bound === undefined) continue;
      const n = typeof bound === 'string' ? parseTimestamp(bound) : scalarOf(bound);
      if (typeof n !== 'number') throw new FilterSyntaxError(at, `must be a number or ${TIMESTAMP_FORMS}`);
      kinds |= typeof bound === 'string' ? 2 : 1;
      bounds[op as (typeof RANGE_KEYS)[number]] = n;
    }
    if (kinds === 0) throw new FilterSyntaxError(path, 'needs at least one of gt, gte, lt, lte');
    if (kinds === 3) throw new FilterSyntaxError(path, 'mixes numbers and timestamps');
    bounds.kind = kinds === 2 ? 'time' : 'number';
    return { type: 'range', key, bounds };
  }

  private legacyFilename(value: unknown, path: Path): FilterCondition {
    this.count(path);
    const names = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(names) || names.length === 0 || names.length > 100) {
      throw new FilterSyntaxError(path, 'must be a filename or a list of 1 to 100 filenames');
    }
    names.forEach((name, i) => {
      if (typeof name !== 'string' || name === '') {
        throw new FilterSyntaxError(
          typeof value === 'string' ? path : [...path, i],
          'must be a non-empty string',
        );
      }
    });
    return { type: 'any', key: { field: 'filename' }, values: new Set(names as string[]) };
  }

  private legacyMetadata(value: unknown, path: Path): FilterCondition[] {
    if (!isObject(value)) throw new FilterSyntaxError(path, 'must be an object of key: value');
    return Object.entries(value).map(([key, v]) => {
      this.count([...path, key]);
      if (key === '') throw new FilterSyntaxError(path, 'keys must not be empty');
      const scalar = v === null ? null : scalarOf(v);
      if (scalar === undefined) {
        throw new FilterSyntaxError([...path, key], 'must be a string, number, boolean or null');
      }
      return { type: 'legacy_equals', key, value: scalar };
    });
  }

  private onlyKeys(value: Record<string, unknown>, path: Path, allowed: string[], hint: string): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key))
        throw new FilterSyntaxError([...path, key], `is not a known operator (${hint})`);
    }
  }
}

/**
 * Parses a request's `filter`.
 * @throws FilterSyntaxError naming the path below `filter` and what is wrong, including the stated limits
 *   (MAX_FILTER_DEPTH, MAX_FILTER_CONDITIONS, MAX_MATCH_VALUES).
 */
export function parseFilter(value: unknown): BooleanFilter {
  return new Parser().filter(value, [], 1);
}
