import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@lancedb/lancedb';
import {
  Table as ArrowTable,
  Field,
  FixedSizeList,
  Float32,
  makeData,
  makeVector,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import type { BenchDataset } from '../data';
import type { SearchMethod } from './method';

const BATCH_ROWS = 10_000;

function arrowBatch(dataset: BenchDataset, from: number, to: number): ArrowTable {
  const { dimension } = dataset;
  const rows = to - from;
  const floats = dataset.vectors.slice(from * dimension, to * dimension);
  const vector = makeVector(
    makeData({
      type: new FixedSizeList(dimension, new Field('item', new Float32(), true)),
      length: rows,
      nullCount: 0,
      child: makeData({ type: new Float32(), length: floats.length, data: floats }),
    }),
  );
  return new ArrowTable({
    chunk_id: vectorFromArray(dataset.chunkIds.slice(from, to), new Utf8()),
    text: vectorFromArray(dataset.texts.slice(from, to), new Utf8()),
    vector,
  });
}

/**
 * (f) The embedded peer: LanceDB in process, a table on local disk with no vector index, so a vector
 * query is a flat (exact) scan. Returns chunk ids and texts, as our search does. LanceDB runs its scan
 * on its own thread pool (both cores here).
 */
export async function lancedbFlat(dataset: BenchDataset): Promise<SearchMethod> {
  const directory = await mkdtemp(join(tmpdir(), 'bench-lancedb-'));
  const db = await connect(directory);
  const table = await db.createTable('chunks', arrowBatch(dataset, 0, Math.min(dataset.count, BATCH_ROWS)));
  for (let from = BATCH_ROWS; from < dataset.count; from += BATCH_ROWS) {
    await table.add(arrowBatch(dataset, from, Math.min(dataset.count, from + BATCH_ROWS)));
  }
  return {
    async search(query, k) {
      const rows = await table
        .vectorSearch(query)
        .distanceType('dot')
        .bypassVectorIndex()
        .select(['chunk_id', 'text', '_distance'])
        .limit(k)
        .toArray();
      return rows.map((row: { chunk_id: string }) => row.chunk_id);
    },
    async close() {
      table.close();
      db.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
