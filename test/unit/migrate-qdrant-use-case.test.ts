import { DEFAULT_FIELD_MAP } from '../../src/domain/qdrant-field-map';
import type { PointId, QdrantPoint } from '../../src/domain/qdrant-point';
import type { BotCollection, StoredChunk } from '../../src/domain/types';
import { ConflictError } from '../../src/errors';
import type { QdrantSource } from '../../src/ports';
import {
  type MigrationDeps,
  type MigrationOptions,
  type MigrationState,
  migrateFromQdrant,
} from '../../src/use-cases/migrate-from-qdrant';

const id = (n: number): PointId => ({ kind: 'integer', text: String(n) });

/** A collection of `count` 2-d points, paged by id like scroll. */
function fakeSource(count: number): QdrantSource & { offsets: (string | null)[] } {
  const points: QdrantPoint[] = Array.from({ length: count }, (_, i) => ({
    id: id(i),
    payload: { text: `t${i}`, filename: `f${i % 2}` },
    vector: [1, i],
  }));
  const offsets: (string | null)[] = [];
  return {
    offsets,
    info: async () => ({ pointsCount: count, vectors: [{ name: undefined, size: 2, distance: 'Cosine' }] }),
    scroll: async (offset, limit) => {
      offsets.push(offset?.text ?? null);
      const start = offset === null ? 0 : Number(offset.text);
      const next = start + limit < count ? id(start + limit) : null;
      return { points: points.slice(start, start + limit), next };
    },
    count: async () => count,
  };
}

function fakeStores(bot?: Partial<BotCollection>) {
  const stored = new Map<string, StoredChunk>();
  const puts: number[] = [];
  const ensured: unknown[] = [];
  const deps: Omit<MigrationDeps, 'source'> = {
    bots: {
      get: async () =>
        bot === undefined
          ? undefined
          : ({ embedding_dimension: 2, status: 'active', ...bot } as BotCollection),
      ensure: async (botId, init) => {
        ensured.push({ botId, ...init });
        return {} as BotCollection;
      },
      reactivate: async () => true,
    },
    chunks: {
      put: async (chunks) => {
        puts.push(chunks.length);
        for (const c of chunks) stored.set(c.chunk_id, structuredClone(c));
      },
      get: async (_botId, ids) =>
        ids.flatMap((i) => (stored.has(i) ? [structuredClone(stored.get(i) as StoredChunk)] : [])),
      botChunkIds: async function* () {
        yield [...stored.keys()];
      },
    },
    encoding: 'binary',
    now: () => new Date('2026-02-03T04:05:06.000Z'),
  };
  return { deps, stored, puts, ensured };
}

const options = (over: Partial<MigrationOptions> = {}): MigrationOptions => ({
  collection: 'col',
  bot: { kind: 'fixed', botId: 'b1' },
  fieldMap: DEFAULT_FIELD_MAP,
  batch: 3,
  dryRun: false,
  ...over,
});

describe('migrateFromQdrant', () => {
  it('pages through scroll, saves the offset after each written page, and verifies the count', async () => {
    const source = fakeSource(7);
    const { deps, stored, puts, ensured } = fakeStores();
    const saved: MigrationState[] = [];
    const result = await migrateFromQdrant(
      { ...deps, source },
      options({ onPage: async (state) => void saved.push(structuredClone(state)) }),
    );
    expect(source.offsets).toEqual([null, '3', '6']);
    expect(puts).toEqual([3, 3, 1]);
    expect(saved.map((s) => s.offset?.text ?? null)).toEqual(['3', '6', null]);
    expect(ensured).toEqual([{ botId: 'b1', embedding_dimension: 2 }]);
    expect(stored.get('4')).toMatchObject({
      text: 't4',
      filename: 'f0',
      created_at: '2026-02-03T04:05:06.000Z',
    });
    expect(result.bots).toEqual([{ botId: 'b1', qdrantCount: 7, rejected: 0, chunkCount: 7, matches: true }]);
  });

  it('resumes from a saved state, and a rerun writes nothing and keeps created_at', async () => {
    const source = fakeSource(7);
    const { deps, stored, puts } = fakeStores();
    let firstPage: MigrationState | undefined;
    await expect(
      migrateFromQdrant(
        { ...deps, source },
        options({
          onPage: async (state) => {
            firstPage ??= structuredClone(state);
            throw new Error('killed');
          },
        }),
      ),
    ).rejects.toThrow('killed');
    const resumed = await migrateFromQdrant(
      { ...deps, source },
      options({ resume: firstPage as MigrationState }),
    );
    expect(source.offsets.slice(1)).toEqual(['3', '6']);
    expect(resumed.state).toMatchObject({ read: 7, written: 7, done: true });
    expect(resumed.run).toEqual({ read: 4, written: 4, unchanged: 0, rejected: 0 });
    const finished = await migrateFromQdrant({ ...deps, source }, options({ resume: resumed.state }));
    expect(finished.run).toEqual({ read: 0, written: 0, unchanged: 0, rejected: 0 });
    expect(finished.state).toMatchObject({ read: 7, written: 7 });
    const later = { ...deps, now: () => new Date('2030-01-01T00:00:00.000Z') };
    const rerun = await migrateFromQdrant({ ...later, source }, options());
    expect(rerun.state).toMatchObject({ read: 7, written: 0, unchanged: 7 });
    expect(rerun.run).toEqual({ read: 7, written: 0, unchanged: 7, rejected: 0 });
    expect(puts).toEqual([3, 3, 1]);
    expect(stored.get('0')?.created_at).toBe('2026-02-03T04:05:06.000Z');
  });

  it('writes nothing and creates no bot on a dry run', async () => {
    const { deps, stored, ensured } = fakeStores();
    const result = await migrateFromQdrant({ ...deps, source: fakeSource(4) }, options({ dryRun: true }));
    expect(result.state.written).toBe(4);
    expect(stored.size).toBe(0);
    expect(ensured).toEqual([]);
    expect(result.bots[0]?.chunkCount).toBeNull();
  });

  it('refuses a bot whose dimension is not the collection vector size, before writing', async () => {
    const { deps, puts } = fakeStores({ embedding_dimension: 384 });
    await expect(migrateFromQdrant({ ...deps, source: fakeSource(2) }, options())).rejects.toThrow(
      ConflictError,
    );
    expect(puts).toEqual([]);
  });
});
