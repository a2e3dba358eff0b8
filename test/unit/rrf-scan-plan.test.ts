import { DEFAULT_RRF_K } from '../../src/domain/ranking/fusion';
import { rrfScanPlan, SMALLEST_SCAN_LIMIT } from '../../src/domain/ranking/rrf-from-scan';

const RRF = { method: 'rrf' as const, k: DEFAULT_RRF_K };
const KEEP = 10;
const FIRST_HEAD = KEEP + 16;

function plan(candidates: number, hasMatch: boolean) {
  const planned = rrfScanPlan(candidates, RRF, KEEP, FIRST_HEAD, SMALLEST_SCAN_LIMIT, hasMatch);
  if (planned === null) throw new Error(`no scan planned for ${candidates} candidates`);
  return planned;
}

describe("RRF's first scan", () => {
  it('reads the same share of a large bot at every size when the best match needs its vector rank', () => {
    // The best match's vector rank grows with the bot: a first scan that stopped at a fixed row count
    // would leave it out on a 1M-chunk bot and cost a second pass over every row.
    const tenth = plan(100_000, true);
    const whole = plan(1_000_000, true);
    expect(tenth.needsLeader).toBe(true);
    expect(whole.needsLeader).toBe(true);
    expect(whole.depth / 1_000_000).toBeCloseTo(tenth.depth / 100_000, 3);
    expect(whole.depth).toBeGreaterThan(10_000);
    // Still a small share of the rows: the scan lists what it reads.
    expect(whole.depth).toBeLessThanOrEqual(whole.cap);
    expect(whole.depth / 1_000_000).toBeLessThan(1 / 32);
  });

  it('stays short when no candidate matches a query term', () => {
    const none = plan(1_000_000, false);
    expect(none.needsLeader).toBe(false);
    // The vector top alone decides: a thousandth of the rows is plenty.
    expect(none.depth).toBeLessThan(1_000_000 / 1000);
  });
});
