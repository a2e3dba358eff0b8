import { html } from 'htm/preact';
import { CLAUSES, type ConditionRow, OPERATORS } from '../filter-builder';

const KEYS = ['filename', 'chunk_index', 'created_at', 'metadata.'];

/** The builder's rows: each a clause, a key, an operator and a value, all labelled for screen readers. */
export function FilterRows({
  rows,
  onChange,
}: {
  rows: ConditionRow[];
  onChange: (rows: ConditionRow[]) => void;
}) {
  const update = (index: number, change: Partial<ConditionRow>) =>
    onChange(rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  const value = (e: Event) => (e.target as HTMLInputElement).value;
  return html`<div>
    <datalist id="filter-keys">${KEYS.map((key) => html`<option value=${key} />`)}</datalist>
    ${rows.map(
      (row, i) => html`<div class="row" data-condition=${i} role="group" aria-label=${`Condition ${i + 1}`}>
        <div><label for=${`clause-${i}`}>Clause</label>
          <select id=${`clause-${i}`} value=${row.clause} onChange=${(e: Event) => update(i, { clause: value(e) as ConditionRow['clause'] })}>
            ${CLAUSES.map((c) => html`<option value=${c.value}>${c.label}</option>`)}
          </select></div>
        <div><label for=${`key-${i}`}>Key</label>
          <input id=${`key-${i}`} list="filter-keys" size="16" value=${row.key} placeholder="metadata.lang"
            onInput=${(e: Event) => update(i, { key: value(e) })} /></div>
        <div><label for=${`operator-${i}`}>Operator</label>
          <select id=${`operator-${i}`} value=${row.operator} onChange=${(e: Event) => update(i, { operator: value(e) as ConditionRow['operator'] })}>
            ${OPERATORS.map((o) => html`<option value=${o.value}>${o.label}</option>`)}
          </select></div>
        <div><label for=${`value-${i}`}>Value</label>
          <input id=${`value-${i}`} size="14" value=${row.value} disabled=${row.operator === 'is_empty' || row.operator === 'is_null'}
            onInput=${(e: Event) => update(i, { value: value(e) })} /></div>
        <button type="button" onClick=${() => onChange(rows.filter((_, j) => j !== i))} aria-label=${`Remove condition ${i + 1}`}>Remove</button>
      </div>`,
    )}
    <button type="button" class="gap-top" onClick=${() => onChange([...rows, { clause: 'must', key: '', operator: 'equals', value: '' }])}>Add condition</button>
  </div>`;
}
