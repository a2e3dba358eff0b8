/**
 * A deterministic stand-in for a real embedding model, for `npm run dev`, the demo and tests: texts that
 * share words (and word pairs) get similar vectors, so search results make sense without downloading a
 * model. It is a feature-hashing bag of words, not semantics: synonyms do not match.
 */

/** The dimension of the platform's embeddings (and of every vector this returns). */
export const DEV_EMBEDDING_DIMENSION = 384;

/** Words that appear everywhere and would make every text look alike. */
const STOPWORDS = new Set(
  (
    'a an and are as at be been but by can do does for from has have how i if in into is it its of on or ' +
    'so than that the their them then there these they this to was we were what when where which while who ' +
    'why will with you your'
  ).split(' '),
);

const BIGRAM_WEIGHT = 0.5;

/** 32-bit FNV-1a of a string (UTF-16 code units; deterministic across platforms). */
function fnv1a(text: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** A crude stemmer: plural and common verb endings, so "streams" meets "stream" and "indexing" "index". */
function stem(word: string): string {
  if (word.length > 5 && word.endsWith('ing')) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && word.endsWith('es') && /(ss|x|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  if (word.length > 4 && word.endsWith('ed')) return word.slice(0, -2);
  return word;
}

/** Lower-cased, stemmed content words of a text, in order. */
export function devTokens(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.filter((w) => !STOPWORDS.has(w) && (w.length > 1 || /\d/.test(w))).map(stem);
}

/**
 * The text's vector: each word (weight 1) and each adjacent word pair (weight 0.5) hashed to one of
 * `dimension` slots with a hashed sign (so collisions cancel rather than pile up), counts damped with
 * log(1 + n), then scaled to unit length. Cosine similarity of two such vectors grows with shared words.
 * A text without content words gets a fixed unit vector.
 */
export function devEmbed(text: string, dimension: number = DEV_EMBEDDING_DIMENSION): number[] {
  const counts = new Map<string, number>();
  const add = (feature: string, weight: number) => counts.set(feature, (counts.get(feature) ?? 0) + weight);
  const tokens = devTokens(text);
  for (let i = 0; i < tokens.length; i++) {
    add(`w:${tokens[i]}`, 1);
    if (i > 0) add(`b:${tokens[i - 1]} ${tokens[i]}`, BIGRAM_WEIGHT);
  }
  if (counts.size === 0) add('empty', 1);
  const vector = new Array<number>(dimension).fill(0);
  for (const [feature, count] of counts) {
    const slot = fnv1a(feature, 0) % dimension;
    const sign = (fnv1a(feature, 0x9e3779b9) & 1) === 0 ? 1 : -1;
    vector[slot] = (vector[slot] as number) + sign * Math.log1p(count);
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm);
  // Every feature landing in one slot with cancelling signs is the only way to get zero.
  if (norm === 0) {
    vector[0] = 1;
    return vector;
  }
  return vector.map((value) => value / norm);
}
