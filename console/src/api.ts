import type { BotView } from '../../src/domain/bot-view';
import type { DocumentSummary } from '../../src/domain/types';

/**
 * The console's one API client: every call the console makes goes through `ApiClient`, with the
 * caller's token, to the same HTTP API any backend calls. `ROUTES` lists the operations it uses;
 * test/unit/console-api.test.ts checks each against openapi.yaml (method, path, query parameters), and
 * the types below mirror openapi.yaml's schemas of the same names.
 */

export const ROUTES = {
  listBots: { method: 'GET', path: '/bots', query: ['limit', 'cursor'] },
  getBot: { method: 'GET', path: '/bots/{botId}', query: [] },
  listDocuments: { method: 'GET', path: '/bots/{botId}/documents', query: ['limit', 'cursor'] },
  listChunks: {
    method: 'GET',
    path: '/bots/{botId}/documents/chunks',
    query: ['filename', 'limit', 'cursor', 'with_vectors'],
  },
  deleteDocument: { method: 'DELETE', path: '/bots/{botId}/documents', query: ['filename'] },
  checkBot: { method: 'GET', path: '/bots/{botId}/doctor', query: [] },
  search: { method: 'POST', path: '/bots/{botId}/search', query: [] },
} as const;

export type RouteName = keyof typeof ROUTES;

export type SnapshotState = 'current' | 'stale' | 'absent' | 'unavailable';

/** openapi.yaml: Bot. */
export type Bot = BotView;

/** openapi.yaml: ListedBot. */
export type ListedBot = Bot & { snapshot: SnapshotState };

/** openapi.yaml: Document. */
export type { DocumentSummary };

/** openapi.yaml: Chunk. */
export type Chunk = {
  chunk_id: string;
  chunk_index: number;
  text: string;
  metadata: Record<string, unknown>;
  file_size: number;
  created_at: string;
  vector?: number[];
};

/** openapi.yaml: BotVerdict. */
export type BotVerdict = {
  bot_id: string;
  healthy: boolean;
  recorded: { chunks: number; documents: number };
  truth: { chunks: number; documents: number };
  drifted_documents: { filename: string; recorded: number; truth: number }[];
  drifted_documents_count: number;
  totals_drift: { chunks: number; documents: number } | null;
  snapshot: { state: SnapshotState; missing: number; extra: number; different: number; examples: string[] };
};

/** openapi.yaml: SearchRequest (the fields the playground sets). */
export type SearchRequest = {
  embedding?: number[];
  query_text?: string;
  fusion?:
    | { method: 'rrf'; k?: number; weights?: { vector: number; keyword: number } }
    | { method: 'weighted'; alpha: number }
    | { method: 'dbsf' };
  limit?: number;
  score_threshold?: number;
  filter?: unknown;
  with_vectors?: boolean;
  group_by?: 'filename';
  group_size?: number;
  mmr?: { diversity: number; candidates?: number };
};

/** openapi.yaml: SearchHit. */
export type SearchHit = {
  chunk_id: string;
  text: string;
  score: number;
  vector_score?: number;
  keyword_score?: number;
  fused_score?: number;
  metadata: { filename: string; chunk_index: number } & Record<string, unknown>;
  vector?: number[];
};

/** openapi.yaml: SearchResponse. */
export type SearchResponse = {
  source: string;
  /** Keyword and hybrid answers: how many chunks passing the filter match a query term. */
  keyword_matches?: number;
  results?: SearchHit[];
  groups?: { filename: string; hits: SearchHit[] }[];
};

/** An error answer of the API: its status and its `{ error: { code, message, field? } }` body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Query = Record<string, string | number | boolean | undefined>;

/** Calls the HTTP API at `base` with `token` (a Bearer JWT). */
export class ApiClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly fetcher: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  listBots(page: { limit?: number; cursor?: string } = {}) {
    return this.call<{ bots: ListedBot[]; next_cursor?: string }>('listBots', {}, page);
  }

  getBot(botId: string) {
    return this.call<Bot>('getBot', { botId });
  }

  listDocuments(botId: string, page: { limit?: number; cursor?: string } = {}) {
    return this.call<{ documents: DocumentSummary[]; next_cursor?: string }>(
      'listDocuments',
      { botId },
      page,
    );
  }

  listChunks(
    botId: string,
    query: { filename: string; limit?: number; cursor?: string; with_vectors?: boolean },
  ) {
    return this.call<{ total: number; chunks: Chunk[]; next_cursor?: string }>(
      'listChunks',
      { botId },
      query,
    );
  }

  deleteDocument(botId: string, filename: string) {
    return this.call<{ bot_id: string; filename: string; chunks_deleted: number }>(
      'deleteDocument',
      { botId },
      { filename },
    );
  }

  checkBot(botId: string) {
    return this.call<BotVerdict>('checkBot', { botId });
  }

  search(botId: string, request: SearchRequest) {
    return this.call<SearchResponse>('search', { botId }, {}, request);
  }

  private async call<T>(
    route: RouteName,
    params: { botId?: string },
    query: Query = {},
    body?: unknown,
  ): Promise<T> {
    const { method, path } = ROUTES[route];
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) search.set(name, String(value));
    }
    const filled = path.replace('{botId}', encodeURIComponent(params.botId ?? ''));
    const url = `${this.base}${filled}${search.size > 0 ? `?${search}` : ''}`;
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.fetcher(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const answer = parsed as
        | { error?: { code?: string; message?: string; field?: string }; message?: string }
        | undefined;
      const error = answer?.error;
      // API Gateway's JWT authorizer answers 401 with `{ "message": "Unauthorized" }`, before any handler.
      const message = error?.message ?? answer?.message;
      throw new ApiError(
        response.status,
        error?.code ?? 'http_error',
        message ?? `HTTP ${response.status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`,
        error?.field,
      );
    }
    return parsed as T;
  }
}
