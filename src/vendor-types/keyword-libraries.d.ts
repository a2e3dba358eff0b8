/** The two text libraries ship no TypeScript declarations; these are the calls the tokeniser makes. */
declare module 'wink-porter2-stemmer' {
  /** Porter2 (Snowball English) stem of one lower-case word. */
  function stem(word: string): string;
  export = stem;
}

declare module 'stopword' {
  /** English stop words, lower case. */
  export const eng: string[];
}
