import { loadUsearchInt8Scan } from '../../../src/adapters/native/usearch-scan';
import { QuantisedScanner } from '../../../src/domain/ranking/quantised-scan';

/**
 * The native int8 scan and dense pass a deployed search container uses (src/wiring/search-kernel.ts). The bench fails
 * loudly rather than time the portable fallback under the native method's name.
 */
export function nativeScanner(): QuantisedScanner {
  const loaded = loadUsearchInt8Scan();
  if (loaded.scan === null) throw loaded.error;
  return new QuantisedScanner(loaded.scan, { distances: loaded.distances });
}
