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

/** The terms of one whitespace-separated piece (lower case, NFKC), uncached. */
function termsOfPiece(raw: string, options: TokeniserOptions): string[] {
  const piece = raw.replace(EDGE_PUNCTUATION, '');
  if (piece === '') return [];
  if (PLAIN_ENGLISH.test(piece)) {
    const term = termOfWord(piece, options);
    return term === null ? [] : [term];
  }
  if (HAS_DIGIT.test(piece) && CODE.test(piece)) return [piece];
  const out: string[] = [];
  for (const segment of SEGMENTER.segment(piece)) {
    if (segment.isWordLike !== true) continue;
    const term = termOfWord(segment.segment, options);
    if (term !== null && term !== '') out.push(term);
  }
  return out;
}

/** Pieces repeat across a bot's chunks (its vocabulary): their terms are remembered, per option set. */
const MAX_REMEMBERED_PIECES = 200_000;
const remembered = new Map<boolean, Map<string, readonly string[]>>([
  [true, new Map()],
  [false, new Map()],
]);

/**
 * The terms of `text` in order (repeats kept: they are term frequencies). Stop words are left out.
 */
export function tokenise(text: string, options: TokeniserOptions = DEFAULT_TOKENISER): string[] {
  const memo = remembered.get(options.stem) as Map<string, readonly string[]>;
  const out: string[] = [];
  for (const raw of text.normalize('NFKC').toLowerCase().split(/\s+/u)) {
    if (raw === '') continue;
    let terms = memo.get(raw);
    if (terms === undefined) {
      terms = termsOfPiece(raw, options);
      if (memo.size >= MAX_REMEMBERED_PIECES) memo.clear();
      memo.set(raw, terms);
    }
    for (const term of terms) out.push(term);
  }
  return out;
}
