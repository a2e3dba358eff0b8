/**
 * Turns text into BM25 terms. Word splitting is Unicode's (UAX #29, through the platform's
 * `Intl.Segmenter`), lower-casing is Unicode's (`toLowerCase` after NFKC), stop words come from the
 * `stopword` package's English list and stemming from `wink-porter2-stemmer` (Porter2, the Snowball
 * English stemmer). A whitespace-separated piece that holds a digit and is letters/digits joined by
 * `-_./:#` is a code (`E-1042`, `v2.3`, `SKU_77/B`) and stays one term, never split, stemmed or dropped.
 */
import { eng as englishStopWords } from 'stopword';
import porter2 from 'wink-porter2-stemmer';

export type TokeniserOptions = {
  /** Porter2 stemming of plain English words (default true). */
  stem: boolean;
};

export const DEFAULT_TOKENISER: TokeniserOptions = { stem: true };

const STOP_WORDS: ReadonlySet<string> = new Set(englishStopWords);
const SEGMENTER = new Intl.Segmenter('und', { granularity: 'word' });
const HAS_DIGIT = /\p{N}/u;
const CODE = /^[\p{L}\p{M}\p{N}]+(?:[-_./:#][\p{L}\p{M}\p{N}]+)*$/u;
const EDGE_PUNCTUATION = /^[^\p{L}\p{M}\p{N}]+|[^\p{L}\p{M}\p{N}]+$/gu;
const PLAIN_ENGLISH = /^[a-z]+(?:'[a-z]+)?$/;

/** One word (already lower case) as its term, or null for a stop word. */
function termOfWord(word: string, options: TokeniserOptions): string | null {
  if (STOP_WORDS.has(word)) return null;
  if (!options.stem || !PLAIN_ENGLISH.test(word)) return word;
  // Porter2 keeps "'s" forms apart; the possessive adds nothing to a search term.
  return porter2(word.endsWith("'s") ? word.slice(0, -2) : word);
}

/**
 * The terms of `text` in order (repeats kept: they are term frequencies). Stop words are left out.
 */
export function tokenise(text: string, options: TokeniserOptions = DEFAULT_TOKENISER): string[] {
  const out: string[] = [];
  for (const raw of text.normalize('NFKC').toLowerCase().split(/\s+/u)) {
    const piece = raw.replace(EDGE_PUNCTUATION, '');
    if (piece === '') continue;
    if (HAS_DIGIT.test(piece) && CODE.test(piece)) {
      out.push(piece);
      continue;
    }
    for (const segment of SEGMENTER.segment(piece)) {
      if (segment.isWordLike !== true) continue;
      const term = termOfWord(segment.segment, options);
      if (term !== null && term !== '') out.push(term);
    }
  }
  return out;
}
