import {
  candidatesAt,
  DYNAMO_ROUND_TRIP_MS,
  type LeverUnits,
  leverBill,
  leverUnits,
} from '../../tools/bench/cost/levers';
import {
  CONTAINER_BUDGET_BYTES,
  dynamoOnlyBill,
  interpolateMs,
  type MeasuredUnits,
  memoryModeBill,
  monthlyFloor,
  nodeBill,
  perMillionSearches,
  qdrantBill,
  s3VectorsBill,
  serverlessBill,
  type Workload,
} from '../../tools/bench/cost/model';
import prices from '../../tools/bench/prices.json';

const p = prices.prices;
const units: MeasuredUnits = {
  redisBytesPerChunk: 1_000,
  coldLoadBytesPerChunk: 400,
  textBytesPerChunk: 600,
  redisBytesInPerChange: 2_048,
  dynamoBytesPerChunk: 2_400,
  dynamoItemBytes: 2_048,
  wcuPerChange: 4,
  rruPerSnapshotSearch: 1,
  warmSearchMs: [
    [1_000, 1],
    [10_000, 4],
  ],
  fallbackSearchMs: [[1_000, 100]],
  handlerOverheadMs: 10,
  streamMsPerChange: 2,
  memoryMode: {
    measuredAt: 10_000,
    coldLoadRcuPerChunk: 0.5,
    coldLoadMsPerChunk: 0.2,
    heldBytesMeasuredAt: 10_000,
    heldBytesPerChunk: 3_000,
    catchUpRcuPerChange: 1.02,
    catchUpMsPerChange: 0.5,
  },
};
const GIB = 2 ** 30;

describe('cost model', () => {
  it('interpolates search times between measured sizes and scales them linearly beyond', () => {
    expect(interpolateMs(units.warmSearchMs, 5_500)).toBeCloseTo(2.5);
    expect(interpolateMs(units.warmSearchMs, 100_000)).toBeCloseTo(40);
    expect(interpolateMs(units.warmSearchMs, 500)).toBeCloseTo(0.5);
  });

  it('bills Redis memory by GB-hour with the 100 MB Valkey floor, and writes by WCU a change', () => {
    const tiny: Workload = {
      name: 't',
      bots: 1,
      chunksPerBot: 1_000,
      searchesPerMonth: 0,
      chunkChangesPerMonth: 1e6,
    };
    const bill = serverlessBill(tiny, units);
    expect(bill.parts['Redis memory']).toBeCloseTo(0.1 * 730 * p.elasticacheServerlessValkeyGbHour.usd);
    expect(bill.parts['DynamoDB writes']).toBeCloseTo(4e6 * p.dynamodbWriteRequestUnit.usd);
    expect(bill.parts['DynamoDB storage']).toBe(0);
  });

  it('charges the DynamoDB-only mode a read of the whole bot per search', () => {
    const w: Workload = {
      name: 'w',
      bots: 1,
      chunksPerBot: 1_000,
      searchesPerMonth: 1e6,
      chunkChangesPerMonth: 0,
    };
    // 1,000 items of 2 KB: 500 RRU, plus the bot's record.
    expect(dynamoOnlyBill(w, units).parts['DynamoDB reads']).toBeCloseTo(
      501e6 * p.dynamodbReadRequestUnit.usd,
    );
  });

  it('picks the smallest node whose usable memory (75%) holds the snapshot', () => {
    const w: Workload = {
      name: 'w',
      bots: 1,
      chunksPerBot: Math.ceil((2 * GIB) / 1_000),
      searchesPerMonth: 0,
      chunkChangesPerMonth: 0,
    };
    expect(nodeBill(w, units).note).toBe('1 x cache.t4g.medium');
  });

  it('prices S3 Vectors by stored GB, written GB and queries, and Qdrant as free within its 1 GB cluster', () => {
    const w: Workload = {
      name: 'w',
      bots: 2,
      chunksPerBot: 1_000,
      searchesPerMonth: 1e6,
      chunkChangesPerMonth: 0,
    };
    const bytes = 384 * 4 + 64 + 600;
    expect(s3VectorsBill(w, units).parts.storage).toBeCloseTo(
      ((2_000 * bytes) / GIB) * p.s3VectorsStorageGbMonth.usd,
    );
    expect(qdrantBill(w).total).toBe(0);
    expect(qdrantBill({ ...w, chunksPerBot: 10_000_000 }).total).toBeNull();
  });

  describe('memory mode', () => {
    const rru = p.dynamodbReadRequestUnit.usd;
    const gbSecond = p.lambdaGbSecond.usd * (1769 / 1024);

    it('charges a cold load an hour per searched bot, the bot item per search, and a catch-up per change', () => {
      const w: Workload = {
        name: 'w',
        bots: 5,
        chunksPerBot: 2_000,
        searchesPerMonth: 50_000,
        chunkChangesPerMonth: 10_000,
      };
      const bill = memoryModeBill(w, units);
      const loads = 5 * 730;
      expect(bill.parts['DynamoDB reads']).toBeCloseTo(
        (50_000 * 1 + loads * (1 + 2_000 * 0.5) + 10_000 * 1.02) * rru,
      );
      // Each search: the handler's 10 ms and the warm scan (4/3 ms at 2k, between 1k and 10k); each load and catch-up its measured time.
      expect(bill.parts['Lambda search']).toBeCloseTo(
        50_000 * (((10 + 4 / 3) / 1000) * gbSecond + p.lambdaRequest.usd) +
          ((loads * 2_000 * 0.2 + 10_000 * 0.5) / 1000) * gbSecond,
        4,
      );
      expect(bill.parts['Redis memory']).toBeUndefined();
      expect(bill.note).toBeUndefined();
    });

    it('reads its bot whole for the share of searches whose bot does not fit the budget', () => {
      const botBytes = 10_000 * units.memoryMode.heldBytesPerChunk;
      const fit = Math.floor(CONTAINER_BUDGET_BYTES / botBytes);
      const w: Workload = {
        name: 'w',
        bots: 4 * fit,
        chunksPerBot: 10_000,
        searchesPerMonth: 1e7,
        chunkChangesPerMonth: 0,
      };
      const bill = memoryModeBill(w, units);
      expect(bill.note).toBe(`${fit} of ${4 * fit} bots fit a container: 75% of searches read their bot`);
      expect(bill.parts['DynamoDB reads']).toBeCloseTo((1e7 + 0.75e7 * (1 + 10_000 * 0.5)) * rru, 2);
    });

    it('reads a bot over the budget for every search, and says when that cannot finish by the deadline', () => {
      const w: Workload = {
        name: 'w',
        bots: 1,
        chunksPerBot: 1_000_000,
        searchesPerMonth: 1_000,
        chunkChangesPerMonth: 0,
      };
      const bill = memoryModeBill(w, units);
      // 1M chunks a bot: 500,001 RCU a search, at least 167 s at 3,000 RCU/s; texts read per search.
      expect(bill.note).toBe(
        'over the 512 MiB budget: every search reads the bot; a whole read takes at least 167 s (3,000 RCU/s a partition), past the 24 s deadline',
      );
      expect(bill.parts['DynamoDB reads']).toBeCloseTo(1_000 * (1 + 500_001) * rru);
    });
  });

  it('gives each mode its monthly floor and the price of a million searches of one bot', () => {
    expect(monthlyFloor(dynamoOnlyBill, units)).toBe(0);
    expect(monthlyFloor(memoryModeBill, units)).toBe(0);
    expect(monthlyFloor(serverlessBill, units)).toBeCloseTo(
      0.1 * 730 * p.elasticacheServerlessValkeyGbHour.usd,
    );
    expect(monthlyFloor(nodeBill, units)).toBeCloseTo(0.0128 * 730);
    // One 1k-chunk bot: a million searches read the bot item each, and the month's 730 cold loads.
    const lambda = 1e6 * ((11 / 1000) * p.lambdaGbSecond.usd * (1769 / 1024) + p.lambdaRequest.usd);
    const loads = 730 * (1 + 1_000 * 0.5) * p.dynamodbReadRequestUnit.usd;
    const loadMs = ((730 * 1_000 * 0.2) / 1000) * p.lambdaGbSecond.usd * (1769 / 1024);
    expect(perMillionSearches(memoryModeBill, units, 1_000)).toBeCloseTo(
      1e6 * p.dynamodbReadRequestUnit.usd + loads + lambda + loadMs,
    );
    // A node's price is the floor: a million searches add only the reads and Lambda.
    expect(perMillionSearches(nodeBill, units, 1_000)).toBeCloseTo(
      1e6 * p.dynamodbReadRequestUnit.usd + lambda,
    );
  });

  describe('levers', () => {
    const levers: LeverUnits = {
      vectorBytesPerChunk: 400,
      candidatesPerSearch: [
        [1_000, 30],
        [1_000_000, 50],
      ],
    };
    // 10 GB of Redis as built: above the floor, so every byte taken out is billed less.
    const w: Workload = {
      name: 'w',
      bots: 10,
      chunksPerBot: 2 ** 30 / 1_000,
      searchesPerMonth: 1e6,
      chunkChangesPerMonth: 0,
    };
    const gbHour = p.elasticacheServerlessValkeyGbHour.usd;
    const rru = p.dynamodbReadRequestUnit.usd;

    it('prices the snapshot as built exactly as the ElastiCache Serverless mode', () => {
      expect(leverBill(w, units, levers, 'asBuilt')).toEqual(serverlessBill(w, units));
    });

    it('takes the float32 vectors out of Redis and reads every candidate item a search', () => {
      const asBuilt = serverlessBill(w, units);
      const out = leverBill(w, units, levers, 'float32Out');
      // 400 of 1,000 bytes a chunk leave: 4 of the 10 GB.
      expect(out.parts['Redis memory']).toBeCloseTo(6 * 730 * gbHour);
      // The bot's record and 50 items of 2 KB (1 read unit each) a search.
      expect(out.parts['DynamoDB reads']).toBeCloseTo(1e6 * 51 * rru);
      expect(out.parts['DynamoDB reads']).toBeGreaterThan(asBuilt.parts['DynamoDB reads'] as number);
      // No text is read from Redis: 10 texts of 600 bytes a search less.
      expect(out.parts['Redis requests']).toBeCloseTo(
        (asBuilt.parts['Redis requests'] as number) -
          ((1e6 * 10 * 600) / 1024) * p.elasticacheServerlessValkeyEcpu.usd,
      );
      expect(leverUnits(w, units, levers, 'float32Out').handlerOverheadMs).toBe(10 + DYNAMO_ROUND_TRIP_MS);
    });

    it('takes the texts out and reads the k hits, or both out and reads the candidates', () => {
      const textsOut = leverBill(w, units, levers, 'textsOut');
      expect(textsOut.parts['Redis memory']).toBeCloseTo(4 * 730 * gbHour);
      expect(textsOut.parts['DynamoDB reads']).toBeCloseTo(1e6 * 11 * rru);
      const bothOut = leverUnits(w, units, levers, 'bothOut');
      expect(bothOut.redisBytesPerChunk).toBe(0);
      expect(bothOut.rruPerSnapshotSearch).toBe(51);
    });

    it('reads the re-score count measured at the bot size, else the largest measured under it', () => {
      expect(candidatesAt(levers, 1_000)).toBe(30);
      expect(candidatesAt(levers, 500_000)).toBe(30);
      expect(candidatesAt(levers, 2_000_000)).toBe(50);
      expect(candidatesAt(levers, 10)).toBe(30);
    });

    it('charges a consistent read unit for each started 4 KB of an item', () => {
      const large = { ...units, dynamoItemBytes: 4_097 };
      expect(leverUnits(w, large, levers, 'float32Out').rruPerSnapshotSearch).toBe(101);
    });
  });
});
