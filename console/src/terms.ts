import { tokenise } from '../../src/domain/keyword-text';

/**
 * The words of the query (as typed, once each) whose terms a chunk's text holds, by the tokeniser keyword
 * search itself uses (Unicode words, stop words out, Porter2 stems): "streams" matches a text saying
 * "stream", because BM25 counted it so.
 */
export function matchedTerms(query: string, text: string): string[] {
  const inText = new Set(tokenise(text));
  const words: string[] = [];
  for (const piece of query.split(/\s+/)) {
    const word = piece.replace(/^[^\p{L}\p{M}\p{N}]+|[^\p{L}\p{M}\p{N}]+$/gu, '');
    if (word === '' || words.some((w) => w.toLowerCase() === word.toLowerCase())) continue;
    if (tokenise(word).some((term) => inText.has(term))) words.push(word);
  }
  return words;
}
