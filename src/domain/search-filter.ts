import { ValidationError } from '../errors';
import { unversionedChunkId } from './document-version';
import { isExpired } from './expiry';
import { applyColumn, columnOf, inRange, isColumnCondition } from './filter-columns';
import { comparableId } from './point-id';
import {
  type BooleanFilter,
  type FilterCondition,
  type FilterKey,
  FilterSyntaxError,
  type PathStep,
  parseFilter,
  type RangeBounds,
  type Scalar,
} from './search-filter-syntax';
import { parseTimestamp } from './timestamp';
import type { ChunkMetadata } from './types';

/** What a filter looks at in a chunk (a snapshot row or a chunk read from DynamoDB). */
export type FilterableChunk = {
  chunk_id?: string;
  filename: string;
  chunk_index?: number;
  created_at?: string;
  metadata: ChunkMetadata;
  /** Epoch second the chunk expires, if it does. */
  expires_at?: number;
};

/** A field of a chunk a filter condition reads (`chunk_id` for `has_id`, `metadata` for any metadata key). */
export type FilterField = FilterKey['field'] | 'chunk_id';

/**
 * A filter parsed once, where the request enters. `filenames`, when not null, holds every filename a
 * passing chunk can have (from top-level `must` conditions on filename), so a mask can visit only those
 * documents' rows. `fields` holds every field its conditions read: a source whose rows lack one cannot
 * answer it.
 */
export type CompiledFilter = {
  root: BooleanFilter;
  filenames: ReadonlySet<string> | null;
  fields: ReadonlySet<FilterField>;
  /** When set, chunks expired at this epoch second fail the filter (`withExpiry`). */
  liveAt?: number;
};

const PASS_ALL: BooleanFilter = { must: [], should: undefined, mustNot: [], minShould: undefined };

/**
 * The filter that also leaves out every chunk expired at `nowSeconds`, so expired chunks are masked before
 * top-k exactly as filtered-out ones are.
 */
export function withExpiry(filter: CompiledFilter | null, nowSeconds: number): CompiledFilter {
  return {
    root: filter?.root ?? PASS_ALL,
    filenames: filter?.filenames ?? null,
    fields: filter?.fields ?? new Set(),
    liveAt: nowSeconds,
  };
}

/** Every field the conditions of `filter` read, nested filters included. */
function fieldsRead(filter: BooleanFilter, into: Set<FilterField>): Set<FilterField> {
  const conditions = [
    ...filter.must,
    ...(filter.should ?? []),
    ...filter.mustNot,
    ...(filter.minShould?.conditions ?? []),
  ];
  for (const condition of conditions) {
    if (condition.type === 'filter') fieldsRead(condition.filter, into);
    else if (condition.type === 'has_id') into.add('chunk_id');
    else if (condition.type === 'legacy_equals') into.add('metadata');
    else into.add(condition.key.field);
  }
  return into;
}

/** `filter.must[2].range.gtx` from the parser's path. */
function fieldOf(path: ReadonlyArray<string | number>): string {
  return path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : `${out}.${part}`),
    'filter',
  );
}

/**
 * Compiles a filter as a request sends it; null when it filters nothing (no mask needed at all).
 * @throws FilterSyntaxError (with the path below `filter` of its first problem) for a filter that breaks
 *   the syntax or the stated limits. The request schema (src/contracts/search-request.ts) reports it as a 400.
 */
export function compileFilterSyntax(filter: unknown): CompiledFilter | null {
  const root = parseFilter(filter);
  const empty =
    root.must.length === 0 &&
    root.should === undefined &&
    root.mustNot.length === 0 &&
    root.minShould === undefined;
  if (empty) return null;
  let filenames: Set<string> | null = null;
  for (const condition of root.must) {
    let names: Iterable<string> | undefined;
    if (condition.type === 'any' && condition.key.field === 'filename') {
      names = [...condition.values].filter((v): v is string => typeof v === 'string');
    } else if (condition.type === 'match' && condition.key.field === 'filename') {
      names = typeof condition.value === 'string' ? [condition.value] : [];
    }
    if (names === undefined) continue;
    const next = new Set<string>(names);
    const before: Set<string> | null = filenames;
    filenames = before === null ? next : new Set([...before].filter((name: string) => next.has(name)));
  }
  return { root, filenames, fields: fieldsRead(root, new Set()) };
}

/**
 * Compiles a filter given in code (tools, tests); undefined compiles to null, as an empty filter does.
 * @throws ValidationError naming the offending path (`filter.must[2].range.gtx`) for a filter that breaks
 *   the syntax or the stated limits.
 */
export function compileFilter(filter: unknown): CompiledFilter | null {
  if (filter === undefined) return null;
  try {
    return compileFilterSyntax(filter);
  } catch (error) {
    if (!(error instanceof FilterSyntaxError)) throw error;
    const field = fieldOf(error.path);
    throw new ValidationError(`${field}: ${error.message}`, field, { cause: error });
  }
}

/**
 * `filter` with the named chunks left out (a `has_id` under `must_not`), as recommend and search by id
 * leave out their example chunks.
 */
export function excludingIds(filter: CompiledFilter | null, chunkIds: readonly string[]): CompiledFilter {
  const condition: FilterCondition = { type: 'has_id', ids: new Set(chunkIds.map(comparableId)) };
  if (filter === null) {
    return {
      root: { must: [], should: undefined, mustNot: [condition], minShould: undefined },
      filenames: null,
      fields: new Set(['chunk_id']),
    };
  }
  return {
    ...filter,
    root: { ...filter.root, mustNot: [...filter.root.mustNot, condition] },
    fields: new Set([...filter.fields, 'chunk_id']),
  };
}

/** A test of one value read, with the condition (or bounds) it checks against: no closure a row. */
type ValueTest<C> = (context: C, value: unknown) => boolean;

/**
 * Whether `test` holds for some value a key reads in a chunk, as Qdrant reads a payload path: a key step
 * goes into an object, `[n]` takes one element of a list and `[]` every element; a step that does not
 * fit the value reads nothing, and a top-level field reads its value, or nothing when the chunk has
 * none. With `elements`, a value read that is a list is tested element by element instead (Qdrant's
 * rule for match, any, except and range: any element may satisfy it). The path is walked in place, no
 * list of values is built: a filter's mask runs this for every row of a bot.
 */
function someRead<C>(
  chunk: FilterableChunk,
  key: FilterKey,
  elements: boolean,
  context: C,
  test: ValueTest<C>,
): boolean {
  if (key.field !== 'metadata') {
    const value = chunk[key.field];
    return value !== undefined && testRead(value, elements, context, test);
  }
  return someAlong(chunk.metadata, key.path, 0, elements, context, test);
}

function someAlong<C>(
  value: unknown,
  path: readonly PathStep[],
  at: number,
  elements: boolean,
  context: C,
  test: ValueTest<C>,
): boolean {
  const step = path[at];
  if (step === undefined) return value !== undefined && testRead(value, elements, context, test);
  if ('key' in step) {
    if (
      typeof value !== 'object' ||
      value === null ||
      Array.isArray(value) ||
      !Object.hasOwn(value, step.key)
    )
      return false;
    return someAlong((value as Record<string, unknown>)[step.key], path, at + 1, elements, context, test);
  }
  if (!Array.isArray(value)) return false;
  if ('each' in step) {
    for (const element of value) if (someAlong(element, path, at + 1, elements, context, test)) return true;
    return false;
  }
  return step.index < value.length && someAlong(value[step.index], path, at + 1, elements, context, test);
}

/** The value a key of object steps reads in a chunk (the first, were there several), or undefined. */
function readOne(chunk: FilterableChunk, key: FilterKey): unknown {
  const read: { value: unknown } = { value: undefined };
  someRead(chunk, key, false, read, keepValue);
  return read.value;
}

const keepValue = (read: { value: unknown }, value: unknown) => {
  read.value = value;
  return true;
};

function testRead<C>(value: unknown, elements: boolean, context: C, test: ValueTest<C>): boolean {
  if (!elements || !Array.isArray(value)) return test(context, value);
  for (const element of value) if (test(context, element)) return true;
  return false;
}

const isScalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

const equalsValue = (c: { value: Scalar }, v: unknown) => v === c.value;
const inValues = (c: { values: ReadonlySet<Scalar> }, v: unknown) => c.values.has(v as Scalar);
const scalarNotInValues = (c: { values: ReadonlySet<Scalar> }, v: unknown) =>
  isScalar(v) && !c.values.has(v as Scalar);
const inBounds = (bounds: RangeBounds, v: unknown) => {
  if (bounds.kind === 'number') return typeof v === 'number' && inRange(v, bounds);
  if (typeof v !== 'string') return false;
  const time = parseTimestamp(v);
  return time !== undefined && inRange(time, bounds);
};
const notEmpty = (_: null, v: unknown) => !(v === null || (Array.isArray(v) && v.length === 0));
const isNull = (_: null, v: unknown) => v === null;

function holds(condition: FilterCondition, chunk: FilterableChunk): boolean {
  switch (condition.type) {
    case 'match':
      return someRead(chunk, condition.key, true, condition, equalsValue);
    case 'any':
      return someRead(chunk, condition.key, true, condition, inValues);
    case 'except':
      return someRead(chunk, condition.key, true, condition, scalarNotInValues);
    case 'range':
      return someRead(chunk, condition.key, true, condition.bounds, inBounds);
    case 'is_empty':
      // Every value the key reads is null or [] (so does a key that reads nothing).
      return !someRead(chunk, condition.key, false, null, notEmpty);
    case 'is_null':
      return someRead(chunk, condition.key, false, null, isNull);
    case 'has_id':
      // A point id names the chunk in every version: the stored id carries the version as a suffix.
      return (
        chunk.chunk_id !== undefined &&
        (condition.ids.has(comparableId(chunk.chunk_id)) ||
          condition.ids.has(comparableId(unversionedChunkId(chunk.chunk_id))))
      );
    case 'legacy_equals':
      return (
        Object.hasOwn(chunk.metadata, condition.key) && chunk.metadata[condition.key] === condition.value
      );
    case 'filter':
      return passes(condition.filter, chunk);
  }
}

/** must: all hold; must_not: none holds; should: at least one holds (when given, so `[]` passes nothing); min_should: enough hold. */
function passes(filter: BooleanFilter, chunk: FilterableChunk): boolean {
  for (const condition of filter.must) if (!holds(condition, chunk)) return false;
  for (const condition of filter.mustNot) if (holds(condition, chunk)) return false;
  if (filter.should !== undefined && !filter.should.some((condition) => holds(condition, chunk)))
    return false;
  if (filter.minShould !== undefined) {
    let count = 0;
    for (const condition of filter.minShould.conditions) if (holds(condition, chunk)) count++;
    if (count < filter.minShould.minCount) return false;
  }
  return true;
}

/** Whether a chunk passes the filter. */
export function matchesFilter(chunk: FilterableChunk, filter: CompiledFilter): boolean {
  if (filter.filenames !== null && !filter.filenames.has(chunk.filename)) return false;
  return live(chunk, filter) && passes(filter.root, chunk);
}

function live(chunk: FilterableChunk, filter: CompiledFilter): boolean {
  return filter.liveAt === undefined || !isExpired(chunk.expires_at, filter.liveAt);
}

/**
 * The row mask of a filter over a snapshot's rows (1 = the row takes part), built once per query so that
 * the scoring loop tests a byte instead of an object: the filter is applied before top-k, never after,
 * so a selective filter still yields `limit` results when that many rows pass. `rowsByFilename` (when
 * given) narrows a filter on filenames to the rows of those files without looking at the others.
 */
export function filterMask(
  rows: ReadonlyArray<FilterableChunk>,
  filter: CompiledFilter,
  rowsByFilename?: ReadonlyMap<string, ReadonlyArray<number>>,
): Uint8Array {
  const mask = new Uint8Array(rows.length);
  if (filter.filenames !== null && rowsByFilename !== undefined) {
    for (const filename of filter.filenames) {
      for (const row of rowsByFilename.get(filename) ?? []) {
        const chunk = rows[row] as FilterableChunk;
        if (live(chunk, filter) && passes(filter.root, chunk)) mask[row] = 1;
      }
    }
    return mask;
  }
  const { root } = filter;
  const columned = root.must.filter(isColumnCondition);
  const byColumn = columned.flatMap((condition) => {
    const column = columnOf(rows, condition.key, readOne);
    return column === null ? [] : [{ column, condition }];
  });
  if (byColumn.length === 0) {
    for (let row = 0; row < rows.length; row++) {
      if (matchesFilter(rows[row] as FilterableChunk, filter)) mask[row] = 1;
    }
    return mask;
  }
  // The top-level conditions with a column first, a typed pass each; the rest of the filter row by row,
  // only over the rows still in.
  byColumn.forEach(({ column, condition }, i) => {
    applyColumn(column, condition, mask, i === 0, (row) => holds(condition, rows[row] as FilterableChunk));
  });
  const answered = new Set<FilterCondition>(byColumn.map(({ condition }) => condition));
  const rest: BooleanFilter = { ...root, must: root.must.filter((condition) => !answered.has(condition)) };
  const restEmpty =
    rest.must.length === 0 &&
    rest.mustNot.length === 0 &&
    rest.should === undefined &&
    rest.minShould === undefined &&
    filter.liveAt === undefined;
  if (restEmpty) return mask;
  for (let row = 0; row < rows.length; row++) {
    if (mask[row] === 0) continue;
    const chunk = rows[row] as FilterableChunk;
    if (!live(chunk, filter) || !passes(rest, chunk)) mask[row] = 0;
  }
  return mask;
}

/** Row indices per filename, for `filterMask` and grouping. Built once per cached snapshot. */
export function indexRowsByFilename(rows: ReadonlyArray<FilterableChunk>): Map<string, number[]> {
  const index = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const list = index.get(row.filename);
    if (list === undefined) index.set(row.filename, [i]);
    else list.push(i);
  });
  return index;
}
