/**
 * The variants the features suite times (search-features.ts): filters, groups, MMR, keyword and hybrid
 * search, each in the round robin its marks choose.
 */
import type { SearchFilter } from '../../../src/contracts/search-request';
import { type CompiledFilter, compileFilter } from '../../../src/domain/search-filter';
import type { SearchOptions } from '../../../src/use-cases/search';

/** Rows carry `metadata.bucket` = row mod 1000, so a filter's selectivity is exact. */
export const BUCKETS = 1000;

/**
 * `keywords`: the variant sends query_text, two of the query's topic words (as a question's words and
 * its embedding speak of one topic), or with `unrelated`, two words of a chunk picked by the query's
 * number (the worst case for fusion: text and vector agree on nothing). `vector: false` leaves out the
 * embedding.
 */
export type Variant = {
  name: string;
  options: Omit<SearchOptions, 'limit'>;
  keywords?: boolean;
  unrelated?: boolean;
  vector?: boolean;
  /** Search with the keyword index stored in the bench's Redis (the product's path) instead of in process. */
  stored?: boolean;
  /** Search with the native int8 kernel (as the deployed search does), against native vector search. */
  native?: boolean;
  /**
   * Search as a deployed container does, end to end: the snapshot and keyword index in the bench's Redis,
   * the copy held warm in process, every round trip paid; against the same path's vector search.
   */
  deployed?: boolean;
  /**
   * The name of a variant earlier in the round whose query text this one asks again, right after it: the
   * terms' postings are then held with the copy (docs/snapshot.md, "The keyword index").
   */
  repeats?: string;
};

/** A filter compiled as the search request's schema compiles it. */
function compiled(filter: SearchFilter): CompiledFilter {
  return compileFilter(filter) as CompiledFilter;
}

export const NATIVE_BASELINE: Variant = {
  name: 'native: unfiltered (vector search)',
  options: {},
  native: true,
};

/** The deployed path's round robin: its own vector search first, as the baseline its rows divide by. */
export const DEPLOYED: Variant[] = [
  { name: 'deployed: vector search', options: {}, deployed: true },
  ...withTermsAskedAgain({
    name: 'deployed: keyword only',
    options: {},
    keywords: true,
    vector: false,
    deployed: true,
  }),
  ...withTermsAskedAgain({ name: 'deployed: hybrid, rrf k 60', options: {}, keywords: true, deployed: true }),
  ...withTermsAskedAgain({
    name: 'deployed: hybrid, weighted alpha 0.5',
    options: { fusion: { method: 'weighted', alpha: 0.5 } },
    keywords: true,
    deployed: true,
  }),
];

/** A variant, then the same asking its query text again right after it (its terms' postings held). */
function withTermsAskedAgain(variant: Variant): Variant[] {
  return [variant, { ...variant, name: `${variant.name}, terms just asked`, repeats: variant.name }];
}

export const VARIANTS: Variant[] = [
  { name: 'unfiltered', options: {} },
  {
    name: 'filter, 10% of chunks match (range)',
    options: { filter: compiled({ must: [{ key: 'metadata.bucket', range: { lt: 100 } }] }) },
  },
  {
    name: 'filter, 0.1% of chunks match (match value)',
    options: { filter: compiled({ must: [{ key: 'metadata.bucket', match: { value: 7 } }] }) },
  },
  { name: 'group_by filename, group_size 3', options: { groupBy: { field: 'filename', groupSize: 3 } } },
  { name: 'mmr diversity 0.5 over 100 candidates', options: { mmr: { diversity: 0.5, candidates: 100 } } },
  { name: 'keyword only (query_text, BM25)', options: {}, keywords: true, vector: false },
  { name: 'hybrid, rrf k 60', options: {}, keywords: true },
  {
    name: 'keyword only, postings read from the Redis index',
    options: {},
    keywords: true,
    vector: false,
    stored: true,
  },
  { name: 'hybrid, rrf k 60, postings read from the Redis index', options: {}, keywords: true, stored: true },
  {
    name: 'hybrid, weighted alpha 0.5',
    options: { fusion: { method: 'weighted', alpha: 0.5 } },
    keywords: true,
  },
  {
    name: 'native: filter, 10% of chunks match (range)',
    options: { filter: compiled({ must: [{ key: 'metadata.bucket', range: { lt: 100 } }] }) },
    native: true,
  },
  {
    name: 'native: filter, 0.1% of chunks match (match value)',
    options: { filter: compiled({ must: [{ key: 'metadata.bucket', match: { value: 7 } }] }) },
    native: true,
  },
  {
    name: 'native: group_by filename, group_size 3',
    options: { groupBy: { field: 'filename', groupSize: 3 } },
    native: true,
  },
  {
    name: 'native: mmr diversity 0.5 over 100 candidates',
    options: { mmr: { diversity: 0.5, candidates: 100 } },
    native: true,
  },
  { name: 'native: keyword only', options: {}, keywords: true, vector: false, native: true },
  { name: 'native: hybrid, rrf k 60', options: {}, keywords: true, native: true },
  {
    name: 'native: hybrid, weighted rrf (vector 2, keyword 1)',
    options: { fusion: { method: 'rrf', k: 60, weights: { vector: 2, keyword: 1 } } },
    keywords: true,
    native: true,
  },
  {
    name: 'native: hybrid, weighted alpha 0.5',
    options: { fusion: { method: 'weighted', alpha: 0.5 } },
    keywords: true,
    native: true,
  },
  { name: 'native: hybrid, dbsf', options: { fusion: { method: 'dbsf' } }, keywords: true, native: true },
  {
    name: 'native: hybrid, rrf k 60, filter 10%',
    options: {
      filter: compiled({ must: [{ key: 'metadata.bucket', range: { lt: 100 } }] }),
    },
    keywords: true,
    native: true,
  },
  {
    name: 'native: hybrid, rrf k 60, text unrelated to the vector',
    options: {},
    keywords: true,
    unrelated: true,
    native: true,
  },
  {
    name: 'native: hybrid, weighted alpha 0.5, text unrelated to the vector',
    options: { fusion: { method: 'weighted', alpha: 0.5 } },
    keywords: true,
    unrelated: true,
    native: true,
  },
  {
    name: 'native: keyword only, postings read from the Redis index',
    options: {},
    keywords: true,
    vector: false,
    stored: true,
    native: true,
  },
  {
    name: 'native: hybrid, rrf k 60, postings read from the Redis index',
    options: {},
    keywords: true,
    stored: true,
    native: true,
  },
  {
    name: 'native: hybrid, weighted alpha 0.5, postings read from the Redis index',
    options: { fusion: { method: 'weighted', alpha: 0.5 } },
    keywords: true,
    stored: true,
    native: true,
  },
];
