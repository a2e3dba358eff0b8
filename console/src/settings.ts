/** What the page tells the script (console/build.ts writes it into the page). */
export type Settings = {
  /** Prefix of every API call: '' when the API serves the page, a proxy path in dev. */
  apiBase: string;
  /** The dev token, pre-filled in dev; null in AWS. */
  devToken: string | null;
  /** Whether the playground can embed query text with the dev embedder. */
  devEmbedder: boolean;
};
