import fc from 'fast-check';
import { bestGroupsFromScan } from '../../src/domain/ranking/grouped-scan';
import { dotRow, ScoreBuffer } from '../../src/domain/ranking/scoring';
import { rankVectorRows } from '../../src/domain/ranking/vector-rows';
import { indexRowsByFilename } from '../../src/domain/search-filter';
import type { SnapshotRow } from '../../src/domain/snapshot';
import { pooledRow, pooledVectors, scannerAtEverySize, vectorPool } from '../fixtures/tied-vectors';

const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
const DIMENSION = 6;

/** A ranking as a user sees it: each group's name and its hits' ids and scores, in order. */
function shown(ranked: ReturnType<typeof rankVectorRows>) {
  return (ranked.groups ?? []).map((group) => ({
    group: group.id,
    hits: group.hits.map((hit) => [hit.id, hit.score]),
  }));
}

describe('grouped vector search from the int8 scan', () => {
  it('gives the groups, hits and scores that scoring every row gives', () => {
    console.log(`grouped scan property seed ${seed} (TEST_SEED replays it)`);
    const scanner = scannerAtEverySize();
    let proven = 0;
    fc.assert(
      fc.property(
        vectorPool(DIMENSION, 10),
        fc.array(fc.record({ ...pooledRow, passes: fc.boolean() }), {
          minLength: 1,
          maxLength: 1500,
          size: 'large',
        }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: -3, max: 3 }), { minLength: DIMENSION, maxLength: DIMENSION }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.option(fc.double({ min: -0.5, max: 0.9, noNaN: true })),
        (pool, rows, files, rawQuery, limit, groupSize, filtered, threshold) => {
          const n = rows.length;
          const vectors = pooledVectors(pool, rows, DIMENSION, true);
          const snapshotRows: SnapshotRow[] = rows.map((_, i) => ({
            chunk_id: `c${(i * 7919) % 10007}`,
            filename: `f${(i * 31) % files}.md`,
            chunk_index: i,
            metadata: {},
          }));
          const norm = Math.hypot(...rawQuery);
          if (norm === 0) return;
          const query = Float64Array.from(rawQuery, (x) => x / norm);
          const held = {
            snapshot: { dimension: DIMENSION, vectors, rows: snapshotRows },
            ids: snapshotRows.map((row) => row.chunk_id),
            visible: filtered ? Uint8Array.from(rows, (r) => (r.passes ? 1 : 0)) : undefined,
            rowsByFilename: indexRowsByFilename(snapshotRows),
          };
          const options = {
            limit,
            groupBy: { field: 'filename' as const, groupSize },
            ...(threshold === null ? {} : { scoreThreshold: threshold }),
          };
          const everyRow = rankVectorRows(held, query, null, options, new ScoreBuffer(), undefined);
          const fromScan = rankVectorRows(held, query, null, options, new ScoreBuffer(), scanner);
          expect(shown(fromScan)).toEqual(shown(everyRow));
          // The proof itself: when it holds, its groups are the ones scoring every row ranks first.
          const mask = held.visible;
          const groups = bestGroupsFromScan({
            scan: (wanted) => scanner.approximate(vectors, DIMENSION, n, query, wanted, mask),
            candidateCount: mask === undefined ? n : mask.reduce((sum, x) => sum + x, 0),
            mask,
            groupOf: (row) => (snapshotRows[row] as SnapshotRow).filename,
            idOf: (row) => held.ids[row] as string,
            cosineOf: (row) => dotRow(vectors, row * DIMENSION, query, DIMENSION),
            limit,
            threshold: threshold ?? Number.NEGATIVE_INFINITY,
          });
          if (groups !== null) {
            proven++;
            expect([...groups].sort()).toEqual(
              shown(everyRow)
                .map((g) => g.group)
                .sort(),
            );
          }
        },
      ),
      { seed, numRuns: 300 },
    );
    // The scan proved most answers (not only the portable loop it falls back to).
    // About 90 in 300 on any seed: small bots fall back, their scan limit being an eighth of their rows.
    expect(proven).toBeGreaterThan(40);
  });
});
