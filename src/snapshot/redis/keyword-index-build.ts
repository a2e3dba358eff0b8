/**
 * The bulk write of a keyword index build (docs/snapshot.md, "The keyword index"): the whole build is
 * grouped by term in process, then sent packed (a term's postings as one argument string, fields and
 * values separated by a character none of them holds) to a write script that splits and HSETs them,
 * 2,000 fields a command, in calls of bounded size with one in flight while the next is packed. Per-entry
 * work in Redis is a split and a field set; in process, no command or argument object per posting (the
 * client's per-argument cost was most of a build). The claim and the publish script keep it exact.
 */
import type { KeywordDocument } from '../port';

/** Packed characters per write call: bounds each call's time in Redis (other clients wait) and our memory. */
const CHARS_PER_CALL = 1 << 18;
/** Fields and values per packed docs/df argument. */
const FLAT_PER_ARG = 2000;
/** Separators tried in order: the first that no chunk id holds (terms and values hold none of them). */
const SEPARATORS = ['\n', '\u0001', '\u0002', '\u0003'];

/** What the publish script checks the written build against. */
export type BuildTotals = { n: number; total: number; terms: number };

/** Sends one write call (ARGV after base and gen: separator, then pairs part, packed); false: claim lost. */
export type WriteCall = (args: string[]) => Promise<boolean>;

/** A chunk's index entry: "length term tf term tf ..." (terms hold no whitespace: the tokeniser splits on it). */
export function keywordEntry(terms: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  let entry = String(terms.length);
  for (const [term, tf] of counts) entry += ` ${term} ${tf}`;
  return entry;
}

/** Packed write calls, sent as they fill, with one in flight while the next is packed. */
class PackedCalls {
  private args: string[];
  private chars = 0;
  private inFlight: Promise<boolean> = Promise.resolve(true);
  constructor(
    private readonly write: WriteCall,
    private readonly sep: string,
  ) {
    this.args = [sep];
  }
  /** Adds the fields and values of one hash; false once the claim is known lost. */
  add(part: string, flat: readonly string[]): Promise<boolean> {
    return this.addPacked(part, `${flat.join(this.sep)}${this.sep}`);
  }
  /** Adds one hash already packed (each field and value followed by the separator). */
  async addPacked(part: string, packed: string): Promise<boolean> {
    this.args.push(part, packed);
    this.chars += packed.length;
    return this.chars >= CHARS_PER_CALL ? this.send() : true;
  }
  private async send(): Promise<boolean> {
    const args = this.args;
    this.args = [this.sep];
    this.chars = 0;
    if (!(await this.inFlight)) return false;
    this.inFlight = this.write(args);
    // Never an unhandled rejection: the next send or `flush` awaits it.
    this.inFlight.catch(() => undefined);
    return true;
  }
  async flush(): Promise<boolean> {
    if (this.args.length > 1 && !(await this.send())) return false;
    return this.inFlight;
  }
}

/**
 * Writes `documents` (the last of a chunk id wins) as the build's `docs`, `df` and `p:<term>` hashes.
 * Returns the counts the publish script checks, or null when the claim was lost meanwhile.
 * @throws whatever Redis throws; an Error when every separator occurs in some chunk id.
 */
export async function writeKeywordBuild(
  write: WriteCall,
  documents: readonly KeywordDocument[],
): Promise<BuildTotals | null> {
  const byId = new Map<string, readonly string[]>();
  for (const document of documents) byId.set(document.chunkId, document.terms);
  const sep = SEPARATORS.find((c) => ![...byId.keys()].some((id) => id.includes(c)));
  if (sep === undefined) throw new Error('every keyword build separator occurs in a chunk id');
  const calls = new PackedCalls(write, sep);
  // Few distinct "tf:length" values: made once each, not once per posting (the collector's work).
  const postingValues = new Map<number, string>();
  const posting = (tf: number, length: number) => {
    const key = length * 65_536 + tf;
    let value = postingValues.get(key);
    if (value === undefined) {
      value = `${tf}:${length}`;
      postingValues.set(key, value);
    }
    return value;
  };
  // Postings as (chunk number, tf) pairs per term: numbers, not strings, until their call is packed.
  const ids: string[] = [];
  const lengths: number[] = [];
  const postings = new Map<string, number[]>();
  let docsFlat: string[] = [];
  let total = 0;
  for (const [chunkId, terms] of byId) {
    const number = ids.length;
    ids.push(chunkId);
    lengths.push(terms.length);
    total += terms.length;
    const counts = new Map<string, number>();
    for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
    let entry = String(terms.length);
    for (const [term, tf] of counts) {
      entry += ` ${term} ${tf}`;
      let list = postings.get(term);
      if (list === undefined) {
        list = [];
        postings.set(term, list);
      }
      list.push(number, tf);
    }
    docsFlat.push(chunkId, entry);
    if (docsFlat.length >= FLAT_PER_ARG) {
      if (!(await calls.add('docs', docsFlat))) return null;
      docsFlat = [];
    }
  }
  if (docsFlat.length > 0 && !(await calls.add('docs', docsFlat))) return null;
  let dfFlat: string[] = [];
  for (const [term, list] of postings) {
    dfFlat.push(term, String(list.length / 2));
    if (dfFlat.length >= FLAT_PER_ARG) {
      if (!(await calls.add('df', dfFlat))) return null;
      dfFlat = [];
    }
    let packed = '';
    for (let i = 0; i < list.length; i += 2) {
      const number = list[i] as number;
      packed +=
        (ids[number] as string) + sep + posting(list[i + 1] as number, lengths[number] as number) + sep;
    }
    if (!(await calls.addPacked(`p:${term}`, packed))) return null;
  }
  if (dfFlat.length > 0 && !(await calls.add('df', dfFlat))) return null;
  if (!(await calls.flush())) return null;
  return { n: ids.length, total, terms: postings.size };
}
