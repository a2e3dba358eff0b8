import fc from 'fast-check';
import { DEFAULT_BM25 } from '../../src/domain/ranking/bm25';
import { rankerFor } from '../../src/domain/ranking/hits';
import { prepareKeywordRows, rankKeywordRows } from '../../src/domain/ranking/keyword-rows';
import { heldRows } from '../fixtures/held-rows';
import { rng } from '../fixtures/random';

const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);

describe('keyword-only ranking of held rows', () => {
  it('returns the page of matches that sorting every match by score, then by id, gives', () => {
    console.log(`keyword rows property seed ${seed} (TEST_SEED replays it)`);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 400 }),
        // Few distinct scores, so long runs of ties straddle the page's edges.
        fc.array(fc.constantFrom(0, 0, 0, 1, 1.5, 2, 2.5), { minLength: 400, maxLength: 400 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 15 }),
        fc.constantFrom(undefined, 1.5, 2, 3),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (rowCount, levels, limit, offset, scoreThreshold, rowsSeed) => {
          const held = heldRows(rng(rowsSeed), rowCount, 4);
          const scores = Float64Array.from({ length: rowCount }, (_, row) => levels[row] as number);
          const matched = held.ids.flatMap((_, row) => ((scores[row] as number) > 0 ? [row] : []));
          const query = { terms: ['term'], fusion: { method: 'rrf', k: 60 } as const, bm25: DEFAULT_BM25 };
          const ranker = rankerFor<number>({ limit, offset });
          const ranking = rankKeywordRows(
            prepareKeywordRows(held, null, query, null, ranker),
            { scores, matched },
            scoreThreshold,
          );
          const expected = matched
            .filter((row) => scoreThreshold === undefined || (scores[row] as number) >= scoreThreshold)
            .map((row) => ({ id: held.ids[row] as string, score: scores[row] as number }))
            .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
            .slice(offset, offset + limit);
          expect(ranking.ranked.hits.map((hit) => ({ id: hit.id, score: hit.score }))).toEqual(expected);
          expect(ranking.ranked.hits.map((hit) => held.ids[hit.ref])).toEqual(expected.map((hit) => hit.id));
          expect(ranking.keywordMatches).toBe(matched.length);
        },
      ),
      { seed, numRuns: 300 },
    );
  });
});
