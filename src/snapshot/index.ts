/**
 * The snapshot module's facade: the ports, the in-process cache, the rebuild protocol and the stores that
 * implement the ports (Redis, memory mode). The rest of the code imports the snapshot from here only;
 * docs/snapshot.md describes what is inside.
 */
export { type ContainerBudgets, containerBudgets, DEFAULT_SEARCH_MEMORY_MB } from './budgets';
export type { CachedSnapshot } from './cache';
export { SnapshotCache } from './cache';
export { MemorySnapshotStore } from './memory-store';
export type {
  CurrentVersion,
  DocumentIds,
  KeywordChange,
  KeywordDocument,
  KeywordIndexStore,
  KeywordPostings,
  KeywordRead,
  ReadHead,
  RebuildStaging,
  RebuildTicket,
  ScanCandidates,
  ScanSnapshot,
  Snapshot,
  SnapshotChange,
  SnapshotRow,
  SnapshotStore,
} from './port';
export { rebuildSink } from './rebuild-sink';
export { GuardedKeywordIndexStore } from './redis/guarded-keyword-index-store';
export { GuardedSnapshotStore } from './redis/guarded-snapshot-store';
export { RedisKeywordIndexStore } from './redis/keyword-index-store';
export { RedisSnapshotStore, type SnapshotStoreEvent } from './redis/store';
export { startSnapshot } from './start-snapshot';
