import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { KeywordChange, KeywordDocument, KeywordIndexStore, KeywordRead } from '../port';
import { DEFAULT_ID_BUCKETS, snapshotKeys } from './keys';
import {
  type BuildTotals,
  type KeywordLayout,
  keywordEntry,
  planKeywordBuild,
  writeKeywordBuild,
} from './keyword-index-build';
import { decodeRead, type HeldIds } from './keyword-index-read';
import {
  KEYWORD_BEGIN_LUA,
  KEYWORD_BUILD_CLAIM_LUA,
  KEYWORD_BUILD_PUBLISH_LUA,
  KEYWORD_BUILD_START_LUA,
  KEYWORD_BUILD_WRITE_LUA,
  KEYWORD_DROP_LUA,
  KEYWORD_FINISH_LUA,
  KEYWORD_READ_LUA,
} from './lua';
import { bufferReplies, defineScripts } from './scripts';

export { keywordEntry } from './keyword-index-build';

const SCRIPTS = {
  vsKeywordBegin: { lua: KEYWORD_BEGIN_LUA, numberOfKeys: 2 },
  vsKeywordFinish: { lua: KEYWORD_FINISH_LUA, numberOfKeys: 3 },
  vsKeywordDrop: { lua: KEYWORD_DROP_LUA, numberOfKeys: 1 },
  vsKeywordRead: { lua: KEYWORD_READ_LUA, numberOfKeys: 1 },
  vsKeywordBuildStart: { lua: KEYWORD_BUILD_START_LUA, numberOfKeys: 2 },
  vsKeywordBuildClaim: { lua: KEYWORD_BUILD_CLAIM_LUA, numberOfKeys: 1 },
  vsKeywordBuildPublish: { lua: KEYWORD_BUILD_PUBLISH_LUA, numberOfKeys: 3 },
  vsKeywordBuildWrite: { lua: KEYWORD_BUILD_WRITE_LUA, numberOfKeys: 1 },
} as const;

type ScriptName = keyof typeof SCRIPTS;

/** How long a rebuild's claim on the index lasts at most: past Lambda's 15 minutes, the rebuild died. */
const CLAIM_TTL_MS = 16 * 60_000;

/**
 * Document numbers per bucket: a stream update rewrites at most the buckets its chunks' numbers fall in,
 * of each of their terms (a term held by every chunk packs a bucket in about 4 KB), and a read checks one
 * tag per bucket.
 */
export const DEFAULT_KEYWORD_BUCKET_SIZE = 4096;

/**
 * Groups of docs entries per docs bucket: a chunk's entry shares its hash field's overhead with the other
 * chunks of its group (about 6 at 100k chunks with 32 buckets), and an edit decodes one group (about 60
 * entries at 1M chunks).
 */
export const DEFAULT_DOCS_GROUPS = 512;

/** Bytes of id buckets held between reads, over all bots (least recently read dropped first). */
const DEFAULT_HELD_ID_BYTES = 64 * 1024 * 1024;

/** How a store lays out the indexes it builds (an index keeps its layout), and what it holds between reads. */
export type KeywordIndexOptions = {
  /** Document numbers per bucket of postings and of ids (tests make it small to cross buckets). */
  bucketSize?: number;
  /** Buckets of docs entries (by a hash of the chunk id). */
  docsBuckets?: number;
  /** Groups of docs entries per docs bucket, a hash field each (by a hash of the chunk id). */
  docsGroups?: number;
  /** Bytes of id buckets held between reads. */
  heldIdBytes?: number;
};

/**
 * A bot's BM25 index in Redis (docs/snapshot.md, "The keyword index"): each term's postings packed by
 * document number in bounded buckets, each chunk's id and length once, each chunk's term ids (to remove
 * them), and the chunk count and total length, under the bot's hash tag next to its snapshot, stamped with
 * the snapshot version it describes. It reads the snapshot's meta and text hashes (never writes them), so
 * the snapshot's layout and scripts do not know about it.
 * @throws Error from the constructor when a layout option is not a positive integer
 */
export class RedisKeywordIndexStore implements KeywordIndexStore {
  private readonly call: (name: ScriptName, ...args: (string | Buffer)[]) => Promise<unknown>;
  private readonly readBuffers: (...args: string[]) => Promise<unknown>;
  private readonly layout: KeywordLayout;
  /** Per bot, the id buckets of its index as last read (a read asks only for those whose tag moved). */
  private readonly heldIds: LRUCache<string, HeldIds>;

  constructor(
    client: Redis | Cluster,
    private readonly prefix: string,
    options: KeywordIndexOptions = {},
  ) {
    this.call = defineScripts(client, SCRIPTS);
    // Postings are bytes.
    this.readBuffers = bufferReplies(client, 'vsKeywordRead');
    this.layout = {
      bucketSize: options.bucketSize ?? DEFAULT_KEYWORD_BUCKET_SIZE,
      docsBuckets: options.docsBuckets ?? DEFAULT_ID_BUCKETS,
      docsGroups: options.docsGroups ?? DEFAULT_DOCS_GROUPS,
    };
    for (const [name, value] of Object.entries(this.layout)) {
      if (!Number.isSafeInteger(value) || value < 1)
        throw new Error(`keyword index ${name} must be a positive integer`);
    }
    this.heldIds = new LRUCache<string, HeldIds>({
      maxSize: options.heldIdBytes ?? DEFAULT_HELD_ID_BYTES,
      sizeCalculation: (held) => Math.max(1, held.bytes),
    });
  }

  async beginUpdate(botId: string): Promise<string | null> {
    const { base, meta, snapshot } = this.keys(botId);
    const token = randomBytes(9).toString('base64url');
    const begun = await this.call('vsKeywordBegin', meta, snapshot.meta, base, token);
    return begun === 1 ? token : null;
  }

  async finishUpdate(botId: string, token: string, changes: readonly KeywordChange[]): Promise<boolean> {
    const { base, meta, snapshot } = this.keys(botId);
    // Only each chunk's last change counts: the script re-reads whether the snapshot holds the chunk.
    const last = new Map<string, string>();
    for (const change of changes) {
      last.delete(change.chunkId);
      last.set(change.chunkId, change.terms === null ? '' : keywordEntry(change.terms));
    }
    const args = [...last].flat();
    const outcome = await this.call(
      'vsKeywordFinish',
      meta,
      snapshot.meta,
      snapshot.texts,
      base,
      token,
      ...args,
    );
    return outcome === 'ok';
  }

  async drop(botId: string): Promise<void> {
    const { base, meta } = this.keys(botId);
    await this.call('vsKeywordDrop', meta, base);
  }

  async read(botId: string, version: string, terms: readonly string[]): Promise<KeywordRead> {
    const { base, meta } = this.keys(botId);
    const held = this.heldIds.get(botId) ?? null;
    const tags = held?.buckets.map((bucket) => bucket.tag) ?? [];
    const reply = await this.readBuffers(
      meta,
      base,
      version,
      held?.gen ?? '',
      String(tags.length),
      ...tags,
      ...terms,
    );
    if (Buffer.isBuffer(reply) && reply.toString() === 'busy') return 'busy';
    if (!Array.isArray(reply) || String(reply[0]) !== 'ok') return 'missing';
    const decoded = decodeRead(reply, held);
    if (decoded === null) {
      // A postings hash lost (and not edited since) or numbers no chunk holds: never used, dropped.
      this.heldIds.delete(botId);
      await this.drop(botId);
      return 'missing';
    }
    this.heldIds.set(botId, decoded.held);
    return decoded.postings;
  }

  async build(botId: string, version: string, documents: readonly KeywordDocument[]): Promise<boolean> {
    const { base, meta, snapshot } = this.keys(botId);
    const gen = randomBytes(9).toString('base64url');
    if ((await this.call('vsKeywordBuildStart', meta, snapshot.meta, base, gen, version)) !== 1) return false;
    return this.publishBuild(botId, gen, version, documents);
  }

  async claimBuild(botId: string): Promise<string> {
    const { base, meta } = this.keys(botId);
    const gen = randomBytes(9).toString('base64url');
    await this.call('vsKeywordBuildClaim', meta, base, gen, String(CLAIM_TTL_MS));
    return gen;
  }

  async publishBuild(
    botId: string,
    claim: string,
    version: string,
    documents: readonly KeywordDocument[],
  ): Promise<boolean> {
    const { base, meta, snapshot } = this.keys(botId);
    const plan = planKeywordBuild(documents, this.layout);
    const reach = this.reach(plan.totals);
    const publish = (totals: Pick<BuildTotals, 'n' | 'total' | 'terms'>, at: string) =>
      this.call(
        'vsKeywordBuildPublish',
        meta,
        snapshot.meta,
        snapshot.texts,
        base,
        claim,
        at,
        String(totals.n),
        String(totals.total),
        String(totals.terms),
        ...reach,
      );
    let written: boolean;
    try {
      const write = async (args: (string | Buffer)[]) =>
        (await this.call('vsKeywordBuildWrite', meta, base, claim, ...reach, ...args)) === 1;
      written = await writeKeywordBuild(write, plan);
    } catch (error) {
      // Cut off while writing: whatever was written goes (the publish script deletes it when it fails).
      await publish({ n: -1, total: 0, terms: -1 }, '').catch(() => undefined);
      throw error;
    }
    // Claim lost while writing: the publish below fails and deletes what was written.
    return (await publish(written ? plan.totals : { n: -1, total: 0, terms: -1 }, version)) === 1;
  }

  /** Term ids and document numbers a build hands out, and its layout: every key it can write. */
  private reach(totals: BuildTotals): string[] {
    const { bucketSize, docsBuckets, docsGroups } = this.layout;
    const layout = [String(bucketSize), String(docsBuckets), String(docsGroups)];
    return [String(totals.termIds), String(totals.numbers), ...layout];
  }

  private keys(botId: string) {
    const snapshot = snapshotKeys(this.prefix, botId);
    // Same hash tag as the snapshot's keys: `${prefix}:{bot}:kw`.
    const base = `${snapshot.meta.slice(0, -':meta'.length)}:kw`;
    return { base, meta: `${base}:meta`, snapshot };
  }
}
