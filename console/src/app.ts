import { html } from 'htm/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiClient } from './api';
import { BotOverview } from './pages/bot-overview';
import { BotsPage } from './pages/bots';
import { DocumentsPage } from './pages/documents';
import { SearchPage } from './pages/search';
import type { Settings } from './settings';
import { hrefOf } from './ui';

const TOKEN_KEY = 'ddb-vector-sync-console-token';

/** The hash route: `#/`, `#/bots/<id>`, `#/bots/<id>/documents`, `#/bots/<id>/search`. */
type Route = { view: 'bots' } | { view: 'overview' | 'documents' | 'search'; botId: string };

function routeOf(hash: string): Route {
  const parts =
    hash.replace(/^#\/?/, '').split('?')[0]?.split('/').filter(Boolean).map(decodeURIComponent) ?? [];
  if (parts[0] === 'bots' && parts[1] !== undefined) {
    const view = parts[2] === 'documents' ? 'documents' : parts[2] === 'search' ? 'search' : 'overview';
    return { view, botId: parts[1] };
  }
  return { view: 'bots' };
}

/** The console: a token, then the caller's bots, a bot's documents and chunks, health and search. */
export function App({ settings }: { settings: Settings }) {
  const [hash, setHash] = useState(location.hash);
  const [token, setToken] = useState(sessionStorage.getItem(TOKEN_KEY) ?? settings.devToken ?? '');
  const [draft, setDraft] = useState(token);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  const route = routeOf(hash);
  const api = useMemo(() => new ApiClient(settings.apiBase, token), [settings.apiBase, token]);
  // Moving to a new view puts focus on its heading, so a screen reader announces where the user is.
  useEffect(() => {
    document.querySelector<HTMLElement>('main h2')?.focus();
  }, [hash]);

  const useToken = (event: Event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, draft.trim());
    setToken(draft.trim());
  };

  return html`
    <header>
      <h1><a href="#/">ddb-vector-sync console</a></h1>
      <form class="row" onSubmit=${useToken} aria-label="API token">
        <div>
          <label for="token" class="token-label">Token</label>
          <input id="token" type="password" autocomplete="off" size="28" value=${draft}
            onInput=${(e: Event) => setDraft((e.target as HTMLInputElement).value)} />
        </div>
        <button type="submit">Use token</button>
      </form>
    </header>
    <main>
      ${
        token === ''
          ? html`<h2 tabindex="-1">Paste a token</h2>
              <p>The console calls the HTTP API with a Bearer token and sees exactly what the API shows that token: paste one above.</p>`
          : html`${
              route.view === 'bots'
                ? html`<${BotsPage} key=${token} api=${api} />`
                : html`
              <${BotTabs} botId=${route.botId} view=${route.view} />
              ${route.view === 'overview' ? html`<${BotOverview} key=${`${token}|${route.botId}`} api=${api} botId=${route.botId} />` : null}
              ${route.view === 'documents' ? html`<${DocumentsPage} key=${`${token}|${route.botId}`} api=${api} botId=${route.botId} />` : null}
              ${
                route.view === 'search'
                  ? html`<${SearchPage} key=${`${token}|${route.botId}`} api=${api} botId=${route.botId}
                      devEmbedder=${settings.devEmbedder} />`
                  : null
              }`
            }`
      }
    </main>
  `;
}

function BotTabs({ botId, view }: { botId: string; view: string }) {
  const tab = (target: string, label: string, href: string) =>
    html`<a href=${href} aria-current=${view === target ? 'page' : undefined}>${label}</a>`;
  return html`<nav class="tabs" aria-label="Bot">
    <a href="#/">← All bots</a>
    ${tab('overview', 'Overview', hrefOf('bots', botId))}
    ${tab('documents', 'Documents', hrefOf('bots', botId, 'documents'))}
    ${tab('search', 'Search', hrefOf('bots', botId, 'search'))}
  </nav>`;
}
