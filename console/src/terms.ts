import { tokenise } from '../../src/domain/keyword-text';

/**
 * Which of the query's terms a chunk's text holds, by the tokeniser keyword search itself uses (Unicode
 * words, stop words out, Porter2 stems), so "matched" means what BM25 counted.
 */
export function matchedTerms(query: string, text: string): string[] {
  const inText = new Set(tokenise(text));
  return [...new Set(tokenise(query))].filter((term) => inText.has(term));
}

/** Every query term, once each, in order. */
export function queryTerms(query: string): string[] {
  return [...new Set(tokenise(query))];
}
