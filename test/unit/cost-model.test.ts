import {
  dynamoOnlyBill,
  interpolateMs,
  type MeasuredUnits,
  nodeBill,
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
});
