import { setTimeout as sleep } from 'node:timers/promises';
import { snapshotRowOf } from '../domain/snapshot';
import type { StoredChunk } from '../domain/types';
import { DocumentBusyError } from '../errors';
import type { ChunkStore, CountsDoctorStore } from '../ports';
import type { SnapshotChange, SnapshotStore } from '../snapshot';
import { checkChunks, type SnapshotCheck, type UnusableChunk } from './doctor-chunk-check';
import { findLeftovers, type LeftoverDeps, type Leftovers, removeLeftovers } from './doctor-versions';

export type DoctorDeps = LeftoverDeps & {
  store: CountsDoctorStore;
  chunks: Pick<ChunkStore, 'readBot' | 'get' | 'documentChunkKeys' | 'delete'>;
  /** null: no Redis configured or reachable, or the memory snapshot mode; counts are still checked. */
  snapshots: SnapshotStore | null;
  /**
   * The memory snapshot mode: each search container holds its own copy of a bot, checked against the
   * bot's data_version on every search. A repair then moves data_version with no change-log entry, so
   * every held copy of the repaired bot is read again whole. Default false.
   */
  reloadHeldCopies?: boolean;
  /**
   * How long to wait before confirming drift with a second read. A difference that is only a change still
   * on its way through the stream disappears meanwhile; drift stays. Default 3 s.
   */
  settleMs?: number;
  sleep?: (ms: number) => Promise<void>;
};

export type { SnapshotCheck, UnusableChunk } from './doctor-chunk-check';

export type DocumentDrift = { filename: string; truth: number; recorded: number };

export type BotDiagnosis = {
  botId: string;
  /** Every item VectorEmbeddings holds for the bot; documents are the distinct filenames among them. */
  truth: { chunks: number; documents: number };
  /**
   * Chunks counted (they are the table's truth) that the snapshot and search leave out: no filename,
   * an embedding that cannot be decoded, is out of range or of another dimension than the snapshot's.
   * Not drift: the stream counted them and kept them out on purpose; their writer has to fix them.
   */
  unusable: UnusableChunk[];
  recorded: { exists: boolean; chunks: number; documents: number };
  /** Documents whose BotDocuments count is not VectorEmbeddings' (absent items count as 0). */
  documents: DocumentDrift[];
  /** BotCollections' totals are not the sum of its BotDocuments items (a count changed by hand). */
  totalsDrift: { chunks: number; documents: number } | null;
  snapshot: SnapshotCheck;
  /** Documents holding chunks of a version they do not show, past the grace period (doctor-versions.ts). */
  leftovers: Leftovers[];
  drift: boolean;
};

export type RepairOutcome = {
  /** Documents whose count was set from VectorEmbeddings. */
  documentsFixed: number;
  /** Whether the bot's totals were moved to the sum of its documents. */
  totalsFixed: boolean;
  /** Snapshot rows rewritten from VectorEmbeddings. */
  rowsFixed: number;
  /** The snapshot was marked stale (readers rebuild it) because a chunk changed while it was repaired. */
  snapshotMarkedStale: boolean;
  /** Chunks of versions their document does not show, removed (the stream then moves the counts). */
  leftoversRemoved: number;
  /** Fixes skipped because the stream changed the same item meanwhile (run the doctor again). */
  deferred: number;
  /**
   * Memory snapshot mode: data_version was moved with no change-log entry, so every search container
   * holding the bot reads it whole before its next answer.
   */
  heldCopiesReloaded: boolean;
};

/**
 * Compares one bot's counts, documents and snapshot with a recount of VectorEmbeddings. A difference is
 * only reported as drift when a second look, `settleMs` later, sees the same difference: a change still
 * travelling through the stream is not drift.
 */
export async function diagnoseBot(deps: DoctorDeps, botId: string): Promise<BotDiagnosis> {
  const first = await lookOnce(deps, botId);
  if (!first.drift) return first;
  await (deps.sleep ?? ((ms: number) => sleep(ms)))(deps.settleMs ?? 3000);
  const second = await lookOnce(deps, botId);
  return confirm(first, second);
}

/**
 * Repairs what `diagnosis` found, each fix conditioned so that a stream change arriving meanwhile is
 * neither lost nor counted twice: a document's count is replaced only if it still holds the compared
 * value (otherwise the fix is deferred to the next run), the totals move only while no counts transaction
 * ran, and snapshot rows are rewritten from a consistent read and checked again afterwards. In the memory
 * snapshot mode (`reloadHeldCopies`) it then moves the bot's data_version so every held copy is read again.
 */
export async function repairBot(deps: DoctorDeps, diagnosis: BotDiagnosis): Promise<RepairOutcome> {
  const { botId } = diagnosis;
  const outcome: RepairOutcome = {
    documentsFixed: 0,
    totalsFixed: false,
    rowsFixed: 0,
    snapshotMarkedStale: false,
    leftoversRemoved: 0,
    deferred: 0,
    heldCopiesReloaded: false,
  };
  for (const { filename } of diagnosis.leftovers) {
    try {
      outcome.leftoversRemoved += await removeLeftovers(deps, botId, filename);
    } catch (error) {
      // A writer of the document holds its lease: the next run removes what is still left over.
      if (!(error instanceof DocumentBusyError)) throw error;
      outcome.deferred += 1;
    }
  }
  if (diagnosis.documents.length > 0) {
    const truth = await deps.store.trueDocuments(botId);
    for (const drift of diagnosis.documents) {
      const current = truth.get(drift.filename) ?? {
        filename: drift.filename,
        chunks: 0,
        fileSize: 0,
        createdAt: '',
      };
      if (current.chunks !== drift.truth) {
        outcome.deferred += 1;
        continue;
      }
      if (await deps.store.fixDocument(botId, current, drift.recorded)) outcome.documentsFixed += 1;
      else outcome.deferred += 1;
    }
  }
  // Totals last: document fixes move them too. Sum and totals are read between two equal updated_at.
  for (let attempt = 1; ; attempt++) {
    const unfiled = (await deps.store.trueDocuments(botId)).get(UNFILED)?.chunks ?? 0;
    const cut = await consistentTotals(deps.store, botId, unfiled);
    if (cut?.drift === null) break;
    if (cut !== null && (await deps.store.fixTotals(botId, cut.drift, cut.updatedAt))) {
      outcome.totalsFixed = true;
      break;
    }
    if (attempt >= 5) {
      // The stream kept counting: the next run (or the schedule) finishes it.
      outcome.deferred += 1;
      break;
    }
  }
  const rows = [...diagnosis.snapshot.missing, ...diagnosis.snapshot.extra, ...diagnosis.snapshot.different];
  if (deps.snapshots !== null && rows.length > 0) {
    const stale = await rewriteRows(deps.snapshots, deps.chunks, botId, rows);
    outcome.rowsFixed = rows.length;
    if (stale) {
      await deps.store.bumpSnapshotEpoch(botId);
      outcome.snapshotMarkedStale = true;
    }
  }
  if (deps.reloadHeldCopies === true) {
    // Last, after every fix: a copy read from here on holds what the repair left. Drift means some
    // change may never have reached the change log (a record lost to the on-failure destination), so a
    // copy caught up from the log could lack it; a whole read cannot.
    await deps.store.bumpDataVersion(botId);
    outcome.heldCopiesReloaded = true;
  }
  return outcome;
}

/**
 * Writes the current state of `chunkIds` into the snapshot, then reads them again: if any changed in
 * between, the stream may have applied a newer change before this write landed, so the caller marks the
 * snapshot stale. Otherwise the stream's own later changes of these chunks arrive after this write.
 * @returns true when the snapshot must be marked stale
 */
export async function rewriteRows(
  snapshots: SnapshotStore,
  chunks: Pick<ChunkStore, 'get'>,
  botId: string,
  chunkIds: string[],
): Promise<boolean> {
  const before = await chunks.get(botId, chunkIds, { consistent: true });
  const byId = new Map(before.map((chunk) => [chunk.chunk_id, chunk]));
  const changes: SnapshotChange[] = chunkIds.map((chunkId) => {
    const chunk = byId.get(chunkId);
    return chunk === undefined ? { kind: 'delete', chunk_id: chunkId } : upsertOf(chunk);
  });
  try {
    await snapshots.applyChanges(botId, changes);
  } catch {
    return true;
  }
  const after = await chunks.get(botId, chunkIds, { consistent: true });
  if (after.length !== before.length) return true;
  return after.some((chunk) => !sameChunk(chunk, byId.get(chunk.chunk_id)));
}

/** The key under which `trueDocuments` counts the chunks that have no filename (in no document). */
const UNFILED = '';

/**
 * The bot's totals against the sum of its BotDocuments items plus the `unfiled` chunks (no filename, in no
 * document), read between two equal `updated_at` (no counts transaction ran in between, so both belong
 * to one moment). null when the bot kept changing.
 */
async function consistentTotals(
  store: CountsDoctorStore,
  botId: string,
  unfiled: number,
): Promise<{ drift: { chunks: number; documents: number } | null; updatedAt: string | undefined } | null> {
  for (let attempt = 1; attempt <= 8; attempt++) {
    const before = await store.recordedCounts(botId);
    const documents = await store.recordedDocuments(botId);
    const after = await store.recordedCounts(botId);
    if (before.updatedAt !== after.updatedAt) continue;
    let chunks = unfiled;
    let present = 0;
    for (const count of documents.values()) {
      chunks += count;
      if (count > 0) present += 1;
    }
    const drift = { chunks: chunks - after.totalChunks, documents: present - after.totalDocuments };
    const agree = (drift.chunks === 0 && drift.documents === 0) || (!after.exists && documents.size === 0);
    return { drift: agree ? null : drift, updatedAt: after.updatedAt };
  }
  return null;
}

async function lookOnce(deps: DoctorDeps, botId: string): Promise<BotDiagnosis> {
  const truth = await deps.store.trueDocuments(botId);
  const unfiled = truth.get(UNFILED)?.chunks ?? 0;
  const cut = await consistentTotals(deps.store, botId, unfiled);
  const recorded = await deps.store.recordedCounts(botId);
  const recordedDocuments = await deps.store.recordedDocuments(botId);
  const documents: DocumentDrift[] = [];
  for (const name of new Set([...truth.keys(), ...recordedDocuments.keys()])) {
    if (name === UNFILED) continue;
    const truthCount = truth.get(name)?.chunks ?? 0;
    const recordedCount = recordedDocuments.get(name) ?? 0;
    if (truthCount !== recordedCount)
      documents.push({ filename: name, truth: truthCount, recorded: recordedCount });
  }
  documents.sort((a, b) => (a.filename < b.filename ? -1 : 1));
  let trueChunks = 0;
  for (const doc of truth.values()) trueChunks += doc.chunks;
  const trueDocuments = truth.size - (truth.has(UNFILED) ? 1 : 0);
  const { snapshot, unusable } = await checkChunks(deps, botId, recorded);
  const leftovers = await findLeftovers(deps, botId);
  const totalsDrift = cut?.drift ?? null;
  const recordedTotalsWrong =
    recorded.totalChunks !== trueChunks || recorded.totalDocuments !== trueDocuments;
  return {
    botId,
    truth: { chunks: trueChunks, documents: trueDocuments },
    unusable,
    recorded: { exists: recorded.exists, chunks: recorded.totalChunks, documents: recorded.totalDocuments },
    ...driftOf(documents, totalsDrift, recordedTotalsWrong, snapshot, leftovers),
  };
}

/** Keeps only what both looks found the same way: the rest was a change on its way through the stream. */
function confirm(first: BotDiagnosis, second: BotDiagnosis): BotDiagnosis {
  const key = (d: DocumentDrift) => `${d.filename}\u0000${d.truth}\u0000${d.recorded}`;
  const earlier = new Set(first.documents.map(key));
  const documents = second.documents.filter((d) => earlier.has(key(d)));
  const both = (a: string[], b: string[]) => b.filter((id) => a.includes(id));
  const snapshot: SnapshotCheck = {
    state: second.snapshot.state,
    missing: both(first.snapshot.missing, second.snapshot.missing),
    extra: both(first.snapshot.extra, second.snapshot.extra),
    different: both(first.snapshot.different, second.snapshot.different),
  };
  const totalsDrift =
    first.totalsDrift !== null &&
    second.totalsDrift !== null &&
    first.totalsDrift.chunks === second.totalsDrift.chunks &&
    first.totalsDrift.documents === second.totalsDrift.documents
      ? second.totalsDrift
      : null;
  const totalsWrong =
    first.truth.chunks === second.truth.chunks &&
    first.recorded.chunks === second.recorded.chunks &&
    first.truth.documents === second.truth.documents &&
    first.recorded.documents === second.recorded.documents &&
    (second.truth.chunks !== second.recorded.chunks || second.truth.documents !== second.recorded.documents);
  const leftBefore = new Set(first.leftovers.map((left) => left.filename));
  const leftovers = second.leftovers.filter((left) => leftBefore.has(left.filename));
  return {
    ...second,
    ...driftOf(documents, totalsDrift, totalsWrong, snapshot, leftovers),
  };
}

/** A diagnosis's findings, and whether any of them is drift. */
function driftOf(
  documents: DocumentDrift[],
  totalsDrift: BotDiagnosis['totalsDrift'],
  totalsWrong: boolean,
  snapshot: SnapshotCheck,
  leftovers: Leftovers[],
): Pick<BotDiagnosis, 'documents' | 'totalsDrift' | 'snapshot' | 'leftovers' | 'drift'> {
  const snapshotDrift = snapshot.missing.length + snapshot.extra.length + snapshot.different.length > 0;
  return {
    documents,
    totalsDrift,
    snapshot,
    leftovers,
    drift:
      documents.length > 0 || totalsDrift !== null || totalsWrong || snapshotDrift || leftovers.length > 0,
  };
}

function upsertOf(chunk: StoredChunk): SnapshotChange {
  return {
    kind: 'upsert',
    row: snapshotRowOf(chunk),
    text: chunk.text,
    embedding: chunk.embedding,
  };
}

function sameChunk(a: StoredChunk, b: StoredChunk | undefined): boolean {
  if (b === undefined) return false;
  return (
    a.filename === b.filename &&
    a.chunk_index === b.chunk_index &&
    a.text === b.text &&
    JSON.stringify(a.metadata) === JSON.stringify(b.metadata) &&
    JSON.stringify(a.version) === JSON.stringify(b.version) &&
    a.embedding.length === b.embedding.length &&
    a.embedding.every((x, i) => x === b.embedding[i])
  );
}
