/**
 * Turns text into BM25 terms. Word splitting is Unicode's (UAX #29, through the platform's
 * `Intl.Segmenter`), lower-casing is Unicode's (`toLowerCase` after NFKC), stop words come from the
 * `stopword` package's English list and stemming from `wink-porter2-stemmer` (Porter2, the Snowball
 * English stemmer). A whitespace-separated piece that holds a digit and is letters/digits joined by
 * `-_./:#` is a code (`E-1042`, `v2.3`, `SKU_77/B`) and stays one term, never split, stemmed or dropped.
 *
 * Every step is linear in the text's length. Porter2's cost grows with the square of a word's length, so
 * only words of at most `MAX_STEMMED_WORD_LENGTH` letters are stemmed; a longer word is kept whole, as
 * its own term (no English word comes near the limit, so stemming of real text is unchanged).
 */
import { eng as englishStopWords } from 'stopword';
import porter2 from 'wink-porter2-stemmer';

export type TokeniserOptions = {
  /** Porter2 stemming of plain English words (default true). */
  stem: boolean;
};

export const DEFAULT_TOKENISER: TokeniserOptions = { stem: true };

/** Stems one lower-case plain English word (Porter2 unless a test passes its own). */
export type Stemmer = (word: string) => string;

/**
 * Longest word that is stemmed. English words stop well short of it (the longest in major dictionaries
 * has 45 letters); Porter2's quadratic cost at this length is a few microseconds.
 */
export const MAX_STEMMED_WORD_LENGTH = 64;

/** Pieces longer than this are tokenised each time rather than remembered (the memo holds vocabulary). */
const MAX_REMEMBERED_PIECE_LENGTH = 256;

const STOP_WORDS: ReadonlySet<string> = new Set(englishStopWords);
const SEGMENTER = new Intl.Segmenter('und', { granularity: 'word' });
const HAS_DIGIT = /\p{N}/u;
const CODE = /^[\p{L}\p{M}\p{N}]+(?:[-_./:#][\p{L}\p{M}\p{N}]+)*$/u;
const WORD_CHARACTER = /[\p{L}\p{M}\p{N}]/u;
const PLAIN_ENGLISH = /^[a-z]+(?:'[a-z]+)?$/;

/** One word (already lower case) as its term, or null for a stop word. */
function termOfWord(word: string, options: TokeniserOptions, stemmer: Stemmer): string | null {
  if (STOP_WORDS.has(word)) return null;
  if (!options.stem || word.length > MAX_STEMMED_WORD_LENGTH || !PLAIN_ENGLISH.test(word)) return word;
  // Porter2 keeps "'s" forms apart; the possessive adds nothing to a search term.
  return stemmer(word.endsWith("'s") ? word.slice(0, -2) : word);
}

/**
 * `raw` without the characters at either end that are not letters, marks or digits. A loop, not a `^…+|…+$` regular expression: that one
 * backtracks from every position of a long run of punctuation, which is quadratic.
 */
export function trimPunctuation(raw: string): string {
  let start = 0;
  while (start < raw.length) {
    const codePoint = raw.codePointAt(start) as number;
    if (WORD_CHARACTER.test(String.fromCodePoint(codePoint))) break;
    start += codePoint > 0xffff ? 2 : 1;
  }
  let end = raw.length;
  while (end > start) {
    // A low surrogate ends a pair: step back over the whole code point.
    const last = end - 2 >= start && isSurrogatePair(raw, end - 2) ? end - 2 : end - 1;
    if (WORD_CHARACTER.test(String.fromCodePoint(raw.codePointAt(last) as number))) break;
    end = last;
  }
  return start === 0 && end === raw.length ? raw : raw.slice(start, end);
}

function isSurrogatePair(text: string, at: number): boolean {
  const high = text.charCodeAt(at);
  const low = text.charCodeAt(at + 1);
  return high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff;
}

/**
 * Characters the word segmenter is given at a time. Walking `Intl.Segmenter`'s segments of one string
 * costs time in the square of its length, so a longer piece is segmented window by window.
 */
const SEGMENT_WINDOW = 512;

type WordSegment = { segment: string; isWordLike: boolean };

/**
 * The piece's UAX #29 segments, in windows of SEGMENT_WINDOW characters: the last segment of a window may
 * run on past it, so the next window starts where that segment starts. A segment that fills a whole
 * window is part of a longer one: it is carried and joined to the next window's first segment. Pieces up
 * to the window's size (all ordinary text) are segmented in one go, exactly as a whole.
 */
function* wordSegments(piece: string): Iterable<WordSegment> {
  if (piece.length <= SEGMENT_WINDOW) {
    for (const { segment, isWordLike } of SEGMENTER.segment(piece))
      yield { segment, isWordLike: isWordLike === true };
    return;
  }
  let carry: WordSegment | null = null;
  let start = 0;
  while (start < piece.length) {
    let end = Math.min(start + SEGMENT_WINDOW, piece.length);
    if (end < piece.length && isSurrogatePair(piece, end - 1)) end -= 1;
    const segments = Array.from(SEGMENTER.segment(piece.slice(start, end)), ({ segment, isWordLike }) => ({
      segment,
      isWordLike: isWordLike === true,
    }));
    const settled = end === piece.length ? segments.length : segments.length - 1;
    if (settled === 0) {
      const whole = segments[0] as WordSegment;
      carry =
        carry === null ? whole : { segment: carry.segment + whole.segment, isWordLike: carry.isWordLike };
      start = end;
      continue;
    }
    for (let i = 0; i < settled; i++) {
      const segment = segments[i] as WordSegment;
      if (i === 0 && carry !== null) {
        yield {
          segment: carry.segment + segment.segment,
          isWordLike: carry.isWordLike || segment.isWordLike,
        };
        carry = null;
      } else {
        yield segment;
      }
      start += segment.segment.length;
    }
  }
  if (carry !== null) yield carry;
}

/**
 * Two or more ASCII punctuation or symbol characters in a row ('_' excepted: it joins words). UAX #29
 * lets at most one such character stand inside a word (`e.g`, `don't`, `3.14`), so a run of them always
 * separates words and the piece can be cut there without changing its words. This spares the segmenter
 * (about a microsecond per segment) the runs of punctuation that each count as one segment a character.
 */
const PUNCTUATION_RUN = /[!-/:-@[-^`{-~]{2,}/;

/**
 * The word-like UAX #29 segments of `piece` in order, as `Intl.Segmenter` finds them in the whole piece
 * (for pieces up to SEGMENT_WINDOW long between punctuation runs: exactly; beyond, see `wordSegments`).
 */
export function wordsOf(piece: string): string[] {
  const words: string[] = [];
  for (const part of piece.split(PUNCTUATION_RUN)) {
    if (part === '') continue;
    for (const segment of wordSegments(part)) if (segment.isWordLike) words.push(segment.segment);
  }
  return words;
}

/** The terms of one whitespace-separated piece (lower case, NFKC), uncached. */
function termsOfPiece(raw: string, options: TokeniserOptions, stemmer: Stemmer): string[] {
  const piece = trimPunctuation(raw);
  if (piece === '') return [];
  if (PLAIN_ENGLISH.test(piece)) {
    const term = termOfWord(piece, options, stemmer);
    return term === null ? [] : [term];
  }
  if (HAS_DIGIT.test(piece) && CODE.test(piece)) return [piece];
  const out: string[] = [];
  for (const word of wordsOf(piece)) {
    const term = termOfWord(word, options, stemmer);
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
 * Linear in the length of `text`; `stemmer` is Porter2 unless given (a test counts what it is passed).
 */
export function tokenise(
  text: string,
  options: TokeniserOptions = DEFAULT_TOKENISER,
  stemmer: Stemmer = porter2,
): string[] {
  // Remembered terms are Porter2's: another stemmer neither reads nor fills the memo.
  const memo = stemmer === porter2 ? (remembered.get(options.stem) as Map<string, readonly string[]>) : null;
  const out: string[] = [];
  for (const raw of text.normalize('NFKC').toLowerCase().split(/\s+/u)) {
    if (raw === '') continue;
    let terms = memo?.get(raw);
    if (terms === undefined) {
      terms = termsOfPiece(raw, options, stemmer);
      if (memo !== null && raw.length <= MAX_REMEMBERED_PIECE_LENGTH) {
        if (memo.size >= MAX_REMEMBERED_PIECES) memo.clear();
        memo.set(raw, terms);
      }
    }
    for (const term of terms) out.push(term);
  }
  return out;
}
