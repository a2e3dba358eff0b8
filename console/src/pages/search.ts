import { html } from 'htm/preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { devEmbed } from '../../../src/domain/dev-embedder';
import type { ApiClient, SearchHit, SearchRequest, SearchResponse } from '../api';
import { buildFilter, type ConditionRow } from '../filter-builder';
import { takeSeed } from '../seed';
import { matchedTerms } from '../terms';
import { ErrorBox, Status, score, useAction } from '../ui';
import { FilterRows } from './filter-editor';

type Form = {
  queryText: string;
  embedQuery: boolean;
  vector: string;
  limit: string;
  threshold: string;
  fusion: '' | 'rrf' | 'weighted' | 'dbsf';
  rrfK: string;
  vectorWeight: string;
  keywordWeight: string;
  alpha: string;
  groupBy: boolean;
  groupSize: string;
  mmr: boolean;
  diversity: string;
  candidates: string;
  withVectors: boolean;
};

const initialForm = (devEmbedder: boolean, vector = ''): Form => ({
  queryText: '',
  embedQuery: devEmbedder,
  vector,
  limit: '5',
  threshold: '',
  fusion: '',
  rrfK: '60',
  vectorWeight: '1',
  keywordWeight: '1',
  alpha: '0.5',
  groupBy: false,
  groupSize: '3',
  mmr: false,
  diversity: '0.5',
  candidates: '',
  withVectors: true,
});

/** The request the form describes. @throws Error naming the field that does not parse. */
function requestOf(form: Form, filterText: string, devEmbedder: boolean): SearchRequest {
  const request: SearchRequest = { limit: Number(form.limit) };
  const text = form.queryText.trim();
  if (form.vector.trim() !== '') {
    let vector: unknown;
    try {
      vector = JSON.parse(form.vector);
    } catch {
      throw new Error('Query vector: not JSON (paste an array of numbers)');
    }
    if (!Array.isArray(vector) || !vector.every((n) => typeof n === 'number'))
      throw new Error('Query vector: must be an array of numbers');
    request.embedding = vector;
  } else if (devEmbedder && form.embedQuery && text !== '') {
    request.embedding = devEmbed(text);
  }
  if (text !== '') request.query_text = text;
  if (form.threshold.trim() !== '') request.score_threshold = Number(form.threshold);
  if (form.fusion === 'rrf') {
    const weights = { vector: Number(form.vectorWeight), keyword: Number(form.keywordWeight) };
    request.fusion = {
      method: 'rrf',
      k: Number(form.rrfK),
      // Equal weights are plain RRF: send them only when they say something.
      ...(weights.vector === weights.keyword ? {} : { weights }),
    };
  }
  if (form.fusion === 'weighted') request.fusion = { method: 'weighted', alpha: Number(form.alpha) };
  if (form.fusion === 'dbsf') request.fusion = { method: 'dbsf' };
  if (form.groupBy) {
    request.group_by = 'filename';
    request.group_size = Number(form.groupSize);
  }
  if (form.mmr) {
    request.mmr = {
      diversity: Number(form.diversity),
      ...(form.candidates.trim() === '' ? {} : { candidates: Number(form.candidates) }),
    };
  }
  if (filterText.trim() !== '') {
    try {
      request.filter = JSON.parse(filterText);
    } catch {
      throw new Error('Filter JSON: not valid JSON');
    }
  }
  if (form.withVectors) request.with_vectors = true;
  return request;
}

/** The request as shown: a long embedding is abbreviated (the rest is exactly what is sent). */
function shown(request: SearchRequest): string {
  const { embedding, ...rest } = request;
  const abbreviated =
    embedding === undefined
      ? rest
      : {
          embedding: `[${embedding.length} numbers: ${embedding
            .slice(0, 3)
            .map((n) => n.toFixed(3))
            .join(', ')}, …]`,
          ...rest,
        };
  return JSON.stringify(abbreviated, null, 2);
}

/** The search playground: keyword, vector or hybrid search with filters, grouping, MMR and fusion. */
export function SearchPage({
  api,
  botId,
  devEmbedder,
}: {
  api: ApiClient;
  botId: string;
  devEmbedder: boolean;
}) {
  const [seed] = useState(takeSeed);
  const [form, setForm] = useState<Form>(() =>
    initialForm(devEmbedder, seed === undefined ? '' : JSON.stringify(seed.vector)),
  );
  const [rows, setRows] = useState<ConditionRow[]>([]);
  const [filterText, setFilterText] = useState('');
  const [sent, setSent] = useState<{ request: SearchRequest; query: string } | undefined>(undefined);
  const [formError, setFormError] = useState<string | undefined>(undefined);
  const search = useAction(useCallback((request: SearchRequest) => api.search(botId, request), [api, botId]));
  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm((f) => ({ ...f, [key]: value }));
  const text = (e: Event) => (e.target as HTMLInputElement).value;
  const checked = (e: Event) => (e.target as HTMLInputElement).checked;

  const run = (current: Form) => {
    setFormError(undefined);
    let request: SearchRequest;
    try {
      request = requestOf(current, filterText, devEmbedder);
    } catch (error) {
      setFormError((error as Error).message);
      return;
    }
    setSent({ request, query: current.queryText.trim() });
    void search.start(request);
  };
  // A seed is "more like this" asked for on another view: run it as that click's search.
  useEffect(() => {
    if (seed !== undefined) run(form);
  }, []);
  const moreLike = (hit: SearchHit) => {
    if (hit.vector === undefined) return;
    const next = { ...form, queryText: '', vector: JSON.stringify(hit.vector) };
    setForm(next);
    run(next);
  };
  const changeRows = (next: ConditionRow[]) => {
    setRows(next);
    const filter = buildFilter(next);
    setFilterText(filter === undefined ? '' : JSON.stringify(filter, null, 2));
  };

  return html`
    <h2 tabindex="-1">Search ${botId}</h2>
    ${seed === undefined ? null : html`<p class="muted">More like ${seed.label}</p>`}
    <form onSubmit=${(e: Event) => {
      e.preventDefault();
      run(form);
    }} aria-label="Search">
      <label for="query-text">Query text</label>
      <textarea id="query-text" rows="2" value=${form.queryText} onInput=${(e: Event) => set('queryText', text(e))}></textarea>
      ${
        devEmbedder
          ? html`<div class="inline"><input id="embed-query" type="checkbox" checked=${form.embedQuery}
          onChange=${(e: Event) => set('embedQuery', checked(e))} />
        <label for="embed-query"> Embed the query text with the dev embedder (hybrid search)</label></div>`
          : null
      }
      <label for="query-vector">Query vector (JSON array; replaces the embedded query text)</label>
      <textarea id="query-vector" rows="2" value=${form.vector} onInput=${(e: Event) => set('vector', text(e))}></textarea>
      <div class="row">
        <div><label for="limit">Limit</label><input id="limit" type="number" min="1" max="100" size="4" value=${form.limit} onInput=${(e: Event) => set('limit', text(e))} /></div>
        <div><label for="threshold">Score threshold</label><input id="threshold" size="6" value=${form.threshold} onInput=${(e: Event) => set('threshold', text(e))} /></div>
        <div><label for="fusion">Fusion (hybrid)</label>
          <select id="fusion" value=${form.fusion} onChange=${(e: Event) => set('fusion', text(e) as Form['fusion'])}>
            <option value="">default (rrf, k 60)</option><option value="rrf">rrf</option><option value="weighted">weighted</option><option value="dbsf">dbsf (distribution-based)</option>
          </select></div>
        ${
          form.fusion === 'rrf'
            ? html`<div><label for="rrf-k">RRF k</label><input id="rrf-k" size="4" value=${form.rrfK} onInput=${(e: Event) => set('rrfK', text(e))} /></div>
          <div><label for="vector-weight">Vector weight</label><input id="vector-weight" size="4" value=${form.vectorWeight} onInput=${(e: Event) => set('vectorWeight', text(e))} /></div>
          <div><label for="keyword-weight">Keyword weight</label><input id="keyword-weight" size="4" value=${form.keywordWeight} onInput=${(e: Event) => set('keywordWeight', text(e))} /></div>`
            : null
        }
        ${form.fusion === 'weighted' ? html`<div><label for="alpha">Alpha (vector weight)</label><input id="alpha" size="4" value=${form.alpha} onInput=${(e: Event) => set('alpha', text(e))} /></div>` : null}
      </div>
      <div class="row">
        <div class="inline"><input id="group-by" type="checkbox" checked=${form.groupBy} onChange=${(e: Event) => set('groupBy', checked(e))} /><label for="group-by"> Group by document</label></div>
        ${form.groupBy ? html`<div><label for="group-size">Group size</label><input id="group-size" size="4" value=${form.groupSize} onInput=${(e: Event) => set('groupSize', text(e))} /></div>` : null}
        <div class="inline"><input id="mmr" type="checkbox" checked=${form.mmr} onChange=${(e: Event) => set('mmr', checked(e))} /><label for="mmr"> MMR</label></div>
        ${
          form.mmr
            ? html`<div><label for="diversity">Diversity</label><input id="diversity" size="4" value=${form.diversity} onInput=${(e: Event) => set('diversity', text(e))} /></div>
          <div><label for="candidates">Candidates</label><input id="candidates" size="4" value=${form.candidates} onInput=${(e: Event) => set('candidates', text(e))} /></div>`
            : null
        }
        <div class="inline"><input id="with-vectors" type="checkbox" checked=${form.withVectors} onChange=${(e: Event) => set('withVectors', checked(e))} /><label for="with-vectors"> Return vectors (for "More like this")</label></div>
      </div>
      <fieldset class="card"><legend>Filter</legend>
        <${FilterRows} rows=${rows} onChange=${changeRows} />
        <label for="filter-json">Filter JSON (sent as <code>filter</code>; edit freely)</label>
        <textarea id="filter-json" rows="5" value=${filterText} onInput=${(e: Event) => setFilterText(text(e))}></textarea>
      </fieldset>
      <button type="submit" class="primary">Search</button>
    </form>
    <${ErrorBox} error=${formError} />
    <${Status} loading=${search.loading} text="Searching…" />
    <${ErrorBox} error=${search.error} />
    ${sent === undefined ? null : html`<details><summary>Request sent</summary><pre id="request-sent">${shown(sent.request)}</pre></details>`}
    ${search.data === undefined ? null : html`<${Results} answer=${search.data} query=${sent?.query ?? ''} onMore=${moreLike} />`}
  `;
}

function Results({
  answer,
  query,
  onMore,
}: {
  answer: SearchResponse;
  query: string;
  onMore: (hit: SearchHit) => void;
}) {
  const groups = answer.groups ?? [{ filename: '', hits: answer.results ?? [] }];
  const count = groups.reduce((n, g) => n + g.hits.length, 0);
  return html`<section aria-labelledby="results-title" id="results">
    <h3 id="results-title">${count} results <small class="muted">(from ${answer.source})</small></h3>
    ${
      answer.keyword_matches === 0
        ? html`<p id="keyword-matches" role="status">No chunk matches a query term: ranked by the vector alone.</p>`
        : answer.keyword_matches === undefined
          ? null
          : html`<p id="keyword-matches" class="muted">${answer.keyword_matches} chunks match a query term.</p>`
    }
    ${groups.map(
      (group) => html`<div>
        ${answer.groups === undefined ? null : html`<h4>${group.filename}</h4>`}
        <ol>${group.hits.map((hit) => html`<li><${Hit} hit=${hit} query=${query} onMore=${onMore} /></li>`)}</ol>
      </div>`,
    )}
  </section>`;
}

const SCORES = ['score', 'vector_score', 'keyword_score', 'fused_score'] as const;

function Hit({ hit, query, onMore }: { hit: SearchHit; query: string; onMore: (hit: SearchHit) => void }) {
  const terms = query === '' ? [] : matchedTerms(query, hit.text);
  return html`<article class="hit" data-hit=${hit.chunk_id}>
    <p><strong>${hit.metadata.filename}</strong> #${hit.metadata.chunk_index} <code class="muted">${hit.chunk_id}</code></p>
    <p class="scores">${SCORES.map(
      (name, i) => html`${i === 0 ? '' : ' · '}${name} <span data-score=${name}>${score(hit[name])}</span>`,
    )}</p>
    ${query === '' ? null : html`<p>Matched terms: <span data-matched>${terms.length === 0 ? 'none' : terms.join(', ')}</span></p>`}
    <pre>${hit.text}</pre>
    <details><summary>Metadata</summary><pre>${JSON.stringify(hit.metadata, null, 2)}</pre></details>
    <button type="button" onClick=${() => onMore(hit)} disabled=${hit.vector === undefined}
      aria-label=${`More like chunk ${hit.metadata.chunk_index} of ${hit.metadata.filename}`}>More like this</button>
  </article>`;
}
