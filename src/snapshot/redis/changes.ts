/**
 * Stream changes as arguments of the apply script (docs/snapshot.md, "applyChanges"): validated and
 * encoded before anything is sent, and split into calls of bounded count and size.
 */
import { snapshotRowOf } from '../../domain/snapshot';
import type { StoredChunk } from '../../domain/types';
import { ValidationError } from '../../errors';
import type { SnapshotChange, SnapshotRow } from '../port';
import { encodeRow, unitVectorBytes } from './encoding';
import type { ScriptArg } from './scripts';
import { storedText } from './text-codec';

/** One change as script arguments, and roughly how many bytes it sends. */
export type EncodedChange = { args: ScriptArg[]; bytes: number };

/** Most changes sent in one script call (keeps one call's Redis time short: other clients wait on it). */
const MAX_CHANGES_PER_CALL = 1000;

const EMPTY = Buffer.alloc(0);

/**
 * Validates and encodes every change before any is sent, so a bad batch writes nothing.
 * @throws ValidationError naming the change when a chunk id is empty or a row cannot be stored as JSON.
 */
export function encodeChanges(changes: SnapshotChange[]): EncodedChange[] {
  return changes.map((change, i) => {
    if (change.kind === 'delete') {
      if (change.chunk_id === '') throw new ValidationError('chunk_id is empty', `changes[${i}].chunk_id`);
      return { args: ['d', change.chunk_id], bytes: change.chunk_id.length + 8 };
    }
    const id = change.row.chunk_id;
    if (id === '') throw new ValidationError('chunk_id is empty', `changes[${i}].row.chunk_id`);
    if (change.kind === 'row') {
      const row = rowJson(change.row, i);
      return { args: ['r', id, row], bytes: id.length + row.length + 8 };
    }
    const row = rowJson(change.row, i);
    // An invalid vector is sent as no vector: the script then takes the chunk out of the snapshot.
    const vector = unitVectorBytes(change.embedding) ?? EMPTY;
    const text = storedText(change.text);
    return {
      args: ['u', id, vector, row, text],
      bytes: id.length + vector.byteLength + row.length + text.length + 16,
    };
  });
}

function rowJson(row: SnapshotRow, i: number): string {
  try {
    return encodeRow(row);
  } catch (error) {
    throw new ValidationError(
      `row cannot be stored as JSON: ${(error as Error).message}`,
      `changes[${i}].row`,
      {
        cause: error,
      },
    );
  }
}

/** Splits encoded changes (whole changes only) into calls of at most 1,000 changes and `maxCallBytes`. */
export function* splitIntoCalls(encoded: EncodedChange[], maxCallBytes: number): Generator<ScriptArg[]> {
  let args: ScriptArg[] = [];
  let count = 0;
  let bytes = 0;
  for (const change of encoded) {
    if (count > 0 && (count >= MAX_CHANGES_PER_CALL || bytes + change.bytes > maxCallBytes)) {
      yield args;
      args = [];
      count = 0;
      bytes = 0;
    }
    args.push(...change.args);
    count += 1;
    bytes += change.bytes;
  }
  if (count > 0) yield args;
}

/** What a strongly consistent re-read says about ids the stream touched: present ones upserted, the rest deleted. */
export function changesFromReread(botId: string, ids: string[], current: StoredChunk[]): SnapshotChange[] {
  const found = new Map<string, StoredChunk>();
  for (const chunk of current) if (chunk.bot_id === botId) found.set(chunk.chunk_id, chunk);
  return ids.map((id): SnapshotChange => {
    const chunk = found.get(id);
    if (chunk === undefined) return { kind: 'delete', chunk_id: id };
    return {
      kind: 'upsert',
      row: snapshotRowOf(chunk),
      text: chunk.text,
      embedding: chunk.embedding,
    };
  });
}
