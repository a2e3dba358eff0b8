import { randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { KeywordChange, KeywordDocument, KeywordIndexStore, KeywordRead } from '../port';
import { snapshotKeys } from './keys';
import { type BuildTotals, keywordEntry, writeKeywordBuild } from './keyword-index-build';
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
import { defineScripts } from './scripts';

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
 * A bot's BM25 index in Redis (docs/snapshot.md, "The keyword index"): postings per term, document
 * frequencies, each chunk's length and terms, and the chunk count and total length, under the bot's hash
 * tag next to its snapshot, stamped with the snapshot version it describes. It reads the snapshot's meta
 * and text hashes (never writes them), so the snapshot's layout and scripts do not know about it.
 */
export class RedisKeywordIndexStore implements KeywordIndexStore {
  private readonly call: (name: ScriptName, ...args: string[]) => Promise<unknown>;

  constructor(
    client: Redis | Cluster,
    private readonly prefix: string,
  ) {
    this.call = defineScripts(client, SCRIPTS);
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
    const reply = await this.call('vsKeywordRead', meta, base, version, ...terms);
    if (reply === 'busy') return 'busy';
    if (!Array.isArray(reply) || reply[0] !== 'ok') return 'missing';
    const postings = (reply.slice(3) as string[][]).map((flat) => {
      const count = flat.length / 2;
      const chunkIds: string[] = new Array(count);
      const tfs = new Uint32Array(count);
      const lengths = new Uint32Array(count);
      for (let i = 0; i < count; i++) {
        chunkIds[i] = flat[2 * i] as string;
        const value = flat[2 * i + 1] as string;
        const colon = value.indexOf(':');
        tfs[i] = Number(value.slice(0, colon));
        lengths[i] = Number(value.slice(colon + 1));
      }
      return { chunkIds, tfs, lengths };
    });
    return { docCount: Number(reply[1]), totalLength: Number(reply[2]), postings };
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
    let totals: BuildTotals | null;
    try {
      const write = async (args: string[]) =>
        (await this.call('vsKeywordBuildWrite', meta, base, claim, ...args)) === 1;
      totals = await writeKeywordBuild(write, documents);
    } catch (error) {
      // Cut off while writing: whatever was written goes (the publish script deletes it when it fails).
      const args = [meta, snapshot.meta, snapshot.texts, base, claim, '', '-1', '0', '-1'];
      await this.call('vsKeywordBuildPublish', ...args).catch(() => undefined);
      throw error;
    }
    // Claim lost while writing: the publish below fails and deletes what was written.
    const { n, total, terms } = totals ?? { n: -1, total: 0, terms: -1 };
    const published = await this.call(
      'vsKeywordBuildPublish',
      meta,
      snapshot.meta,
      snapshot.texts,
      base,
      claim,
      version,
      String(n),
      String(total),
      String(terms),
    );
    return published === 1;
  }

  private keys(botId: string) {
    const snapshot = snapshotKeys(this.prefix, botId);
    // Same hash tag as the snapshot's keys: `${prefix}:{bot}:kw`.
    const base = `${snapshot.meta.slice(0, -':meta'.length)}:kw`;
    return { base, meta: `${base}:meta`, snapshot };
  }
}
