import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { ApiClient, ListedBot } from '../api';
import { ErrorBox, hrefOf, Status, useLoadOnView } from '../ui';

const PAGE = 50;

/** The caller's bots: one page at a time, with counts, status, dimension and snapshot state. */
export function BotsPage({ api }: { api: ApiClient }) {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useLoadOnView(
    () => api.listBots({ limit: PAGE, ...(cursor === undefined ? {} : { cursor }) }),
    [cursor],
  );
  const bots = page.data?.bots ?? [];
  const next = page.data?.next_cursor;
  return html`
    <h2 tabindex="-1">Your bots</h2>
    <${Status} loading=${page.loading} />
    <${ErrorBox} error=${page.error} />
    ${
      page.data !== undefined && bots.length === 0
        ? html`<p>No bots belong to this token's user. Create one with <code>PUT /bots/{botId}</code>.</p>`
        : null
    }
    ${
      bots.length > 0
        ? html`<div class="scroll"><table>
            <caption class="sr-only">Bots owned by this token's user</caption>
            <thead><tr><th scope="col">Bot</th><th scope="col">Status</th><th scope="col">Documents</th>
              <th scope="col">Chunks</th><th scope="col">Dimension</th><th scope="col">Snapshot</th></tr></thead>
            <tbody>${bots.map((bot) => html`<${BotRow} key=${bot.bot_id} bot=${bot} />`)}</tbody>
          </table></div>`
        : null
    }
    <div class="row gap-top">
      ${cursors.length > 1 ? html`<button type="button" onClick=${() => setCursors(cursors.slice(0, -1))}>Previous page</button>` : null}
      ${next !== undefined ? html`<button type="button" onClick=${() => setCursors([...cursors, next])}>Next page</button>` : null}
      <button type="button" onClick=${() => page.start()}>Refresh</button>
    </div>
  `;
}

function BotRow({ bot }: { bot: ListedBot }) {
  return html`<tr data-bot=${bot.bot_id}>
    <td><a href=${hrefOf('bots', bot.bot_id)}>${bot.name ?? bot.bot_id}</a>${bot.name === null ? null : html`<br /><small class="muted">${bot.bot_id}</small>`}</td>
    <td>${bot.status}</td>
    <td>${bot.total_documents}</td>
    <td>${bot.total_chunks}</td>
    <td>${bot.embedding_dimension}</td>
    <td class=${bot.snapshot === 'current' ? 'ok' : 'warn'}>${bot.snapshot}</td>
  </tr>`;
}
