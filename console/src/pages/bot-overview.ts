import { html } from 'htm/preact';
import { useCallback } from 'preact/hooks';
import type { ApiClient, Bot, BotVerdict } from '../api';
import { ErrorBox, Status, useAction, useLoadOnView } from '../ui';

/** Counts that a view of the bot shows (the overview's, and after a document is deleted). */
export function Counts({ bot }: { bot: Bot }) {
  return html`<dl class="counts" aria-label="Counts">
    <dt>Name</dt><dd>${bot.name ?? '–'}</dd>
    <dt>Status</dt><dd>${bot.status}</dd>
    <dt>Documents</dt><dd data-count="documents">${bot.total_documents}</dd>
    <dt>Chunks</dt><dd data-count="chunks">${bot.total_chunks}</dd>
    <dt>Dimension</dt><dd>${bot.embedding_dimension}</dd>
    <dt>Updated</dt><dd>${bot.updated_at}</dd>
  </dl>`;
}

/** A bot's record and, when asked, the doctor's read-only verdict. */
export function BotOverview({ api, botId }: { api: ApiClient; botId: string }) {
  const bot = useLoadOnView(() => api.getBot(botId), [botId]);
  const verdict = useAction(useCallback(() => api.checkBot(botId), [api, botId]));
  return html`
    <h2 tabindex="-1">Bot ${botId}</h2>
    <${Status} loading=${bot.loading} />
    <${ErrorBox} error=${bot.error} />
    ${bot.data === undefined ? null : html`<div class="card"><${Counts} bot=${bot.data} /></div>`}
    <div class="row"><button type="button" onClick=${() => bot.start()}>Refresh counts</button></div>
    <section class="card" aria-labelledby="health">
      <h3 id="health">Health</h3>
      <p class="muted">The doctor's check, read-only: recounts the bot from VectorEmbeddings and compares its
        counts, documents and snapshot. Repairs stay with <code>npm run doctor -- --repair</code>.</p>
      <button type="button" class="primary" onClick=${() => verdict.start()} disabled=${verdict.loading}>Run the doctor's check</button>
      <${Status} loading=${verdict.loading} text="Checking…" />
      <${ErrorBox} error=${verdict.error} />
      ${verdict.data === undefined ? null : html`<${Verdict} verdict=${verdict.data} />`}
    </section>
  `;
}

function Verdict({ verdict }: { verdict: BotVerdict }) {
  const { snapshot } = verdict;
  return html`<div aria-live="polite">
    <p class=${verdict.healthy ? 'ok' : 'warn'} data-verdict=${verdict.healthy ? 'healthy' : 'drift'}>
      <strong>${verdict.healthy ? 'Healthy: counts match and the snapshot is current.' : 'Drift found.'}</strong>
    </p>
    <dl class="counts">
      <dt>Chunks</dt><dd>recorded ${verdict.recorded.chunks}, VectorEmbeddings ${verdict.truth.chunks}</dd>
      <dt>Documents</dt><dd>recorded ${verdict.recorded.documents}, VectorEmbeddings ${verdict.truth.documents}</dd>
      <dt>Snapshot</dt><dd>${snapshot.state}${
        snapshot.state === 'current'
          ? `: ${snapshot.missing} missing, ${snapshot.extra} extra, ${snapshot.different} different`
          : ''
      }</dd>
      ${verdict.totals_drift === null ? null : html`<dt>Totals drift</dt><dd>${verdict.totals_drift.chunks} chunks, ${verdict.totals_drift.documents} documents</dd>`}
    </dl>
    ${
      verdict.drifted_documents_count > 0
        ? html`<p>${verdict.drifted_documents_count} document(s) with a wrong count:</p>
            <ul>${verdict.drifted_documents.map((d) => html`<li>${d.filename}: recorded ${d.recorded}, VectorEmbeddings ${d.truth}</li>`)}</ul>`
        : null
    }
    ${snapshot.examples.length > 0 ? html`<p>Chunks that drifted: <code>${snapshot.examples.join(', ')}</code></p>` : null}
  </div>`;
}
