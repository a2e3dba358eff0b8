/**
 * The packed form of the keyword index's postings and docs entries (docs/snapshot.md, "The keyword
 * index"), the same as `lua/includes/keyword-prelude.lua` writes and reads: varints of 7 bits a byte,
 * low first. A run of postings, ascending by number, is per posting varint((gap - 1) * 2 + (tf > 1 ? 1 : 0))
 * then varint(tf - 2) when tf > 1, gap the distance from the previous number (the first from start - 1):
 * a posting of tf 1 less than 64 numbers from the previous one is one byte. A bucket of postings is
 * `KEYWORD_POSTING_BLOCKS` runs (blocks of numbers), each run's byte length first, so a stream update
 * scans and rewrites only the blocks it edits (Lua walks bytes at tens of nanoseconds each).
 */

/**
 * Numbers per field of an id bucket: a group packs each number's chunk id and length as varint(0) for a
 * number no chunk holds, else varint(UTF-8 bytes of the id + 1), the id, varint(length), up to its last
 * held number (lua.ts gives the Lua scripts this value).
 */
export const KEYWORD_ID_GROUP = 16;

/** Blocks of a bucket's postings (lua.ts gives the Lua scripts this value). */
export const KEYWORD_POSTING_BLOCKS = 16;

/** Numbers per block of a bucket of `bucketSize` numbers. */
export function blockSize(bucketSize: number): number {
  return Math.ceil(bucketSize / KEYWORD_POSTING_BLOCKS);
}

/** Reads varints from `bytes`, from `pos` on: the reading side of ByteWriter. */
export class ByteReader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  /** The next varint; NaN when the bytes end inside it. */
  varint(): number {
    let value = 0;
    let scale = 1;
    let byte = this.bytes[this.pos++] as number;
    while (byte >= 128) {
      value += (byte - 128) * scale;
      scale *= 128;
      byte = this.bytes[this.pos++] as number;
    }
    return value + byte * scale;
  }
}

/** A growable byte buffer that varints are appended to. */
export class ByteWriter {
  private bytes = Buffer.allocUnsafe(256);
  private length = 0;
  /** Where a bucket's blocks are packed before their lengths are known. */
  private runs: ByteWriter | undefined;

  /** Appends `value` (a non-negative integer below 2^53) as a varint. */
  varint(value: number): void {
    if (this.length + 8 > this.bytes.length) this.grow(8);
    let v = value;
    while (v >= 128) {
      this.bytes[this.length++] = (v % 128) + 128;
      v = Math.floor(v / 128);
    }
    this.bytes[this.length++] = v;
  }

  /** Appends ascending `numbers[from..to)` with their `tfs`, gaps counted from `start - 1`. */
  postings(
    numbers: ArrayLike<number>,
    tfs: ArrayLike<number>,
    from: number,
    to: number,
    start: number,
  ): void {
    let previous = start - 1;
    for (let i = from; i < to; i++) {
      const number = numbers[i] as number;
      const tf = tfs[i] as number;
      this.varint((number - previous - 1) * 2 + (tf > 1 ? 1 : 0));
      if (tf > 1) this.varint(tf - 2);
      previous = number;
    }
  }

  /**
   * Appends a bucket's postings, `numbers[from..to)` ascending and all within the bucket starting at
   * `start` of `bucketSize` numbers, in blocks (see above).
   */
  bucket(
    numbers: ArrayLike<number>,
    tfs: ArrayLike<number>,
    from: number,
    to: number,
    start: number,
    bucketSize: number,
  ): void {
    const size = blockSize(bucketSize);
    if (this.runs === undefined) this.runs = new ByteWriter();
    const runs = this.runs;
    const ends: number[] = [];
    let first = from;
    for (let j = 0; j < KEYWORD_POSTING_BLOCKS; j++) {
      const end = start + (j + 1) * size;
      let last = first;
      while (last < to && (numbers[last] as number) < end) last++;
      runs.postings(numbers, tfs, first, last, start + j * size);
      ends.push(runs.length);
      first = last;
    }
    let previous = 0;
    for (const end of ends) {
      this.varint(end - previous);
      previous = end;
    }
    this.append(runs.bytes.subarray(0, runs.length));
    runs.length = 0;
  }

  private grow(more: number): void {
    let size = this.bytes.length * 2;
    while (this.length + more > size) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  private append(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.bytes.length) this.grow(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Appends varint(UTF-8 bytes of `value` + `plus`), then those bytes. */
  private text(value: string, plus: number): void {
    const size = Buffer.byteLength(value, 'utf8');
    this.varint(size + plus);
    if (this.length + size > this.bytes.length) this.grow(size);
    this.length += this.bytes.write(value, this.length, 'utf8');
  }

  /** Appends one held number of an id group: its chunk id and length. */
  idEntry(chunkId: string, length: number): void {
    this.text(chunkId, 1);
    this.varint(length);
  }

  /** Appends one chunk of a docs group: varint(bytes of its id), the id, varint(bytes of its entry), the entry. */
  docsEntry(chunkId: string, entry: Uint8Array): void {
    this.text(chunkId, 0);
    this.varint(entry.length);
    this.append(entry);
  }

  /** A copy of what was written, and the writer emptied for the next value. */
  take(): Buffer {
    const out = Buffer.from(this.bytes.subarray(0, this.length));
    this.length = 0;
    return out;
  }
}

/**
 * Decodes a bucket's postings (its blocks, written from `start` with `bucketSize` numbers) into
 * `numbers` and `tfs` from index `at` on, without a call per posting: a common term's read holds
 * thousands of postings.
 * @returns the index after the last posting written; -1 when the bytes are not a bucket's postings (a
 *   number outside the bucket, a block or varint running past the end) or hold more postings than the
 *   arrays have room for
 */
export function decodeBucketPostings(
  bytes: Uint8Array,
  start: number,
  bucketSize: number,
  numbers: Uint32Array,
  tfs: Uint32Array,
  at: number,
): number {
  const reader = new ByteReader(bytes);
  const lengths = new Array<number>(KEYWORD_POSTING_BLOCKS);
  for (let j = 0; j < KEYWORD_POSTING_BLOCKS; j++) lengths[j] = reader.varint();
  const size = blockSize(bucketSize);
  const last = start + bucketSize - 1;
  let count = at;
  let blockStart = reader.pos;
  for (let j = 0; j < KEYWORD_POSTING_BLOCKS; j++) {
    const blockEnd = blockStart + (lengths[j] as number);
    if (!(blockEnd <= bytes.length)) return -1;
    let previous = start + j * size - 1;
    reader.pos = blockStart;
    while (reader.pos < blockEnd) {
      const code = reader.varint();
      const tf = code % 2 === 1 ? reader.varint() + 2 : 1;
      previous += Math.floor(code / 2) + 1;
      if (!(previous <= last && tf >= 1 && reader.pos <= blockEnd && count < numbers.length)) return -1;
      numbers[count] = previous;
      tfs[count] = tf;
      count++;
    }
    blockStart = blockEnd;
  }
  return count;
}

/**
 * Decodes an id group whose first number is `first`, calling `each(number, chunkId, length)` per held
 * number. @returns false when the bytes end inside an entry
 */
export function forEachIdEntry(
  bytes: Buffer,
  first: number,
  each: (number: number, chunkId: string, length: number) => void,
): boolean {
  const reader = new ByteReader(bytes);
  let number = first;
  while (reader.pos < bytes.length) {
    const size = reader.varint();
    if (size > 0) {
      const chunkId = bytes.toString('utf8', reader.pos, reader.pos + size - 1);
      reader.pos += size - 1;
      const length = reader.varint();
      if (reader.pos > bytes.length || Number.isNaN(length)) return false;
      each(number, chunkId, length);
    }
    number++;
  }
  return true;
}
