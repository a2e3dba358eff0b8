import { html } from 'htm/preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

/** A request's state as a view shows it. */
export type Load<T> = { data: T | undefined; error: string | undefined; loading: boolean };

/** The API's own message for an error answer (what the user is shown), else the error's text. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return `${error.status} ${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs `run` when asked (`start`), keeping the latest answer or error. Nothing runs by itself: a view
 * that loads on arrival calls `start` once in an effect (its one request per page view).
 */
export function useAction<A extends unknown[], T>(run: (...args: A) => Promise<T>) {
  const [state, setState] = useState<Load<T>>({ data: undefined, error: undefined, loading: false });
  const start = useCallback(
    async (...args: A): Promise<T | undefined> => {
      setState((previous) => ({ ...previous, loading: true, error: undefined }));
      try {
        const data = await run(...args);
        setState({ data, error: undefined, loading: false });
        return data;
      } catch (error) {
        setState((previous) => ({ ...previous, loading: false, error: messageOf(error) }));
        return undefined;
      }
    },
    [run],
  );
  return { ...state, start, set: (data: T) => setState({ data, error: undefined, loading: false }) };
}

/** Loads once when the view appears (and again when a key changes). */
export function useLoadOnView<T>(run: () => Promise<T>, keys: unknown[]) {
  const action = useAction(run);
  useEffect(() => {
    void action.start();
  }, keys);
  return action;
}

/** An error box read out by screen readers as it appears. */
export function ErrorBox({ error }: { error: string | undefined }) {
  return error === undefined ? null : html`<p class="error" role="alert">${error}</p>`;
}

/** A polite live region for "loading" and other progress. */
export function Status({ loading, text = 'Loading…' }: { loading: boolean; text?: string }) {
  return html`<p class="muted" role="status" aria-live="polite">${loading ? text : ''}</p>`;
}

/** The hash link of a console view. */
export function hrefOf(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A score as the API gave it, to 4 decimals (the full value is in the title). */
export function score(n: number | undefined): string {
  return n === undefined ? '–' : n.toFixed(4);
}
