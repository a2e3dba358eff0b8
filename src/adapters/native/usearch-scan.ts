import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Int8Distances, Int8TopScan } from '../../domain/ranking/int8-codes';
import type { Float32Distances } from '../../domain/ranking/scoring';

/**
 * usearch's native brute-force scan (`exactSearch`), as the `Int8TopScan` the quantised scanner needs,
 * and as `Int8Distances` and `Float32Distances`, every row's inner-product distance to one query.
 *
 * The addon is loaded from its prebuilt `.node` file directly rather than through usearch's JS wrapper:
 * the wrapper finds its binary relative to its own files, which esbuild's bundle does not keep, and it
 * copies nothing we need. serverless.yml ships `node_modules/usearch/prebuilds/linux-<arch>/usearch.node`
 * next to each search bundle; locally the same path is found under the repository's node_modules.
 */
type UsearchAddon = {
  exactSearch<T extends Int8Array | Float32Array>(
    dataset: T,
    queries: T,
    dimensions: number,
    wanted: number,
    metric: string,
    threads: number,
  ): [BigUint64Array, Float32Array, BigUint64Array];
};

export type NativeScanLoad =
  | { scan: Int8TopScan; int8Distances: Int8Distances; distances: Float32Distances | null; path: string }
  | { scan: null; error: Error };

/** Where usearch's binary for this platform may be: every node_modules from `from` up to the root. */
export function usearchBinaryCandidates(from: string = __dirname): string[] {
  const platforms =
    process.platform === 'darwin'
      ? ['darwin-arm64+x64', `darwin-${process.arch}`]
      : [`${process.platform}-${process.arch}`];
  const found: string[] = [];
  for (let dir = from; ; dir = dirname(dir)) {
    for (const platform of platforms) {
      found.push(join(dir, 'node_modules', 'usearch', 'prebuilds', platform, 'usearch.node'));
    }
    if (dirname(dir) === dir) return found;
  }
}

/**
 * Loads the addon and checks it on a tiny case with a known answer (a binary built for other CPU features
 * can load and still fail). Never throws: a binary that cannot load or answers wrongly comes back as
 * `{ scan: null, error }`, and search then uses the portable loop.
 * @param binaryPath a specific `usearch.node` (tests); by default the first of `usearchBinaryCandidates()`
 *   that exists.
 */
export function loadUsearchInt8Scan(binaryPath?: string): NativeScanLoad {
  const path = binaryPath ?? usearchBinaryCandidates().find((candidate) => existsSync(candidate));
  if (path === undefined) {
    return {
      scan: null,
      error: new Error(`no usearch binary for ${process.platform}-${process.arch} under any node_modules`),
    };
  }
  try {
    // createRequire keeps the bundler from trying to inline a binary.
    const addon = createRequire(__filename)(path) as UsearchAddon;
    const scan: Int8TopScan = (codes, query, dimension, wanted) => {
      const [keys, distances] = addon.exactSearch(codes, query, dimension, wanted, 'ip', 1);
      // usearch's i8 inner-product distance is 1 − (integer dot), exact in float32 below 2^24.
      return {
        rows: Array.from(keys, Number),
        dots: Array.from(distances, (distance) => 1 - distance),
      };
    };
    // Every row against one query: the query is usearch's one-row dataset and the rows are its queries,
    // each asking for its single nearest, so one call returns every row's distance in row order.
    const everyDistance = <T extends Int8Array | Float32Array>(rows: T, query: T, dimension: number) =>
      addon.exactSearch(query, rows, dimension, 1, 'ip', 1)[1];
    const distances: Float32Distances = everyDistance;
    const int8Distances: Int8Distances = everyDistance;
    const check = scan(new Int8Array([1, 0, 0, 1, 3, 3]), new Int8Array([2, 1]), 2, 2);
    if (check.rows[0] !== 2 || check.dots[0] !== 9 || check.rows[1] !== 0 || check.dots[1] !== 2) {
      throw new Error(`usearch answered a known case wrongly: ${JSON.stringify(check)}`);
    }
    const dense = Array.from(distances(new Float32Array([1, 0, 0, 1, 3, 3]), new Float32Array([2, 1]), 2));
    const denseInt8 = Array.from(int8Distances(new Int8Array([1, 0, 0, 1, 3, 3]), new Int8Array([2, 1]), 2));
    if (dense.join() !== '-1,0,-8' || denseInt8.join() !== '-1,0,-8') {
      throw new Error(
        `usearch answered a known case wrongly: distances ${JSON.stringify(dense)}, int8 ${JSON.stringify(denseInt8)}`,
      );
    }
    return { scan, int8Distances, distances: roundsAsFloat32(distances) ? distances : null, path };
  } catch (error) {
    return {
      scan: null,
      error: new Error(`could not load usearch from ${path}: ${(error as Error).message}`, { cause: error }),
    };
  }
}

/**
 * The dense pass's bound (dense-error.ts, `denseError`) holds for a float32 dot product, whatever its
 * order of summation; a build that scored in half precision, or in int8, would break it. One 384-d case
 * with non-integer values must land within that bound of the float64 dot product, or the dense pass is
 * not offered (search then scores those queries' candidates in JavaScript).
 */
function roundsAsFloat32(distances: Float32Distances): boolean {
  const dimension = 384;
  const row = Float32Array.from({ length: dimension }, (_, i) => Math.sin(i + 1) / 14);
  const query = Float32Array.from({ length: dimension }, (_, i) => Math.cos(3 * i + 1) / 14);
  let exact = 0;
  let magnitude = 0;
  for (let i = 0; i < dimension; i++) {
    const product = (row[i] as number) * (query[i] as number);
    exact += product;
    magnitude += Math.abs(product);
  }
  const scored = 1 - (distances(row, query, dimension)[0] as number);
  const allowed = dimension * 2 ** -24 * magnitude + 2 ** -23 * (1 + magnitude);
  return Math.abs(scored - exact) <= allowed;
}
