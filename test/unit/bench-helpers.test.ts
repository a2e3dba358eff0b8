import { latencyChart } from '../../tools/bench/chart';
import { generateDataset, generateQueries, prefixOf } from '../../tools/bench/data';
import { BusyClock } from '../../tools/bench/instrument';
import { itemSize, significantDigits, valueSize, writeUnits } from '../../tools/bench/item-size';
import { parseOptions } from '../../tools/bench/options';
import { renderMarkdown } from '../../tools/bench/report';
import { seededRng } from '../../tools/bench/rng';
import { exactTopK, meanRecallAtK, percentile, recallAtK } from '../../tools/bench/stats';

describe('bench seeded data', () => {
  it('draws the same numbers from the same seed and different ones from another', () => {
    const a = seededRng(7);
    const b = seededRng(7);
    const c = seededRng(8);
    const fromA = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(fromA);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(fromA);
  });

  it('generates unit vectors, ~500-character texts, and a smaller dataset as a prefix of a larger one', () => {
    const small = generateDataset({ count: 50, dimension: 16, seed: 3 });
    const large = generateDataset({ count: 200, dimension: 16, seed: 3 });
    for (let row = 0; row < small.count; row++) {
      let norm = 0;
      for (let d = 0; d < 16; d++) norm += (small.vectors[row * 16 + d] as number) ** 2;
      expect(Math.sqrt(norm)).toBeCloseTo(1, 5);
      expect((small.texts[row] as string).length).toBeGreaterThanOrEqual(450);
      expect((small.texts[row] as string).length).toBeLessThanOrEqual(550);
    }
    const prefix = prefixOf(large, 50);
    expect(Array.from(prefix.vectors)).toEqual(Array.from(small.vectors));
    expect(prefix.chunkIds).toEqual(small.chunkIds);
    expect(new Set(large.chunkIds).size).toBe(200);
  });

  it('draws queries near the data: each query has a neighbour far closer than a random direction', () => {
    const data = generateDataset({ count: 500, dimension: 64, seed: 11, clusters: 5 });
    const [query] = generateQueries({ count: 0, dimension: 64, seed: 11, clusters: 5, queries: 1 });
    const [best] = exactTopK(data.vectors, 64, query as Float32Array, 1);
    let dot = 0;
    for (let d = 0; d < 64; d++)
      dot += (data.vectors[(best as number) * 64 + d] as number) * (query?.[d] as number);
    expect(dot).toBeGreaterThan(0.4);
  });
});

describe('bench statistics', () => {
  it('interpolates percentiles between closest ranks', () => {
    expect(percentile([4, 1, 3, 2], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5], 95)).toBeCloseTo(4.8);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('counts recall@k as the share of the exact top-k that a result contains', () => {
    expect(recallAtK(['a', 'b', 'c', 'd'], ['a', 'x', 'c', 'y'], 4)).toBe(0.5);
    expect(recallAtK(['a', 'b'], ['b', 'a', 'c'], 2)).toBe(1);
    expect(recallAtK(['a', 'b'], ['c', 'a'], 1)).toBe(0);
    expect(meanRecallAtK([['a'], ['b']], [['a'], ['c']], 1)).toBe(0.5);
  });

  it('finds the exact top-k by dot product, best first, ties by lower row', () => {
    const vectors = Float32Array.from([1, 0, 0, 1, 0.6, 0.8, 1, 0, -1, 0]);
    const query = Float32Array.from([1, 0]);
    expect(exactTopK(vectors, 2, query, 3)).toEqual([0, 3, 2]);
    expect(exactTopK(vectors, 2, query, 10)).toEqual([0, 3, 2, 1, 4]);
  });
});

describe('bench DynamoDB item sizes', () => {
  it('sizes numbers by their significant digits, zeros trimmed', () => {
    expect(significantDigits(0.012345)).toBe(5);
    expect(significantDigits(1200)).toBe(2);
    expect(significantDigits(1e-7)).toBe(1);
    expect(valueSize(0.012345)).toBe(4);
  });

  it('adds 3 bytes per list or map and 1 byte per element', () => {
    expect(valueSize([])).toBe(3);
    expect(valueSize([1, 2])).toBe(3 + 2 * (2 + 1));
    expect(valueSize({ ab: 'xyz' })).toBe(3 + 2 + 3 + 1);
  });

  it('charges one write unit per started kilobyte of the item', () => {
    const item = { bot_id: 'b', chunk_id: 'c', embedding: new Uint8Array(1536) };
    expect(itemSize(item)).toBe(6 + 1 + 8 + 1 + 9 + 1536);
    expect(writeUnits(itemSize(item))).toBe(2);
    expect(writeUnits(1024)).toBe(1);
    expect(writeUnits(1025)).toBe(2);
  });
});

describe('bench report', () => {
  const row = (method: 'a' | 'd' | 'e' | 'g', n: number, median: number) => ({
    method,
    n,
    summary: { median, p95: median * 2, samples: 5 },
    recall: 1,
  });

  it('plots each method on log scales: ten times slower is one decade higher', () => {
    const svg = latencyChart([row('d', 1000, 1), row('d', 10000, 10), row('e', 1000, 0.1)], 'latency');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    const points = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)" r="4"/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    // Per method in table order: its data points, then its legend marker.
    expect(points).toHaveLength(5);
    const [d1k, d10k, , e1k] = points as [number[], number[], number[], number[]];
    expect(d10k[1] as number).toBeLessThan(d1k[1] as number);
    expect((d1k[1] as number) - (d10k[1] as number)).toBeCloseTo((e1k[1] as number) - (d1k[1] as number), 5);
    expect(svg.match(/<polyline /g)).toHaveLength(1);
  });

  it('states the ratios to the baseline and to usearch, and why a method was skipped', () => {
    const results = {
      machine: {
        date: '2026-01-01T00:00:00.000Z',
        cpuModel: 'cpu',
        cores: 2,
        memoryGiB: 4,
        node: 'v20',
        redisServer: '7',
        redisMallocConf: 'thp:always',
        dynamoDbLocal: '3',
        java: 'java',
        usearch: '2',
        lancedb: '0',
      },
      mode: 'quick' as const,
      command: 'npm run bench -- --quick',
      dimension: 384,
      queries: 2,
      k: 10,
      totalSeconds: 1,
      latency: [
        row('a', 1000, 2000),
        row('d', 1000, 1),
        row('e', 1000, 0.25),
        row('g', 1000, 0.125),
        { method: 'a' as const, n: 10000, skipped: 'too slow' },
      ],
      dynamoShare: [],
      writeCost: [],
      bookkeeping: [],
      batchCost: [],
      freshness: [],
      outage: [],
      memory: [],
      kernel: [{ n: 1000, searches: 40, widened: 2, widenings: 3, exhaustive: 0 }],
      features: [],
      notes: [],
    };
    const markdown = renderMarkdown(results);
    expect(markdown).toMatch(
      /\| \(d\) snapshot, warm \| 1k \| 5 \| 1\.00 \| 2\.00 \| 2000× \| 4\.00× \| 1\.000 \|/,
    );
    expect(markdown).toMatch(
      /\| \(g\) our scoring kernel \| 1k \| 5 \| 0\.125 \| 0\.250 \| 16000× \| 0\.50× \| 1\.000 \|/,
    );
    expect(markdown).toMatch(/\| 1k \| 40 \| 2 \(5\.0%\) \| 3 \| 0 \|/);
    expect(markdown).toContain('skipped: too slow');
    expect(markdown).toContain('MALLOC_CONF=thp:always');
  });
});

describe('busy clock', () => {
  it('counts overlapping calls once and leaves out the gaps between them', () => {
    const clock = new BusyClock();
    clock.begin(0);
    clock.begin(5);
    clock.end(10);
    clock.end(20);
    clock.begin(30);
    clock.end(35);
    expect(clock.totalMs).toBe(25);
  });

  it('counts nothing for a call still in flight', () => {
    const clock = new BusyClock();
    clock.begin(0);
    expect(clock.totalMs).toBe(0);
  });
});

describe('bench options', () => {
  it('writes to the git-ignored tools/bench/out/ unless --publish is given', () => {
    expect(parseOptions([]).publish).toBe(false);
    expect(parseOptions(['--quick']).publish).toBe(false);
    expect(parseOptions(['--quick', '--publish']).publish).toBe(true);
    expect(() => parseOptions(['--publsh'])).toThrow(/unknown flag --publsh/);
  });

  it('knows the outage suite', () => {
    expect(parseOptions(['--only=outage']).suites).toEqual(['outage']);
  });

  it('loads a 100k-chunk bot for the memory mode only with --million', () => {
    expect(parseOptions([]).memoryModeSizes).toEqual([1_000, 10_000]);
    expect(parseOptions(['--quick']).memoryModeSizes).toEqual([1_000, 10_000]);
    expect(parseOptions(['--million']).memoryModeSizes).toEqual([1_000, 10_000, 100_000]);
    expect(parseOptions(['--quick', '--million', '--only=memory-mode']).memoryModeSizes).toEqual([
      1_000, 10_000, 100_000,
    ]);
  });
});

describe('memory mode report', () => {
  const results = {
    machine: {
      date: '2026-01-01T00:00:00.000Z',
      cpuModel: 'cpu',
      cores: 2,
      memoryGiB: 4,
      node: 'v20',
      redisServer: '7',
      redisMallocConf: 'thp:always',
      dynamoDbLocal: '3',
      java: 'java',
      usearch: '2',
      lancedb: '0',
    },
    mode: 'quick' as const,
    command: 'npm run bench -- --quick --only=memory-mode',
    dimension: 384,
    queries: 2,
    k: 10,
    totalSeconds: 1,
    latency: [],
    dynamoShare: [],
    writeCost: [],
    bookkeeping: [],
    batchCost: [],
    freshness: [],
    outage: [],
    memory: [],
    kernel: [],
    features: [],
    notes: [],
    memoryMode: [
      {
        n: 10_000,
        coldLoadMs: 2_000,
        coldLoadReadUnits: 5_400,
        coldLoadInReadsMs: 1_500,
        tableSearchMs: 1_700,
        heldBytes: 30 * 2 ** 20,
        warmMedianMs: 4.5,
        warmReadUnitsPerSearch: 0,
        redisWarmMedianMs: 12,
        catchUpChunks: 100,
        catchUpMs: 80,
        catchUpReadUnits: 102,
        overBudget: {
          budgetBytes: 15 * 2 ** 20,
          searches: 3,
          medianMs: 4_500,
          readUnitsPerSearch: 5_400,
          recall: 1,
        },
      },
    ],
  };

  it("puts a cold load's time in DynamoDB Local reads and DynamoDB's floor for it beside the load", () => {
    // 5,400 RCU at 3,000 RCU/s a partition: 1.8 s at least on DynamoDB.
    expect(renderMarkdown(results)).toContain(
      '| 10k | 2000 | 1500 | 5400.0 | 1.8 | 1700 | 4.500 | 12.000 | 0.0 | 80 | 102.0 |',
    );
  });

  it('says how many times slower than a held copy a bot over the budget is, and that it answered exactly', () => {
    expect(renderMarkdown(results)).toContain(
      '| 10k | 30.0 | 15.0 | 3 | 4500 | 4.500 | 1000x | 5400.0 | 1.000 |',
    );
  });
});
