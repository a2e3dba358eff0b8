import fc from 'fast-check';
import {
  chooseDimension,
  compactSlots,
  decodeRow,
  decodeRowValues,
  encodeRow,
  encodeRowValue,
  unitVectorBytes,
  writeUnitVector,
} from '../../src/snapshot/redis/encoding';
import { ownedFloat32 } from '../../src/snapshot/redis/float32-view';
import { encodeBotIdForKey, snapshotKeys, stagingKeys } from '../../src/snapshot/redis/keys';
import { VisibilityRowDecoder } from '../../src/snapshot/redis/row-visibility';

describe('snapshot keys', () => {
  it('puts every key of a bot under the bot id as its hash tag', () => {
    const keys = snapshotKeys('vs', 'bot-1');
    for (const key of Object.values(keys)) expect(key.startsWith('vs:{bot-1}:')).toBe(true);
    expect(new Set(Object.values(keys)).size).toBe(Object.values(keys).length);
  });

  it('stages a rebuild under the same hash tag, apart per token', () => {
    const a = stagingKeys('vs', 'bot-1', 't1');
    const b = stagingKeys('vs', 'bot-1', 't2');
    expect(a.vectors).toBe('vs:{bot-1}:staging:t1:vec');
    expect(a.meta).not.toBe(b.meta);
  });

  it('encodes braces and percent signs, so a bot id can neither cut the hash tag short nor collide', () => {
    expect(encodeBotIdForKey('a}b{c%')).toBe('a%7Db%7Bc%25');
    expect(encodeBotIdForKey('a%7Db')).not.toBe(encodeBotIdForKey('a}b'));
    expect(snapshotKeys('vs', 'x}y').meta).toBe('vs:{x%7Dy}:meta');
  });
});

describe('snapshot vectors', () => {
  it('scales a vector to unit length', () => {
    const bytes = unitVectorBytes([3, 4]) as Buffer;
    expect(Array.from(ownedFloat32(new Uint8Array(bytes)))).toEqual([Math.fround(0.6), Math.fround(0.8)]);
  });

  it('keeps a zero vector zero instead of dividing by zero', () => {
    const out = new Float32Array(3).fill(9);
    expect(writeUnitVector([0, 0, 0], out, 0)).toBe(true);
    expect(Array.from(out)).toEqual([0, 0, 0]);
  });

  it('refuses a vector holding a non-finite value', () => {
    expect(unitVectorBytes([1, Number.POSITIVE_INFINITY])).toBeNull();
    expect(unitVectorBytes([1, Number.NaN])).toBeNull();
  });

  it('writes at the given offset and leaves the rest alone', () => {
    const out = new Float32Array(4);
    writeUnitVector([0, 2], out, 2);
    expect(Array.from(out)).toEqual([0, 0, 0, 1]);
  });
});

describe('ownedFloat32', () => {
  it('shares the bytes when they are a whole buffer of their own', () => {
    const backing = new Float32Array([1, 2, 3]);
    const view = ownedFloat32(new Uint8Array(backing.buffer));
    expect(Array.from(view)).toEqual([1, 2, 3]);
    backing[1] = 7;
    expect(view[1]).toBe(7);
  });

  it('copies a slice of a larger buffer, to its own buffer from the first byte', () => {
    const backing = new Float32Array([1, 2, 3]);
    const owned = ownedFloat32(new Uint8Array(backing.buffer, 4, 8));
    expect(Array.from(owned)).toEqual([2, 3]);
    expect(owned.byteOffset).toBe(0);
    expect(owned.buffer.byteLength).toBe(8);
    backing[1] = 7;
    expect(owned[0]).toBe(2);
  });

  it('copies the bytes when they start mid-word', () => {
    const bytes = new Uint8Array(9);
    bytes.set(new Uint8Array(new Float32Array([1.5, -2]).buffer), 1);
    const owned = ownedFloat32(bytes.subarray(1));
    expect(Array.from(owned)).toEqual([1.5, -2]);
    expect(owned.byteOffset).toBe(0);
  });

  it('rejects a length that is not whole floats', () => {
    expect(() => ownedFloat32(new Uint8Array(6))).toThrow(RangeError);
  });
});

describe('snapshot rows', () => {
  const row = { chunk_id: 'c1', filename: 'a.txt', chunk_index: 3, metadata: { lang: 'en', n: [1, 2] } };

  it('round-trips a row through its JSON', () => {
    expect(decodeRow(encodeRow(row))).toEqual(row);
  });

  it('stores only the row fields, whatever else the object carries', () => {
    const withExtra = { ...row, text: 'not here', embedding: [1] };
    expect(encodeRow(withExtra)).toBe(encodeRow(row));
    expect(decodeRow(encodeRow(withExtra))).toEqual(row);
  });

  it('stores the fields by position, leaving out the names and the trailing ones a row lacks', () => {
    const full = {
      ...row,
      version: { id: 'v1', chunks: 4, at: '2026-01-02T00:00:00.000Z' },
      created_at: '2026-01-01T00:00:00.000Z',
      expires_at: 1_900_000_000,
    };
    expect(JSON.parse(encodeRow(full))).toEqual([
      'c1',
      'a.txt',
      3,
      ['v1', 4, '2026-01-02T00:00:00.000Z'],
      row.metadata,
      '2026-01-01T00:00:00.000Z',
      1_900_000_000,
    ]);
    expect(decodeRow(encodeRow(full))).toEqual(full);
    expect(JSON.parse(encodeRow(row))).toEqual(['c1', 'a.txt', 3, null, row.metadata]);
    const expiresOnly = { ...row, expires_at: 5 };
    expect(JSON.parse(encodeRow(expiresOnly))).toEqual(['c1', 'a.txt', 3, null, row.metadata, null, 5]);
    expect(decodeRow(encodeRow(expiresOnly))).toEqual(expiresOnly);
  });

  it('reads a row stored as an object of named fields', () => {
    const version = { id: 'v1', chunks: 4, at: '2026-01-02T00:00:00.000Z' };
    expect(decodeRow(JSON.stringify({ ...row, version, created_at: 'x' }))).toEqual({
      ...row,
      version,
      created_at: 'x',
    });
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '"x"'],
    ['no chunk id', JSON.stringify({ filename: 'a', chunk_index: 0, metadata: {} })],
    [
      'a string chunk index',
      JSON.stringify({ chunk_id: 'c', filename: 'a', chunk_index: '0', metadata: {} }),
    ],
    ['array metadata', JSON.stringify({ chunk_id: 'c', filename: 'a', chunk_index: 0, metadata: [] })],
    ['an array of too few fields', JSON.stringify(['c', 'a', 0, null])],
    ['an array of too many fields', JSON.stringify(['c', 'a', 0, null, {}, null, null, null])],
    ['an array with a string chunk index', JSON.stringify(['c', 'a', '0', null, {}])],
    ['an array with array metadata', JSON.stringify(['c', 'a', 0, null, []])],
    ['an array with a version that is no version', JSON.stringify(['c', 'a', 0, ['v', '2', 'x'], {}])],
    ['an array with a numeric created_at', JSON.stringify(['c', 'a', 0, null, {}, 5])],
    ['an array with a string expires_at', JSON.stringify(['c', 'a', 0, null, {}, null, '5'])],
  ])('refuses a stored row that is %s', (_, json) => {
    expect(decodeRow(json)).toBeNull();
  });

  it('decodes the rows hash values in slot order, with the slot of each row', () => {
    const values = [
      encodeRowValue(5, encodeRow({ ...row, chunk_id: 'five' })),
      encodeRowValue(0, encodeRow(row)),
      encodeRowValue(2, encodeRow({ ...row, chunk_id: 'two' })),
    ];
    const decoded = decodeRowValues(values, 6);
    expect(decoded?.rows.map((r) => r.chunk_id)).toEqual(['c1', 'two', 'five']);
    expect(Array.from(decoded?.slots ?? [])).toEqual([0, 2, 5]);
  });

  it('stores a row value as its slot, a space and its JSON', () => {
    expect(encodeRowValue(12, '{"a":1}')).toBe('12 {"a":1}');
  });

  it.each([
    ['a slot past the end', [encodeRowValue(6, encodeRow(row))]],
    ['a negative slot', [encodeRowValue(-1, encodeRow(row))]],
    ['a non-canonical slot', [`01 ${encodeRow(row)}`]],
    ['no slot', [encodeRow(row)]],
    ['a slot that is no number', [`x ${encodeRow(row)}`]],
    ['a slot held twice', [encodeRowValue(1, encodeRow(row)), encodeRowValue(1, encodeRow(row))]],
    ['a broken row', ['1 nope']],
  ])('refuses rows with %s', (_, values) => {
    expect(decodeRowValues(values, 6)).toBeNull();
  });
});

describe('the visibility fields of the rows', () => {
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.constantFrom(
      ',"filename":"x"',
      '","chunk_index":1,"',
      '\\",\\"version\\":{',
      '}',
      'a\\b"c',
      'lone \ud800 surrogate',
      '\udfff',
    ),
  );
  const version = fc.record({ id: text, chunks: fc.integer({ min: 1, max: 1000 }), at: text });
  const row = fc.record(
    {
      chunk_id: text,
      filename: text,
      chunk_index: fc.oneof(fc.nat(), fc.double({ noNaN: true, noDefaultInfinity: true })),
      metadata: fc.dictionary(
        fc.oneof(text, fc.constantFrom('version', 'metadata', 'filename')),
        fc.jsonValue(),
      ),
      created_at: text,
      version,
      expires_at: fc.nat(),
    },
    { requiredKeys: ['chunk_id', 'filename', 'chunk_index', 'metadata'] },
  );
  type DrawnRow = {
    chunk_id: string;
    filename: string;
    chunk_index: number;
    metadata: Record<string, unknown>;
    created_at?: string;
    version?: { id: string; chunks: number; at: string };
    expires_at?: number;
  };
  /** The layouts a rows hash may hold: by position, and objects of named fields in either order. */
  const layouts: Record<string, (r: DrawnRow) => string> = {
    positional: (r) => encodeRow(r as Parameters<typeof encodeRow>[0]),
    named: ({ chunk_id, filename, chunk_index, version: v, metadata, ...rest }) =>
      JSON.stringify({
        chunk_id,
        filename,
        chunk_index,
        ...(v === undefined ? {} : { version: v }),
        metadata,
        ...rest,
      }),
    'named, version last': ({ version: v, ...rest }) =>
      JSON.stringify(v === undefined ? rest : { ...rest, version: v }),
  };
  const visibilityOf = (r: { filename: string; chunk_index: number; version?: unknown }) =>
    r.version === undefined
      ? { filename: r.filename, chunk_index: r.chunk_index }
      : { filename: r.filename, chunk_index: r.chunk_index, version: r.version };

  it('reads what a whole decode reads, in every layout, for any strings and metadata', () => {
    fc.assert(
      fc.property(
        fc.array(row, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(...Object.keys(layouts)),
        fc.boolean(),
        (drawn, layout, share) => {
          // Rows of one version share its JSON text, which the decoder parses once.
          const shared = drawn[0]?.version;
          const rows = drawn.map((r) =>
            share && r.version !== undefined && shared !== undefined ? { ...r, version: shared } : r,
          );
          const encode = layouts[layout] as (r: DrawnRow) => string;
          const values = rows.map((r, slot) => encodeRowValue(slot, encode(r)));
          // Every layout keeps what JSON keeps (-0 reads back as 0 in each).
          const stored = rows.map((r) => JSON.parse(JSON.stringify(r)) as DrawnRow);
          expect(values.map((value) => decodeRow(value.slice(value.indexOf(' ') + 1)))).toEqual(stored);
          const whole = decodeRowValues(values, rows.length);
          // Added in two parts, as a scan read adds its segments.
          const light = new VisibilityRowDecoder(rows.length);
          const cut = Math.floor(values.length / 2);
          expect(light.add(values.slice(0, cut)) && light.add(values.slice(cut))).toBe(true);
          expect(light.chunks.map(visibilityOf)).toEqual(whole?.rows.map(visibilityOf));
          expect(light.slots).toEqual(Array.from(whole?.slots ?? []));
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([
    [
      'a slot held twice',
      [
        '1 {"chunk_id":"a","filename":"f","chunk_index":0,"metadata":{}}',
        '1 {"chunk_id":"b","filename":"f","chunk_index":1,"metadata":{}}',
      ],
    ],
    ['a slot past the end', ['9 {"chunk_id":"a","filename":"f","chunk_index":0,"metadata":{}}']],
    ['a string chunk index', ['0 {"chunk_id":"a","filename":"f","chunk_index":"0","metadata":{}}']],
    ['no metadata', ['0 {"chunk_id":"a","filename":"f","chunk_index":0}']],
    ['a broken row', ['0 nope']],
    ['an array row with a string chunk index', ['0 ["a","f","0",null,{}]']],
    ['an array row cut inside its version', ['0 ["a","f",0,["v",2,']],
    ['an array row cut inside its filename', ['0 ["a","f\\",0,null,{}]']],
  ])('refuses rows with %s', (_, values) => {
    expect(new VisibilityRowDecoder(2).add(values)).toBe(false);
  });

  it('reads the fields up to the version without parsing what follows them, in either layout', () => {
    // What follows is checked where a row is read whole (a hit's row, a whole read), not here.
    const decoder = new VisibilityRowDecoder(2);
    expect(
      decoder.add([
        '0 ["a","f \\"x\\"",3,["v",2,"t"],{not json',
        '1 {"chunk_id":"b","filename":"g","chunk_index":1,"metadata":{not json',
      ]),
    ).toBe(true);
    expect(decoder.chunks).toEqual([
      { filename: 'f "x"', chunk_index: 3, version: { id: 'v', chunks: 2, at: 't' } },
      { filename: 'g', chunk_index: 1 },
    ]);
  });
});

describe('compactSlots', () => {
  it('moves live slots to the front in place, row i at offset i * dim', () => {
    const vectors = new Float32Array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    const compacted = compactSlots(vectors, 2, new Uint32Array([1, 3, 4]));
    expect(Array.from(compacted)).toEqual([1, 1, 3, 3, 4, 4]);
    expect(compacted.buffer).toBe(vectors.buffer);
  });

  it('returns an empty view when no slot is live', () => {
    expect(compactSlots(new Float32Array(4), 2, new Uint32Array(0))).toHaveLength(0);
  });
});

describe('chooseDimension', () => {
  it('keeps the dimension most vectors have', () => {
    const v = (n: number) => ({ embedding: new Float32Array(n) });
    expect(chooseDimension([v(3), v(8), v(8), v(3), v(8)])).toBe(8);
  });

  it('breaks a tie by the first dimension met, and ignores empty vectors', () => {
    const v = (n: number) => ({ embedding: new Float32Array(n) });
    expect(chooseDimension([v(0), v(0), v(4), v(2), v(2), v(4)])).toBe(4);
    expect(chooseDimension([])).toBe(0);
  });
});
