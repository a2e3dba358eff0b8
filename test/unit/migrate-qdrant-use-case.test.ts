import { DEFAULT_FIELD_MAP } from '../../src/contracts/qdrant-field-map';
import type { PointId, QdrantPoint } from '../../src/contracts/qdrant-point';
import type { BotCollection, StoredChunk } from '../../src/domain/types';
import { ConflictError } from '../../src/errors';
import type { QdrantSource } from '../../src/ports';
import {
  type MigrationDeps,
  type MigrationOptions,
  type MigrationState,
  migrateFromQdrant,
} from '../../src/use-cases/migrate-from-qdrant';
import { FakeBotAliases } from '../fixtures/fake-ports';

const id = (n: number): PointId => ({ kind: 'integer', text: String(n) });

/** A collection of `count` 2-d points, paged by id like scroll. */
function fakeSource(count: number, groups = 1): QdrantSource & { offsets: (string | null)[] } {
  const points: QdrantPoint[] = Array.from({ length: count }, (_, i) => ({
    id: id(i),
    payload: { text: `t${i}`, filename: `f${i % 2}`, group: `g${i % groups}` },
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
    aliases: async () => [],
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
        return {
          bot_id: botId,
          embedding_dimension: 2,
          status: 'active',
          user_id: init.user_id,
          ...bot,
        } as BotCollection;
      },
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
    aliases: new FakeBotAliases(),
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

  describe('checks every bot it will write before the first write', () => {
    /** Bots g0..g2 by payload key `group`; `records` are the bots that exist already. */
    function multiTenant(records: Record<string, Partial<BotCollection>>) {
      const { deps, puts, ensured } = fakeStores();
      deps.bots.get = async (botId) =>
        records[botId] === undefined
          ? undefined
          : ({ bot_id: botId, embedding_dimension: 2, status: 'active', ...records[botId] } as BotCollection);
      return { deps: { ...deps, source: fakeSource(12, 3) }, puts, ensured };
    }
    const byGroup = options({ bot: { kind: 'payload', key: 'group' } });

    it('refuses a bot of another user, named, with nothing written into any bot', async () => {
      const { deps, puts, ensured } = multiTenant({ g2: { user_id: 'someone-else' } });

      const error = await migrateFromQdrant(deps, { ...byGroup, owner: 'me' }).catch((e) => e);

      expect(error).toBeInstanceOf(ConflictError);
      expect(error.message).toMatch(
        /^nothing was written: 1 bot\(s\) cannot take this migration: bot g2 belongs to another user than me$/,
      );
      expect(puts).toEqual([]);
      expect(ensured).toEqual([]);
    });

    it('refuses an owned bot when no --owner is given', async () => {
      const { deps, puts } = multiTenant({ g1: { user_id: 'me' } });

      await expect(migrateFromQdrant(deps, byGroup)).rejects.toThrow(/bot g1 has an owner \(pass --owner/);
      expect(puts).toEqual([]);
    });

    it('refuses a deleted bot, and never brings it back', async () => {
      const { deps, puts, ensured } = multiTenant({ g0: { status: 'deleted' } });

      await expect(migrateFromQdrant(deps, byGroup)).rejects.toThrow(/bot g0 was deleted/);
      expect(puts).toEqual([]);
      expect(ensured).toEqual([]);
    });

    it('writes bots of the owner and new ones, created for the owner', async () => {
      const { deps, puts, ensured } = multiTenant({ g1: { user_id: 'me' } });

      const result = await migrateFromQdrant(deps, { ...byGroup, owner: 'me' });

      expect(result.state.written).toBe(12);
      expect(puts.reduce((a, b) => a + b, 0)).toBe(12);
      expect(ensured).toEqual(
        expect.arrayContaining([expect.objectContaining({ botId: 'g0', user_id: 'me' })]),
      );
    });
  });
});
