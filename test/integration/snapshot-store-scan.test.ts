import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { StoredChunk } from '../../src/domain/types';
import type { ScanSnapshot, SnapshotChange, SnapshotRow } from '../../src/snapshot';
import { RedisSnapshotStore } from '../../src/snapshot';
import { decodeRow } from '../../src/snapshot/redis/encoding';
import { codeSegmentKey, MAX_SEGMENTS, rowSegmentKey, snapshotKeys } from '../../src/snapshot/redis/keys';
import { KEEP_VISIBILITY_LUA } from '../../src/snapshot/redis/lua';
import { replayHint, rng, testSeed } from '../fixtures/random';
import {
  chunk,
  SNAPSHOT_TEST_DIM as DIM,
  publishSnapshot,
  unit,
  upsertOf,
  vectorFor,
} from '../fixtures/snapshot-chunks';

// Segments of 5 rows, so a few dozen chunks cross many segment boundaries of the codes as of the vectors.
const ROWS_PER_SEGMENT = 5;
const PREFIX = 'vs-scan-test';

jest.setTimeout(60_000);

const redis = new Redis(process.env.REDIS_URL as string);
const store = new RedisSnapshotStore(redis, PREFIX, { segmentBytes: ROWS_PER_SEGMENT * DIM * 4 });
afterAll(() => redis.quit());

const newBotId = () => `bot-${randomUUID()}`;

/** A new bot whose snapshot holds `length` chunks (three code segments for 14). */
async function publishedBot(length: number): Promise<string> {
  const botId = newBotId();
  await publishSnapshot(
    store,
    botId,
    Array.from({ length }, (_, i) => chunk(botId, i)),
  );
  return botId;
}

/**
 * Checks what a cold search relies on: every live slot's row and float32 vector (through `candidates`)
 * are the truth's, its codes are round(v · scale) clamped to ±127, and its two bound terms are within the
 * snapshot's maxima; the live slots are exactly the truth's chunks.
 */
async function expectScanMatches(botId: string, truth: Map<string, StoredChunk>): Promise<ScanSnapshot> {
  const scan = (await store.readScan(botId)) as ScanSnapshot;
  expect(scan).not.toBeNull();
  expect(scan.live).toBe(truth.size);
  const { matrix } = scan;
  const liveSlots = Array.from({ length: matrix.rowCount }, (_, i) => i).filter(
    (slot) => scan.liveMask === undefined || scan.liveMask[slot] === 1,
  );
  expect(liveSlots).toHaveLength(truth.size);
  const fetched = await store.candidates(scan, liveSlots);
  expect(fetched).not.toBeNull();
  const { rows, vectors } = fetched as NonNullable<typeof fetched>;
  expect(rows.map((row) => row.chunk_id).sort()).toEqual([...truth.keys()].sort());
  liveSlots.forEach((slot, i) => {
    const row = rows[i] as (typeof rows)[number];
    const expected = unit((truth.get(row.chunk_id) as StoredChunk).embedding);
    const vector = Array.from(vectors.subarray(i * DIM, (i + 1) * DIM));
    for (const [j, x] of vector.entries()) expect(x).toBeCloseTo(expected[j] as number, 6);
    let codeSquares = 0;
    let residualSquares = 0;
    for (let j = 0; j < DIM; j++) {
      const code = matrix.codes[slot * DIM + j] as number;
      const x = vector[j] as number;
      expect(code).toBe(Math.max(-127, Math.min(127, Math.floor(x * matrix.scale + 0.5))));
      codeSquares += code * code;
      residualSquares += (x - code / matrix.scale) ** 2;
    }
    expect(Math.sqrt(codeSquares) / matrix.scale).toBeLessThanOrEqual(matrix.maxCodeNorm * (1 + 1e-12));
    expect(Math.sqrt(residualSquares)).toBeLessThanOrEqual(matrix.maxResidualNorm * (1 + 1e-12) + 1e-15);
  });
  return scan;
}

describe('redis snapshot store: int8 scan codes', () => {
  it('stages codes for every row of a rebuild, segment by segment, the largest component at 127', async () => {
    const botId = newBotId();
    const chunks = Array.from({ length: 23 }, (_, i) => chunk(botId, i));
    await publishSnapshot(store, botId, chunks);

    const scan = await expectScanMatches(botId, new Map(chunks.map((c) => [c.chunk_id, c])));
    expect(scan.matrix.rowCount).toBe(23);
    expect(scan.liveMask).toBeUndefined();
    const lengths = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((n) => redis.strlen(codeSegmentKey(snapshotKeys(PREFIX, botId).vectors, n))),
    );
    expect(lengths).toEqual([5, 5, 5, 5, 3, 0].map((rows) => rows * DIM));
    expect(Math.max(...Array.from(scan.matrix.codes, Math.abs))).toBe(127);
  });

  it('keeps codes and bound exact under random batches across segment boundaries', async () => {
    const seed = testSeed();
    console.log(`scan codes test: ${replayHint(seed)}`);
    const random = rng(seed);
    const botId = newBotId();
    const truth = new Map<string, StoredChunk>();
    const initial = Array.from({ length: 21 }, (_, i) => chunk(botId, i));
    for (const c of initial) truth.set(c.chunk_id, c);
    await publishSnapshot(store, botId, initial);
    let next = 1000;
    for (let round = 0; round < 12; round++) {
      const changes: SnapshotChange[] = [];
      for (let j = 0; j < 6; j++) {
        const ids = [...truth.keys()];
        const roll = random();
        const id = ids[Math.floor(random() * ids.length)];
        if (roll < 0.35 && id !== undefined) {
          changes.push({ kind: 'delete', chunk_id: id });
          truth.delete(id);
        } else if (roll < 0.7 && id !== undefined) {
          // Some edits get a vector with one large component: its codes clamp, the bound grows to cover it.
          const embedding = random() < 0.2 ? spike(next++) : vectorFor(next++);
          const edited = { ...(truth.get(id) as StoredChunk), embedding, text: `edit ${round}` };
          changes.push(upsertOf(edited));
          truth.set(id, edited);
        } else {
          const added = chunk(botId, next++);
          changes.push(upsertOf(added));
          truth.set(added.chunk_id, added);
        }
      }
      await store.applyChanges(botId, changes);
      await expectScanMatches(botId, truth);
    }
  });

  it('starts codes from the first vector of an empty snapshot and forgets them with the last chunk', async () => {
    const botId = newBotId();
    await publishSnapshot(store, botId, []);
    const chunks = Array.from({ length: 12 }, (_, i) => chunk(botId, i));
    await store.applyChanges(botId, chunks.map(upsertOf));
    await expectScanMatches(botId, new Map(chunks.map((c) => [c.chunk_id, c])));

    await store.applyChanges(
      botId,
      chunks.map((c) => ({ kind: 'delete', chunk_id: c.chunk_id })),
    );
    const empty = await store.readScan(botId);
    expect(empty?.matrix.rowCount).toBe(0);
    expect(await redis.exists(codeSegmentKey(snapshotKeys(PREFIX, botId).vectors, 0))).toBe(0);
  });

  it('drops the whole snapshot when a code segment is lost, whichever reader meets it', async () => {
    const readers = [
      (botId: string) => store.currentVersion(botId),
      (botId: string) => store.currentVersion(botId, { head: true }),
      (botId: string) => store.readScan(botId),
      (botId: string) => store.read(botId),
    ];
    for (const reader of readers) {
      const botId = await publishedBot(14);
      await redis.del(codeSegmentKey(snapshotKeys(PREFIX, botId).vectors, 1));
      expect(await reader(botId)).toBeNull();
      expect(await redis.exists(snapshotKeys(PREFIX, botId).meta)).toBe(0);
    }
  });

  describe('the head a version check brings for the reads', () => {
    it('starts a scan read and a whole read that find what reads from their own heads find', async () => {
      const botId = await publishedBot(14);
      await store.applyChanges(botId, [{ kind: 'delete', chunk_id: chunk(botId, 4).chunk_id }]);
      const current = await store.currentVersion(botId, { head: true });
      const plain = await store.currentVersion(botId);
      expect(current?.version).toBe(plain?.version);
      expect(current?.epoch).toBe(plain?.epoch);
      expect(current?.head?.version).toBe(plain?.version);

      const fromHead = await store.readScan(botId, current?.head);
      const fromItsOwn = await store.readScan(botId);
      expect(fromHead).not.toBeNull();
      expect(fromHead?.live).toBe(13);
      expect(fromHead?.liveMask?.[4]).toBe(0);
      expect(fromHead).toEqual(fromItsOwn);

      const wholeFromHead = await store.read(botId, undefined, current?.head);
      expect(wholeFromHead?.version).toBe(plain?.version);
      expect(wholeFromHead?.rows).toHaveLength(13);
      expect(wholeFromHead).toEqual(await store.read(botId));
    });

    it('is read past when the snapshot moved after the version check: each read is of the version now', async () => {
      const botId = await publishedBot(8);
      const current = await store.currentVersion(botId, { head: true });
      await store.applyChanges(botId, [upsertOf(chunk(botId, 8))]);
      const now = (await store.currentVersion(botId))?.version;
      expect(now).not.toBe(current?.version);

      const scan = await store.readScan(botId, current?.head);
      expect(scan?.version).toBe(now);
      expect(scan?.live).toBe(9);
      const whole = await store.read(botId, undefined, current?.head);
      expect(whole?.version).toBe(now);
      expect(whole?.rows.map((row) => row.chunk_id).sort()).toEqual(
        Array.from({ length: 9 }, (_, i) => chunk(botId, i).chunk_id).sort(),
      );
    });

    it('finds no snapshot once it is gone after the version check, and none for a bot without one', async () => {
      const botId = await publishedBot(8);
      const current = await store.currentVersion(botId, { head: true });
      await store.drop(botId);
      expect(await store.readScan(botId, current?.head)).toBeNull();
      expect(await store.read(botId, undefined, current?.head)).toBeNull();
      expect(await store.currentVersion(newBotId(), { head: true })).toBeNull();
    });
  });

  it('drops the whole snapshot when a code segment is a byte short or long', async () => {
    for (const change of ['short', 'long'] as const) {
      const botId = await publishedBot(14);
      const key = codeSegmentKey(snapshotKeys(PREFIX, botId).vectors, 1);
      if (change === 'long') await redis.append(key, 'x');
      else await redis.set(key, ((await redis.getBuffer(key)) as Buffer).subarray(1));
      expect(await store.readScan(botId)).toBeNull();
      expect(await redis.exists(snapshotKeys(PREFIX, botId).meta)).toBe(0);
    }
  });

  it('drops a snapshot whose meta claims a billion slots without walking a billion keys', async () => {
    for (const reader of ['readScan', 'read'] as const) {
      const botId = await publishedBot(14);
      await redis.hset(snapshotKeys(PREFIX, botId).meta, 'slots', '1000000000');
      const before = Number((await redis.info('stats')).match(/total_commands_processed:(\d+)/)?.[1]);

      expect(await store[reader](botId)).toBeNull();

      const after = Number((await redis.info('stats')).match(/total_commands_processed:(\d+)/)?.[1]);
      // 200 million segments' worth of commands without the bound; the drop walks at most MAX_SEGMENTS.
      expect(after - before).toBeLessThan(MAX_SEGMENTS + 1000);
      expect(await redis.exists(snapshotKeys(PREFIX, botId).meta)).toBe(0);
    }
  });

  it('returns no candidates once the snapshot moved on from the scanned version', async () => {
    const botId = newBotId();
    const chunks = Array.from({ length: 8 }, (_, i) => chunk(botId, i));
    await publishSnapshot(store, botId, chunks);
    const scan = (await store.readScan(botId)) as ScanSnapshot;
    expect(await store.candidates(scan, [0, 7])).not.toBeNull();

    await store.applyChanges(botId, [upsertOf({ ...(chunks[3] as StoredChunk), embedding: vectorFor(99) })]);
    expect(await store.candidates(scan, [0, 7])).toBeNull();
  });

  it('masks the chunks of every version a document does not show, whichever layout a row has', async () => {
    const botId = newBotId();
    const at = (hour: number) => `2026-01-01T${String(hour).padStart(2, '0')}:00:00.000Z`;
    const versioned = (
      i: number,
      filename: string,
      index: number,
      id: string,
      chunks: number,
      hour: number,
    ) => chunk(botId, i, { filename, chunk_index: index, version: { id, chunks, at: at(hour) } });
    const older = [versioned(0, 'a.txt', 0, 'v1', 2, 1), versioned(1, 'a.txt', 1, 'v1', 2, 1)];
    const shown = [versioned(2, 'a.txt', 0, 'v2', 2, 2), versioned(3, 'a.txt', 1, 'v2', 2, 2)];
    const incomplete = [versioned(4, 'a.txt', 0, 'v3', 3, 3), versioned(5, 'a.txt', 2, 'v3', 3, 3)];
    const other = [versioned(6, 'b "q".txt', 0, 'w1', 1, 1), chunk(botId, 7, { filename: 'c\\d.txt' })];
    await publishSnapshot(store, botId, [...older, ...shown, ...other]);
    await store.applyChanges(
      botId,
      incomplete.map((c) => {
        const change = upsertOf(c);
        return change.kind === 'upsert' ? { ...change, row: { ...change.row, version: c.version } } : change;
      }),
    );
    // A row stored as an object of named fields, its version after the metadata, reads the same.
    const keys = snapshotKeys(PREFIX, botId);
    const shownSlots = async () => {
      const scan = (await store.readScan(botId)) as ScanSnapshot;
      const slots = Array.from({ length: scan.matrix.rowCount }, (_, slot) => slot).filter(
        (slot) => scan.liveMask?.[slot] !== 0,
      );
      const fetched = await store.candidates(scan, slots);
      return fetched?.rows.map((row) => row.chunk_id).sort();
    };
    const expected = [...shown, ...other].map((c) => c.chunk_id).sort();
    expect(await shownSlots()).toEqual(expected);

    const segment = rowSegmentKey(keys.rows, 0);
    const values = await redis.hgetall(segment);
    for (const [slot, value] of Object.entries(values)) {
      const { version, ...rest } = decodeRow(value.slice(value.indexOf(' ') + 1)) as SnapshotRow;
      const reordered = JSON.stringify(version === undefined ? rest : { ...rest, version });
      await redis.hset(segment, slot, `${slot} ${reordered}`);
    }
    // The first read kept which slots are hidden at this version: forget it, so the rows are read again.
    await redis.del(keys.visibility);
    expect(await shownSlots()).toEqual(expected);
  });

  describe('the hidden slots kept for the next cold read', () => {
    /** A bot with a shown version, an older one and an incomplete newer one of one document (slots 0-5). */
    async function botWithHiddenVersions(): Promise<{ botId: string; hidden: number[] }> {
      const botId = newBotId();
      const at = (hour: number) => `2026-01-01T0${hour}:00:00.000Z`;
      const versioned = (i: number, index: number, id: string, chunks: number, hour: number) =>
        chunk(botId, i, { filename: 'a.txt', chunk_index: index, version: { id, chunks, at: at(hour) } });
      await publishSnapshot(store, botId, [
        versioned(0, 0, 'v1', 2, 1),
        versioned(1, 1, 'v1', 2, 1),
        versioned(2, 0, 'v2', 2, 2),
        versioned(3, 1, 'v2', 2, 2),
        versioned(4, 0, 'v3', 3, 3),
        chunk(botId, 5, { filename: 'b.txt' }),
      ]);
      return { botId, hidden: [0, 1, 4] };
    }
    const hiddenOf = (scan: ScanSnapshot) =>
      Array.from({ length: scan.matrix.rowCount }, (_, slot) => slot).filter(
        (slot) => scan.liveMask?.[slot] === 0,
      );
    /** The value a reader keeps: the version, a newline, the slots as uint32 little-endian. */
    const keptValue = (version: string, slots: number[]) => {
      const value = Buffer.alloc(version.length + 1 + slots.length * 4);
      value.write(`${version}\n`, 'latin1');
      for (const [i, slot] of slots.entries()) value.writeUInt32LE(slot, version.length + 1 + i * 4);
      return value;
    };

    it('are kept at the version read, with a TTL, and used by the next read at that version', async () => {
      const { botId, hidden } = await botWithHiddenVersions();
      const keys = snapshotKeys(PREFIX, botId);
      const scan = (await store.readScan(botId)) as ScanSnapshot;
      expect(hiddenOf(scan)).toEqual(hidden);
      expect(await redis.getBuffer(keys.visibility)).toEqual(keptValue(scan.version, hidden));
      expect(await redis.pttl(keys.visibility)).toBeGreaterThan(0);

      // The next read trusts what is kept at its version and reads no row: a kept slot more is hidden too.
      await redis.set(keys.visibility, keptValue(scan.version, [...hidden, 5]), 'KEEPTTL');
      const again = (await store.readScan(botId)) as ScanSnapshot;
      expect(again.version).toBe(scan.version);
      expect(hiddenOf(again)).toEqual([...hidden, 5]);
    });

    it('are worked out from the rows again once a change moved the version', async () => {
      const { botId, hidden } = await botWithHiddenVersions();
      const keys = snapshotKeys(PREFIX, botId);
      const scan = (await store.readScan(botId)) as ScanSnapshot;
      await redis.set(keys.visibility, keptValue(scan.version, [...hidden, 5]), 'KEEPTTL');
      // The incomplete version completes: it is shown now, and both older ones are hidden.
      const completing = chunk(botId, 6, {
        filename: 'a.txt',
        chunk_index: 1,
        version: { id: 'v3', chunks: 3, at: '2026-01-01T03:00:00.000Z' },
      });
      const lastPart = chunk(botId, 7, {
        filename: 'a.txt',
        chunk_index: 2,
        version: { id: 'v3', chunks: 3, at: '2026-01-01T03:00:00.000Z' },
      });
      await store.applyChanges(
        botId,
        [completing, lastPart].map((c) => {
          const change = upsertOf(c);
          return change.kind === 'upsert'
            ? { ...change, row: { ...change.row, version: c.version } }
            : change;
        }),
      );
      const moved = (await store.readScan(botId)) as ScanSnapshot;
      expect(moved.version).not.toBe(scan.version);
      expect(hiddenOf(moved)).toEqual([0, 1, 2, 3]);
      expect(await redis.getBuffer(keys.visibility)).toEqual(keptValue(moved.version, [0, 1, 2, 3]));
    });

    it('are written only while the snapshot is still at the version they were worked out at', async () => {
      const { botId, hidden } = await botWithHiddenVersions();
      const keys = snapshotKeys(PREFIX, botId);
      const { version } = (await store.readScan(botId)) as ScanSnapshot;
      await redis.del(keys.visibility);
      await store.applyChanges(botId, [upsertOf(chunk(botId, 8, { filename: 'c.txt' }))]);
      const keep = (at: string) =>
        redis.eval(KEEP_VISIBILITY_LUA, 2, keys.meta, keys.visibility, at, keptValue(at, hidden), 60_000);
      expect(await keep(version)).toBe(0);
      expect(await redis.exists(keys.visibility)).toBe(0);

      const { version: current } = (await store.readScan(botId)) as ScanSnapshot;
      await redis.del(keys.visibility);
      expect(await keep(current)).toBe(1);
      await store.drop(botId);
      expect(await redis.exists(keys.visibility)).toBe(0);
      expect(await keep(current)).toBe(0);
    });

    it('are ignored when they are not a kept value for this snapshot', async () => {
      const { botId, hidden } = await botWithHiddenVersions();
      const keys = snapshotKeys(PREFIX, botId);
      const { version } = (await store.readScan(botId)) as ScanSnapshot;
      const notKept = [
        keptValue(version, [99]), // a slot past the snapshot's
        Buffer.concat([keptValue(version, []), Buffer.from([1, 0])]), // not whole slots
        keptValue(`${version.slice(0, -1)}${version.endsWith('0') ? '1' : '0'}`, [5]), // another version
        Buffer.from(version, 'latin1'), // no newline
      ];
      for (const value of notKept) {
        await redis.set(keys.visibility, value);
        expect(hiddenOf((await store.readScan(botId)) as ScanSnapshot)).toEqual(hidden);
      }
    });
  });
});

/** A unit-ish vector with one component far larger than the others (clamped under most scales). */
function spike(seed: number): Float32Array {
  const vector = vectorFor(seed).map((x) => x * 0.01);
  vector[seed % DIM] = 1;
  return vector;
}
