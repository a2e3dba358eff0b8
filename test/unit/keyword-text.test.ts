import fc from 'fast-check';
import porter2 from 'wink-porter2-stemmer';
import { MAX_STEMMED_WORD_LENGTH, tokenise, trimPunctuation, wordsOf } from '../../src/domain/keyword-text';
import { rng, testSeed } from '../fixtures/random';

/** Porter2, counting what it is passed: the work of stemming, without a clock. */
function countingStemmer() {
  const calls: string[] = [];
  let characters = 0;
  const stem = (word: string) => {
    calls.push(word.length <= 80 ? word : `${word.slice(0, 20)}…(${word.length})`);
    characters += word.length;
    return porter2(word);
  };
  return { stem, calls, characters: () => characters };
}

const LONG_WORD = 'pneumonoultramicroscopic'.repeat(Math.ceil(390_000 / 24)).slice(0, 390_000);

describe('tokenise on long words', () => {
  it('keeps a 390 KB word whole and stems only the words of sane length around it', () => {
    const stemmer = countingStemmer();

    const terms = tokenise(`Running ${LONG_WORD} connections`, { stem: true }, stemmer.stem);

    expect(terms).toEqual(['run', LONG_WORD, 'connect']);
    expect(stemmer.calls).toEqual(['running', 'connections']);
  });

  it('passes the stemmer at most one megabyte per megabyte of text, in words of at most 64 letters', () => {
    const seed = testSeed();
    console.log(`long-word text seed ${seed}`);
    const random = rng(seed);
    const pieces: string[] = [];
    let length = 0;
    while (length < 1_000_000) {
      const roll = random();
      const piece =
        roll < 0.01
          ? 'a'.repeat(1 + Math.floor(random() * 50_000))
          : roll < 0.02
            ? `x${'!'.repeat(Math.floor(random() * 20_000))}y`
            : roll < 0.5
              ? 'connections'
              : `word${Math.floor(random() * 1000)}s`;
      pieces.push(piece);
      length += piece.length + 1;
    }
    const text = pieces.join(' ');
    const stemmer = countingStemmer();

    tokenise(text, { stem: true }, stemmer.stem);

    expect(stemmer.characters()).toBeLessThanOrEqual(text.length);
    const longest = Math.max(...stemmer.calls.map((word) => word.length));
    expect(longest).toBeLessThanOrEqual(MAX_STEMMED_WORD_LENGTH);
  });

  it('stems a word of exactly the limit and keeps one letter longer whole', () => {
    const atLimit = `${'a'.repeat(MAX_STEMMED_WORD_LENGTH - 3)}ing`;
    const overLimit = `${'a'.repeat(MAX_STEMMED_WORD_LENGTH - 2)}ing`;

    expect(tokenise(atLimit)).toEqual([porter2(atLimit)]);
    expect(porter2(atLimit)).not.toEqual(atLimit);
    expect(tokenise(overLimit)).toEqual([overLimit]);
  });

  it('splits a 390 KB run of punctuation between two words into the two words', () => {
    expect(tokenise(`alpha${'!'.repeat(390_000)}omega`)).toEqual(['alpha', 'omega']);
    expect(tokenise(`${'?'.repeat(390_000)}omega${'.'.repeat(390_000)}`)).toEqual(['omega']);
  });
});

describe('tokenise on long pieces for the word segmenter', () => {
  it('splits a long run of Japanese as segmenting it whole does', () => {
    const text = '東京都の天気は晴れです。明日は雨が降るでしょう'.repeat(60);
    const whole = Array.from(new Intl.Segmenter('und', { granularity: 'word' }).segment(text))
      .filter((segment) => segment.isWordLike === true)
      .map((segment) => segment.segment);

    expect(text.length).toBeGreaterThan(1000);
    expect(tokenise(text, { stem: false })).toEqual(whole.filter((word) => word !== ''));
  });

  it('keeps a 390 KB word of accented letters whole', () => {
    const word = 'é'.repeat(390_000);

    expect(tokenise(`${word} connections`)).toEqual([word, 'connect']);
  });
});

describe('wordsOf', () => {
  const segmenter = new Intl.Segmenter('und', { granularity: 'word' });
  const wholeWords = (text: string) =>
    Array.from(segmenter.segment(text))
      .filter((segment) => segment.isWordLike === true)
      .map((segment) => segment.segment);

  it('finds the words segmenting the whole piece finds, across punctuation runs and windows', () => {
    const seed = testSeed();
    console.log(`wordsOf property seed ${seed}`);
    const alphabet = fc.constantFrom(
      ...['x', 'é', '7', '東', '京', 'カ', 'ナ', '!', '.', ':', "'", '_', '-', ',', '"', '\u0301', '😀', 'ß'],
    );
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 1500 }), (characters) => {
        const text = characters.join('');
        expect(wordsOf(text)).toEqual(wholeWords(text));
      }),
      { seed, numRuns: 300 },
    );
  });
});

describe('trimPunctuation', () => {
  // The regular expression it stands for: right on short strings, quadratic on long runs of punctuation.
  const EDGE_PUNCTUATION = /^[^\p{L}\p{M}\p{N}]+|[^\p{L}\p{M}\p{N}]+$/gu;

  it('removes exactly what the edge-punctuation regular expression removes', () => {
    const alphabet = fc.constantFrom(
      'a',
      'É',
      '7',
      '!',
      '-',
      ' ',
      '😀',
      '\u0301',
      '\ud83d',
      '\ude00',
      '東',
      "'",
    );
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 12 }), (characters) => {
        const text = characters.join('');
        expect(trimPunctuation(text)).toBe(text.replace(EDGE_PUNCTUATION, ''));
      }),
      { numRuns: 2000 },
    );
  });
});
