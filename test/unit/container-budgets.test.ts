import { loadConfig } from '../../src/config';
import { containerBudgets, DEFAULT_SEARCH_MEMORY_MB } from '../../src/snapshot';

const MiB = 2 ** 20;

describe("a search container's budgets", () => {
  it('hold 512 MiB of snapshots and 64 MiB of keyword ids outside Lambda and at the default memory', () => {
    const expected = { snapshotCacheBytes: 512 * MiB, keywordIdBytes: 64 * MiB };
    expect(containerBudgets(loadConfig({}).functionMemoryMb)).toEqual(expected);
    const lambda = loadConfig({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(DEFAULT_SEARCH_MEMORY_MB) });
    expect(containerBudgets(lambda.functionMemoryMb)).toEqual(expected);
  });

  it('grow with the memory Lambda gives the function', () => {
    const large = containerBudgets(loadConfig({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '8192' }).functionMemoryMb);
    expect(large.snapshotCacheBytes / (512 * MiB)).toBeCloseTo(8192 / DEFAULT_SEARCH_MEMORY_MB, 5);
    expect(large.keywordIdBytes).toBe(Math.floor(large.snapshotCacheBytes / 8));
    // A 1M-chunk 384-d bot held whole: float32 vectors, the int8 copy (a quarter more) and ~200 bytes a
    // row, as the cache counts it.
    expect(large.snapshotCacheBytes).toBeGreaterThan(1_000_000 * (384 * 4 * 1.25 + 200));
    // Never past a third of the memory: a bot's next version is read while its held copy answers.
    expect(large.snapshotCacheBytes).toBeLessThan((8192 * MiB) / 3);
  });

  it('refuse a memory size that is not a whole number of MB', () => {
    expect(() => loadConfig({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2g' })).toThrow(
      /AWS_LAMBDA_FUNCTION_MEMORY_SIZE/,
    );
  });
});
