/**
 * The cold search (docs/snapshot.md, "Scan reads"): a plain vector query answered from
 * the snapshot's int8 codes, with float32 vectors and rows fetched from Redis for the candidates only.
 * A container that does not hold the bot's snapshot reads about a quarter of its vector bytes and no row
 * hash, and keeps only the codes (a quarter of the float32 memory). The answer is the float32 exact one:
 * the bound of src/domain/ranking/int8-codes.ts proves that no row outside the candidates could enter it.
 */
import { isExpired } from '../../../domain/expiry';
import { type RankOptions, rankerFor } from '../../../domain/ranking/hits';
import { QuantisedScanner } from '../../../domain/ranking/quantised-scan';
import { remoteTopK } from '../../../domain/ranking/remote-rescore';
import type { TopKKernel } from '../../../domain/ranking/scoring';
import type { SnapshotCache, SnapshotRow, SnapshotStore } from '../../../snapshot';

/** The exact top rows of the scan, each with its row and float32 vector (read from Redis for them). */
export type ScanCandidates = {
  top: { score: number; id: string; ref: number }[];
  entry: (slot: number) => { row: SnapshotRow; vector: Float32Array };
};

/**
 * What the scan read: the top candidates; found the whole snapshot held in process or could not prove the
 * answer from the codes ('whole': answer from the whole snapshot); or found no current snapshot
 * ('absent': answer from DynamoDB).
 */
export type ScanRead = ScanCandidates | 'whole' | 'absent';

/**
 * Float32 bytes up to which a bot searched a second time at one version is read whole and kept in
 * process: 32 MiB, about 21k 384-d chunks. Below it the in-process scan beats a candidate round trip
 * (usearch's f32 scan of 10k rows takes ~0.4 ms, a round trip ~0.3 ms); above it the scan form wins on
 * speed and holds a quarter of the memory.
 */
export const WHOLE_SNAPSHOT_BYTES = 32 * 1024 * 1024;

export type ScanSearchDeps = {
  snapshots: SnapshotStore;
  cache: SnapshotCache;
  kernel?: TopKKernel;
};

/** The int8 scanner behind a search kernel, if it has one (the wiring's kernel or a bare scanner). */
function scannerOf(kernel: TopKKernel | undefined): QuantisedScanner | null {
  if (kernel instanceof QuantisedScanner) return kernel;
  const withScanner = kernel as { scanner?: () => QuantisedScanner } | undefined;
  return typeof withScanner?.scanner === 'function' ? withScanner.scanner() : null;
}

/**
 * The exact top rows of an unfiltered, ungrouped vector query (`limit`, `offset`, `mmr`, `scoreThreshold`
 * and `withVectors` allowed) from the bot's scan form, before offset and MMR.
 * @throws whatever the store throws (Redis down: the caller answers from DynamoDB).
 */
export async function scanCandidates(
  deps: ScanSearchDeps,
  botId: string,
  epoch: number,
  query: Float64Array,
  dimension: number,
  options: RankOptions,
  nowSeconds: number,
): Promise<ScanRead> {
  const scanner = scannerOf(deps.kernel);
  if (scanner === null || !scanner.available || !deps.snapshots.scans) return 'whole';
  const found = await deps.cache.getForScan(botId, epoch);
  if (found === null) return 'absent';
  if ('full' in found) return 'whole';
  const { scan } = found.scan;
  if (scan.dimension !== dimension) {
    deps.cache.forget(botId);
    return 'absent';
  }
  // A small bot searched again is faster from its whole snapshot in process (no round trip for the
  // candidates) and costs little memory: read it once now. A large one stays in its scan form.
  if (found.reused && scan.live * dimension * 4 <= WHOLE_SNAPSHOT_BYTES) return 'whole';
  const nativeScan = scanner.nativeScan(scan.live);
  if (nativeScan === null) return 'whole';

  // As many as the ranker keeps before offset and MMR pick from them.
  const k = rankerFor<number>(options).selectorFor('').k;
  const fetched = new Map<number, { row: SnapshotRow; vector: Float32Array }>();
  const entry = (slot: number) => fetched.get(slot) as { row: SnapshotRow; vector: Float32Array };
  let top: Awaited<ReturnType<typeof remoteTopK>>;
  try {
    top = await remoteTopK(
      nativeScan,
      scan.matrix,
      query,
      async (slots) => {
        const got = await deps.snapshots.candidates(scan, slots);
        if (got === null) return null;
        slots.forEach((slot, i) => {
          const vector = got.vectors.subarray(i * dimension, (i + 1) * dimension);
          fetched.set(slot, { row: got.rows[i] as SnapshotRow, vector });
        });
        return { vectors: got.vectors, ids: got.rows.map((row) => row.chunk_id) };
      },
      {
        k,
        ...(options.scoreThreshold === undefined ? {} : { scoreThreshold: options.scoreThreshold }),
        ...(scan.liveMask === undefined ? {} : { liveMask: scan.liveMask }),
      },
    );
  } catch (error) {
    // The native scan failed (reported once, and off from now on): the whole snapshot answers.
    if (!scanner.available) return 'whole';
    throw error;
  }
  // The proof needed every row, or the snapshot changed while the candidates were read.
  if (top === null) return 'whole';
  // An expired chunk among the top rows: the whole snapshot answers, masking expired rows before top-k.
  // Without one, these rows are also the top among the unexpired ones, so the answer stays exact.
  if (top.hits.some((hit) => isExpired(entry(hit.ref).row.expires_at, nowSeconds))) return 'whole';
  return { top: top.hits, entry };
}
