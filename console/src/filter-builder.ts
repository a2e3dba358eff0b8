/**
 * The playground's filter builder: rows of conditions turned into the Qdrant-style filter the search
 * route takes (openapi.yaml: SearchFilter). Pure, so the JSON shown is exactly the JSON sent.
 */

export type Clause = 'must' | 'should' | 'must_not';
export type Operator = 'equals' | 'any' | 'except' | 'gte' | 'gt' | 'lte' | 'lt' | 'is_empty' | 'is_null';

/** One condition as the user edits it: the value is text until the filter is built. */
export type ConditionRow = { clause: Clause; key: string; operator: Operator; value: string };

export const OPERATORS: { value: Operator; label: string }[] = [
  { value: 'equals', label: 'equals' },
  { value: 'any', label: 'is any of (comma-separated)' },
  { value: 'except', label: 'is none of (comma-separated)' },
  { value: 'gte', label: '≥' },
  { value: 'gt', label: '>' },
  { value: 'lte', label: '≤' },
  { value: 'lt', label: '<' },
  { value: 'is_empty', label: 'is empty or missing' },
  { value: 'is_null', label: 'is null' },
];

export const CLAUSES: { value: Clause; label: string }[] = [
  { value: 'must', label: 'must' },
  { value: 'should', label: 'should' },
  { value: 'must_not', label: 'must not' },
];

/** A typed value: a number or boolean when the text is one, else the text itself. */
export function typedValue(text: string): string | number | boolean {
  const trimmed = text.trim();
  if (trimmed === 'true') return true;
  if (trimmed === 'false') return false;
  if (trimmed !== '' && Number.isFinite(Number(trimmed))) return Number(trimmed);
  return trimmed;
}

/** A range bound: a number when the text is one (timestamps stay strings). */
function bound(text: string): string | number {
  const trimmed = text.trim();
  return trimmed !== '' && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

function condition(row: ConditionRow): Record<string, unknown> {
  const key = row.key.trim();
  switch (row.operator) {
    case 'is_empty':
      return { is_empty: { key } };
    case 'is_null':
      return { is_null: { key } };
    case 'equals':
      return { key, match: { value: typedValue(row.value) } };
    case 'any':
    case 'except':
      return { key, match: { [row.operator]: row.value.split(',').map(typedValue) } };
    default:
      return { key, range: { [row.operator]: bound(row.value) } };
  }
}

/** The filter of the rows with a key, grouped by clause; undefined when there are none. */
export function buildFilter(rows: readonly ConditionRow[]): Record<string, unknown[]> | undefined {
  const filter: Record<string, unknown[]> = {};
  for (const row of rows) {
    if (row.key.trim() === '') continue;
    const list = filter[row.clause] ?? [];
    list.push(condition(row));
    filter[row.clause] = list;
  }
  return Object.keys(filter).length === 0 ? undefined : filter;
}
