/** A keyword query as ranking takes it: its terms, checked, how to fuse, and the bot's BM25 parameters. */

import { ValidationError } from '../../errors';
import { DEFAULT_TOKENISER, tokenise } from '../keyword-text';
import type { BotCollection } from '../types';
import { type Bm25Params, DEFAULT_BM25, MAX_QUERY_TERMS } from './bm25';
import { DEFAULT_FUSION, type Fusion } from './fusion';

/** A validated keyword query: its terms, how to fuse, the bot's BM25 parameters. */
export type KeywordQuery = { terms: string[]; fusion: Fusion; bm25: Bm25Params };

/**
 * The query's terms, checked.
 * @throws ValidationError (field `query_text`) when it has no terms (empty, or stop words only) or more
 *   than MAX_QUERY_TERMS.
 */
export function keywordQueryOf(
  queryText: string,
  fusion: Fusion | undefined,
  bot: BotCollection,
): KeywordQuery {
  const terms = tokenise(queryText, DEFAULT_TOKENISER);
  if (terms.length === 0) {
    throw new ValidationError(
      'query_text has no searchable terms (it is empty or only stop words)',
      'query_text',
    );
  }
  if (terms.length > MAX_QUERY_TERMS) {
    throw new ValidationError(
      `query_text has ${terms.length} terms, at most ${MAX_QUERY_TERMS} are allowed`,
      'query_text',
    );
  }
  return { terms, fusion: fusion ?? DEFAULT_FUSION, bm25: bm25Of(bot) };
}

/** The bot's BM25 parameters (PUT /bots/{botId} sets them), defaults k1 1.2, b 0.75. */
export function bm25Of(bot: BotCollection): Bm25Params {
  return { k1: bot.bm25_k1 ?? DEFAULT_BM25.k1, b: bot.bm25_b ?? DEFAULT_BM25.b };
}
