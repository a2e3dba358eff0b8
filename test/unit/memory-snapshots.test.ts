import type { BotCollection, StoredChunk } from '../../src/domain/types';
import type { ChangeLog, ChunkIdRange, ChunkStore } from '../../src/ports';
import type { Snapshot } from '../../src/snapshot';
import { MemorySnapshotStore } from '../../src/snapshot';

/**
 * MemorySnapshotStore over plain fakes of the bot item, the chunks and the change log: when a held copy
 * is caught up from the log, and that a caught-up copy holds what a whole read holds.
 */
const DIM = 3;
const BOT = 'bot-m';

function chunk(id: string, seed: number): StoredChunk {
  return {
    bot_id: BOT,
    chunk_id: id,
    embedding: Float32Array.from([seed, 1, -seed]),
    text: `text ${id} ${seed}`,
    filename: `${id.slice(0, 1)}.md`,
    file_size: 10,
    chunk_index: seed,
    created_at: '2026-01-01T00:00:00.000Z',
    metadata: { seed },
  };
}

function world() {
  const table = new Map<string, StoredChunk>();
  const log = new Map<number, string[]>();
  const bot: BotCollection = {
    bot_id: BOT,
    total_chunks: 0,
    total_documents: 0,
    embedding_dimension: DIM,
    created_at: '',
    updated_at: '',
    status: 'active',
    data_version: 0,
    snapshot_epoch: 0,
  };
  const reads = { ranges: [] as ChunkIdRange[], byKey: 0 };
  const chunks: Pick<ChunkStore, 'readBot' | 'get'> = {
    async *readBot(_botId, options) {
      const range = options.range ?? {};
      reads.ranges.push(range);
      const inRange = [...table.values()]
        .filter(
          (c) =>
            (range.from === undefined || c.chunk_id >= range.from) &&
            (range.below === undefined || c.chunk_id < range.below),
        )
        .sort((a, b) => (a.chunk_id < b.chunk_id ? -1 : 1));
      if (inRange.length > 0) yield inRange;
    },
    get: async (_botId, ids) => {
      reads.byKey += ids.length;
      return ids.flatMap((id) => (table.has(id) ? [table.get(id) as StoredChunk] : []));
    },
  };
  const changes: ChangeLog = {
    changedSince: async (_botId, from, to) => {
      const ids = new Set<string>();
      for (let v = from + 1; v <= to; v++) {
        const found = log.get(v);
        if (found === undefined) return null;
        for (const id of found) ids.add(id);
      }
      return [...ids];
    },
  };
  /** One stream batch: writes (null: delete) land in the table, the version moves, the log records them. */
  const commit = (writes: [string, StoredChunk | null][]) => {
    for (const [id, value] of writes) {
      if (value === null) table.delete(id);
      else table.set(id, value);
    }
    bot.data_version = (bot.data_version ?? 0) + 1;
    log.set(
      bot.data_version,
      writes.map(([id]) => id),
    );
  };
  const store = new MemorySnapshotStore({
    bots: { get: async () => ({ ...bot }) },
    chunks,
    changes,
    logger: { warn: () => {} },
    maxCatchUpVersions: 3,
  });
  return { table, log, bot, reads, commit, store };
}

/** A snapshot's rows, vectors and texts by chunk id, whatever their order. */
function content(snapshot: Snapshot | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [i, row] of (snapshot?.rows ?? []).entries()) {
    out[row.chunk_id] = [
      row,
      [...(snapshot as Snapshot).vectors.subarray(i * DIM, (i + 1) * DIM)],
      snapshot?.texts?.[i],
    ];
  }
  return out;
}

describe('memory snapshot store', () => {
  it('reads the whole bot in 8 disjoint chunk-id ranges at its current data_version', async () => {
    const { commit, store, reads } = world();
    commit([
      ['0a', chunk('0a', 1)],
      ['5b', chunk('5b', 2)],
      ['zz', chunk('zz', 3)],
    ]);

    const snapshot = await store.read(BOT);

    expect(snapshot?.version).toBe('1');
    expect(snapshot?.rows.map((row) => row.chunk_id)).toEqual(['0a', '5b', 'zz']);
    expect(reads.ranges).toHaveLength(8);
    expect(reads.ranges[0]).toEqual({ below: '2' });
    expect(reads.ranges[7]).toEqual({ from: 'e' });
  });

  it('holds the texts of a bot larger than the Redis mode holds texts for, loaded and caught up', async () => {
    const { commit, store } = world();
    const many = Array.from({ length: 30_000 }, (_, i): [string, StoredChunk] => {
      const id = `c${String(i).padStart(5, '0')}`;
      return [id, chunk(id, i)];
    });
    commit(many);

    const held = await store.read(BOT);
    commit([['c00007', chunk('c00007', -7)]]);
    const caughtUp = await store.read(BOT, held ?? undefined);

    expect(held?.texts).toHaveLength(30_000);
    expect(held?.texts?.[29_999]).toBe('text c29999 29999');
    expect(caughtUp?.version).toBe('2');
    expect(caughtUp?.texts?.[caughtUp.rows.findIndex((row) => row.chunk_id === 'c00007')]).toBe(
      'text c00007 -7',
    );
  });

  it('catches a copy up from the change log to exactly what a whole read holds', async () => {
    const { commit, store, reads } = world();
    commit([
      ['a1', chunk('a1', 1)],
      ['a2', chunk('a2', 2)],
      ['b1', chunk('b1', 3)],
    ]);
    const held = await store.read(BOT);
    commit([['a2', chunk('a2', 20)]]);
    commit([
      ['b1', null],
      ['c1', chunk('c1', 4)],
    ]);
    reads.ranges.length = 0;

    const caughtUp = await store.read(BOT, held as Snapshot);

    expect(reads.ranges).toEqual([]);
    expect(reads.byKey).toBe(3);
    expect(caughtUp?.version).toBe('3');
    expect(content(caughtUp)).toEqual(content(await store.read(BOT)));
    expect(Object.keys(content(caughtUp)).sort()).toEqual(['a1', 'a2', 'c1']);
  });

  it('reads the bot whole when the copy is too far behind, its log is gone, or the epoch moved', async () => {
    const { commit, store, reads, log, bot } = world();
    commit([['a1', chunk('a1', 1)]]);
    const held = (await store.read(BOT)) as Snapshot;
    for (let i = 0; i < 4; i++) commit([['a1', chunk('a1', 10 + i)]]);
    reads.ranges.length = 0;
    expect((await store.read(BOT, held))?.version).toBe('5');
    expect(reads.ranges).toHaveLength(8);

    const recent = (await store.read(BOT)) as Snapshot;
    commit([['a2', chunk('a2', 2)]]);
    log.delete(6);
    reads.ranges.length = 0;
    expect(content(await store.read(BOT, recent))).toHaveProperty('a2');
    expect(reads.ranges).toHaveLength(8);

    bot.snapshot_epoch = 1;
    reads.ranges.length = 0;
    expect((await store.read(BOT, recent))?.epoch).toBe(1);
    expect(reads.ranges).toHaveLength(8);
  });

  it('reads the bot whole for a version that recorded no change, so it sees a change no version recorded', async () => {
    const { commit, store, reads, table, bot } = world();
    commit([['a1', chunk('a1', 1)]]);
    const held = (await store.read(BOT)) as Snapshot;
    // A chunk whose stream record was lost: in the table, in no version's change log.
    table.set('b1', chunk('b1', 2));
    // What the doctor's repair does in this mode: data_version moves, the change log gets nothing.
    bot.data_version = (bot.data_version ?? 0) + 1;
    reads.ranges.length = 0;

    const reloaded = await store.read(BOT, held);

    expect(reloaded?.version).toBe('2');
    expect(reads.ranges).toHaveLength(8);
    expect(Object.keys(content(reloaded)).sort()).toEqual(['a1', 'b1']);
  });

  it('gives the version and epoch from the bot item the caller holds', () => {
    const { store, bot } = world();
    expect(store.versionOf({ ...bot, data_version: 7, snapshot_epoch: 2 })).toEqual({
      version: '7',
      epoch: 2,
    });
    expect(store.versionOf({ ...bot, data_version: undefined, snapshot_epoch: undefined })).toEqual({
      version: '0',
      epoch: 0,
    });
  });
});
