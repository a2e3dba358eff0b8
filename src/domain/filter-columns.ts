/**
 * Columns for filter masks: the value one key reads in each row of a held snapshot, taken out once and
 * kept with the rows array (a held snapshot's rows never change; a new version is a new array), so a
 * query tests typed arrays instead of walking every row's metadata.
 *
 * A column is made for a key that reads at most one value a row (a chunk field, or a metadata path of
 * object keys only), on the second mask over the same rows array, so a one-off array (a DynamoDB read)
 * never pays for it, and for at most MAX_COLUMNS keys an array. It holds numbers and strings, read by
 * the row-by-row reader's own walk; a row whose value is anything else (a list, which any element may
 * satisfy, a boolean, null, an object) is marked, and its conditions are tested by that reader. So a
 * column answers exactly what that reader answers.
 */

import type { FilterCondition, FilterKey, RangeBounds } from './search-filter-syntax';
import { parseTimestamp } from './timestamp';

/** What a row's key reads, as a column keeps it: nothing (0), a number, a string, or anything else. */
const READ_NUMBER = 1;
const READ_STRING = 2;
/** Tested by the row-by-row reader: a list, a boolean, null or an object. */
const READ_OTHER = 3;

export type FilterColumn = {
  reads: Uint8Array;
  numbers: Float64Array;
  /** Index into `strings` for a string read. */
  stringAt: Int32Array;
  strings: string[];
  indexOf: Map<string, number>;
  /** Each string as epoch milliseconds (NaN: not a timestamp), made on the first time range. */
  times: Float64Array | null;
};

/** The conditions a column answers. */
export type ColumnCondition = Extract<FilterCondition, { type: 'match' | 'any' | 'except' | 'range' }>;

export function isColumnCondition(condition: FilterCondition): condition is ColumnCondition {
  const { type } = condition;
  return (
    (type === 'match' || type === 'any' || type === 'except' || type === 'range') &&
    readsOneValue(condition.key)
  );
}

function readsOneValue(key: FilterKey): boolean {
  return key.field !== 'metadata' || key.path.every((step) => 'key' in step);
}

const columns = new WeakMap<readonly unknown[], Map<string, FilterColumn | null>>();
/**
 * Keys given a column per rows array: a column costs 13 bytes a row, so a held snapshot keeps at most
 * about a hundred bytes a row of them, whatever keys its queries filter on; other keys are read row by row.
 */
export const MAX_COLUMNS = 8;

/**
 * The column of `key` over `rows`, or null on the first sight of this rows array and key (the caller
 * then reads the rows one by one). `readOne` gives the value the key reads in a row (undefined: none).
 */
export function columnOf<T>(
  rows: readonly T[],
  key: FilterKey,
  readOne: (row: T, key: FilterKey) => unknown,
): FilterColumn | null {
  let byKey = columns.get(rows);
  if (byKey === undefined) {
    byKey = new Map();
    columns.set(rows, byKey);
  }
  const name = JSON.stringify(key);
  const known = byKey.get(name);
  if (known !== undefined) {
    if (known !== null) return known;
    let built = 0;
    for (const column of byKey.values()) if (column !== null) built++;
    return built < MAX_COLUMNS ? buildColumn(rows, key, readOne, byKey, name) : null;
  }
  byKey.set(name, null);
  return null;
}

function buildColumn<T>(
  rows: readonly T[],
  key: FilterKey,
  readOne: (row: T, key: FilterKey) => unknown,
  byKey: Map<string, FilterColumn | null>,
  name: string,
): FilterColumn {
  const n = rows.length;
  const column: FilterColumn = {
    reads: new Uint8Array(n),
    numbers: new Float64Array(n),
    stringAt: new Int32Array(n),
    strings: [],
    indexOf: new Map(),
    times: null,
  };
  for (let row = 0; row < n; row++) {
    const value = readOne(rows[row] as T, key);
    if (value === undefined) continue;
    if (typeof value === 'number') {
      column.reads[row] = READ_NUMBER;
      column.numbers[row] = value;
    } else if (typeof value === 'string') {
      let at = column.indexOf.get(value);
      if (at === undefined) {
        at = column.strings.length;
        column.strings.push(value);
        column.indexOf.set(value, at);
      }
      column.reads[row] = READ_STRING;
      column.stringAt[row] = at;
    } else column.reads[row] = READ_OTHER;
  }
  byKey.set(name, column);
  return column;
}

/**
 * Sets mask[row] to whether the row passes the condition (`first`), or clears it for every row still set
 * that fails it; a row whose value the column does not hold is tested by `readRow`.
 */
export function applyColumn(
  column: FilterColumn,
  condition: ColumnCondition,
  mask: Uint8Array,
  first: boolean,
  readRow: (row: number) => boolean,
): void {
  const { reads, numbers, stringAt } = column;
  const passNumber = numberTest(condition);
  const passString = stringTest(column, condition);
  for (let row = 0; row < mask.length; row++) {
    if (!first && mask[row] === 0) continue;
    const read = reads[row];
    const pass =
      read === READ_NUMBER
        ? passNumber(numbers[row] as number)
        : read === READ_STRING
          ? passString[stringAt[row] as number] === 1
          : read === READ_OTHER && readRow(row);
    mask[row] = pass ? 1 : 0;
  }
}

/** The condition's test of a number read (the row-by-row reader's rules for a number). */
function numberTest(condition: ColumnCondition): (x: number) => boolean {
  switch (condition.type) {
    case 'match':
      return (x) => x === condition.value;
    case 'any':
      return (x) => condition.values.has(x);
    case 'except':
      return (x) => !condition.values.has(x);
    case 'range':
      return condition.bounds.kind === 'number' ? (x) => inRange(x, condition.bounds) : () => false;
  }
}

/** 1 for each of the column's strings the condition passes. */
function stringTest(column: FilterColumn, condition: ColumnCondition): Uint8Array {
  const { strings } = column;
  const pass = new Uint8Array(strings.length);
  switch (condition.type) {
    case 'match': {
      const at = typeof condition.value === 'string' ? column.indexOf.get(condition.value) : undefined;
      if (at !== undefined) pass[at] = 1;
      return pass;
    }
    case 'any':
    case 'except': {
      const wanted = condition.type === 'any';
      strings.forEach((text, i) => {
        pass[i] = condition.values.has(text) === wanted ? 1 : 0;
      });
      return pass;
    }
    case 'range': {
      if (condition.bounds.kind !== 'time') return pass;
      if (column.times === null) {
        column.times = Float64Array.from(strings, (text) => parseTimestamp(text) ?? Number.NaN);
      }
      const { times } = column;
      for (let i = 0; i < strings.length; i++) {
        const time = times[i] as number;
        if (!Number.isNaN(time) && inRange(time, condition.bounds)) pass[i] = 1;
      }
      return pass;
    }
  }
}

export function inRange(n: number, b: RangeBounds): boolean {
  return (
    (b.gt === undefined || n > b.gt) &&
    (b.gte === undefined || n >= b.gte) &&
    (b.lt === undefined || n < b.lt) &&
    (b.lte === undefined || n <= b.lte)
  );
}
