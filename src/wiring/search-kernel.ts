import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { loadUsearchInt8Scan, type NativeScanLoad } from '../adapters/native/usearch-scan';
import { QuantisedScanner } from '../domain/ranking/quantised-scan';
import type { TopKKernel } from '../domain/ranking/scoring';
import type { Log } from '../ports';

/** The metric counted once per container whose native scan is unavailable (search then uses JS). */
export const PORTABLE_SCORING_METRIC = 'SearchNativeScanUnavailable';

/**
 * The search kernel of a container; the scanner is built on the first search, not at wiring time. Every
 * method of `TopKKernel` is required here, so a method the kernel gains cannot be left unforwarded (a
 * search given this kernel would then quietly take the portable path).
 */
export type SearchKernel = Required<TopKKernel> & { scanner(): QuantisedScanner };

/**
 * The search kernel of this container: usearch's native int8 scan and dense float32 pass when its binary
 * loads, otherwise a scanner that always declines, so search scores with the portable JavaScript loop and
 * gives the same answers, only slower. Either failure (the binary does not load, or the scan throws later) is logged
 * once and counted once in `PORTABLE_SCORING_METRIC`. The binary is loaded on the first search, so the
 * other HTTP functions, which share the wiring but not the binary, never try.
 * @param load the loader (tests pass one that fails).
 */
export function searchKernel(
  logger: Pick<Log, 'error'>,
  metrics: { addMetric(name: string, unit: typeof MetricUnit.Count, value: number): unknown },
  load: () => NativeScanLoad = loadUsearchInt8Scan,
): SearchKernel {
  let built: QuantisedScanner | undefined;
  const reportOnce = (error: unknown) => {
    logger.error('Native vector scan unavailable; search scores with the portable JavaScript loop', {
      error,
    });
    metrics.addMetric(PORTABLE_SCORING_METRIC, MetricUnit.Count, 1);
  };
  const scanner = (): QuantisedScanner => {
    if (built === undefined) {
      const loaded = load();
      if (loaded.scan === null) reportOnce(loaded.error);
      built =
        loaded.scan === null
          ? new QuantisedScanner(null, { onScanFailure: reportOnce })
          : new QuantisedScanner(loaded.scan, {
              onScanFailure: reportOnce,
              distances: loaded.distances,
              int8Distances: loaded.int8Distances,
            });
    }
    return built;
  };
  return {
    scanner,
    topK: (vectors, dimension, rowCount, unitQuery, idOf, options) =>
      scanner().topK(vectors, dimension, rowCount, unitQuery, idOf, options),
    approximate: (vectors, dimension, rowCount, unitQuery, wanted, mask, withBottom) =>
      scanner().approximate(vectors, dimension, rowCount, unitQuery, wanted, mask, withBottom),
    dense: (vectors, dimension, rowCount, unitQuery) =>
      scanner().dense(vectors, dimension, rowCount, unitQuery),
  };
}
