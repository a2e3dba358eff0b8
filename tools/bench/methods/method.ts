/** One way of answering "the top-k chunks of this bot for this query vector", as the bench times it. */
export type SearchMethod = {
  /** Returns chunk ids, best first. */
  search(query: Float32Array, k: number): Promise<string[]>;
  /** Releases what the method holds (tables, clients, temp directories). */
  close?(): Promise<void>;
};
