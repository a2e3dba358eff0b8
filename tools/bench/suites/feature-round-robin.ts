/**
 * One round robin of the features suite: each query under every variant of a group in turn, with the
 * query text each variant asks, and the notes its table rows carry.
 */
import { DEFAULT_TOKENISER, tokenise } from '../../../src/domain/keyword-text';
import { headFusionStats } from '../../../src/domain/ranking/keyword-rows';
import type { BotCollection } from '../../../src/domain/types';
import type { Search } from '../../../src/use-cases/search';
import { heldPostingsStats } from '../../../src/use-cases/search/sources/held-postings';
import type { BenchContext } from '../context';
import { type BenchDataset, generateTopicalQueries, type TopicalQuery } from '../data';
import { count } from '../format';
import { summarize } from '../stats';
import type { Variant } from './feature-variants';

/** How the hybrid answers of one variant went (see `headFusionStats`), for the table's note. */
function headNote(counts: HeadCounts): string | undefined {
  if (counts.searches === 0) return undefined;
  const share = (x: number) => `${((100 * x) / counts.searches).toFixed(0)}%`;
  return `from the vector head: ${share(counts.searches - counts.fellBack)} proven, ${share(counts.widened)} read a wider or deeper head, ${share(counts.fellBack)} not proven (${share(counts.outranked)} at once: best match estimated below every head); ${share(counts.dense)} answered from a dense pass, ${share(counts.fellBack - counts.dense)} scored every candidate`;
}

type HeadCounts = { searches: number; widened: number; fellBack: number; outranked: number; dense: number };

/** How often a query's postings were held with the copy rather than read from Redis, for the table's note. */
function heldNote(held: number, read: number): string | undefined {
  if (held + read === 0) return undefined;
  return `postings held with the copy for ${((100 * held) / (held + read)).toFixed(0)}% of queries, read from Redis for the rest`;
}

/** Two words of the text of a row picked by the query's number: terms that really occur, at varied df. */
export function queryTextFor(texts: readonly string[], i: number): string {
  const words = (texts[(i * 7919) % texts.length] as string).split(' ');
  const at = (i * 31) % Math.max(1, words.length - 1);
  return `${words[at]} ${words[at + 1] ?? ''}`;
}

/** Two of a topic's words, picked by the query's number (words the tokeniser keeps: not stop words). */
function topicalTextFor(dataset: BenchDataset, cluster: number, i: number): string {
  const words = (dataset.topicWords[cluster] as string[]).filter(
    (word) => tokenise(word, DEFAULT_TOKENISER).length > 0,
  );
  return `${words[(i * 7) % words.length]} ${words[(i * 13 + 1) % words.length]}`;
}

/** A search function and the bot it searches, as one variant of a round robin runs it. */
export type GroupSearch = { search: Search; botId: string; bot: BotCollection };

/**
 * Times one round robin: query i runs under every variant of the group before query i + 1, so the load
 * of a shared machine drifting over the run weighs on all variants alike. Each variant's median is
 * divided by the group's first (its baseline); `listed` picks the rows the table shows.
 */
export async function timeGroup(
  context: BenchContext,
  n: number,
  group: readonly Variant[],
  searchOf: (variant: Variant) => GroupSearch,
  listed: (variant: Variant) => boolean,
): Promise<void> {
  const { options, progress } = context;
  const dataset = context.dataset(n);
  const queries = generateTopicalQueries({
    count: 0,
    dimension: dataset.dimension,
    // The dataset's seed: the same cluster centres, so each query has a topic among the chunks.
    seed: options.seed,
    queries: options.queries,
  });
  // The native and deployed groups (the rows hybrid search's goals are read from) take the warm runs of
  // the latency suite: their medians move by up to a tenth between runs at 60. The portable groups, up to
  // 50 ms a query at 100k, keep 60.
  const native = group.every((variant) => variant.native === true || variant.deployed === true);
  const runs = Math.min(options.runs.snapshotWarm, native ? 200 : 60);
  progress.note(`features at ${count(n)}: ${group.length} variants, round robin`);
  const samples = group.map((): number[] => []);
  const results = group.map(() => 0);
  const heads = group.map(
    (): HeadCounts => ({ searches: 0, widened: 0, fellBack: 0, outranked: 0, dense: 0 }),
  );
  const postings = group.map(() => ({ held: 0, read: 0 }));
  // Variants that read postings from the Redis index each ask a text of their own in a round: a text asked
  // by one would have its terms' postings held for the next (unless it repeats it on purpose).
  const readers = group.filter(
    (variant) =>
      variant.keywords === true &&
      variant.unrelated !== true &&
      variant.repeats === undefined &&
      (variant.stored === true || variant.deployed === true),
  );
  for (let i = -3; i < runs; i++) {
    const { vector: query, cluster } = queries[(i + queries.length) % queries.length] as TopicalQuery;
    const asked = new Map<string, string>();
    for (const [v, variant] of group.entries()) {
      const slot = readers.indexOf(variant);
      const repeated = variant.repeats === undefined ? undefined : asked.get(variant.repeats);
      if (variant.repeats !== undefined && repeated === undefined) {
        throw new Error(`${variant.name} repeats ${variant.repeats}, which is not earlier in its round`);
      }
      const queryText =
        repeated !== undefined
          ? repeated
          : variant.unrelated === true
            ? queryTextFor(dataset.texts, i + 3)
            : topicalTextFor(dataset, cluster, slot < 0 ? i + 3 : (i + 3) * readers.length + slot);
      asked.set(variant.name, queryText);
      const keywords = variant.keywords === true ? { queryText } : {};
      const { search, botId, bot } = searchOf(variant);
      const before = { ...headFusionStats };
      const postingsBefore = { ...heldPostingsStats };
      const started = performance.now();
      const answer = await search(botId, variant.vector === false ? undefined : query, {
        limit: 10,
        bot,
        ...variant.options,
        ...keywords,
      });
      const elapsed = performance.now() - started;
      if (answer.source !== 'snapshot') throw new Error('the features bench must answer from the snapshot');
      if (i >= 0) {
        samples[v]?.push(elapsed);
        const head = heads[v] as HeadCounts;
        head.outranked += headFusionStats.outranked - before.outranked;
        head.searches += headFusionStats.searches - before.searches;
        head.widened += headFusionStats.widened - before.widened;
        head.fellBack += headFusionStats.fellBack - before.fellBack;
        head.dense += headFusionStats.dense - before.dense;
        const counted = postings[v] as { held: number; read: number };
        counted.held += heldPostingsStats.held - postingsBefore.held;
        counted.read += heldPostingsStats.read - postingsBefore.read;
      }
      results[v] = answer.results.length;
    }
  }
  const base = summarize(samples[0] as number[]).median;
  for (const [v, variant] of group.entries()) {
    if (!listed(variant)) continue;
    const summary = summarize(samples[v] as number[]);
    const counted = postings[v] as { held: number; read: number };
    const notes = [headNote(heads[v] as HeadCounts), heldNote(counted.held, counted.read)].filter(
      (part) => part !== undefined,
    );
    const note = notes.length === 0 ? undefined : notes.join('; ');
    context.results.features.push({
      variant: variant.name,
      n,
      summary,
      ratio: summary.median / base,
      results: results[v] as number,
      ...(note === undefined ? {} : { note }),
    });
  }
}
