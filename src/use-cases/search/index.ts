/**
 * Search (docs/architecture.md, "Search"): a plan made from the parsed request (plan.ts), a source that
 * gives rows to rank (sources/: the snapshot held in process or in Redis, the int8 scan, DynamoDB), and
 * ranking, pure, in src/domain/ranking/.
 */
export { FallbackGate } from './fallback-gate';
export type { SearchDeps, SearchOptions, SearchResult } from './plan';
export { makeSearch, type Search } from './search';
