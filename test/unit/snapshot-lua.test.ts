import { DEFAULT_ID_BUCKETS, MAX_SEGMENTS } from '../../src/snapshot/redis/keys';
import * as scripts from '../../src/snapshot/redis/lua';

const all = Object.entries(scripts).filter(
  (entry): entry is [string, string] => typeof entry[1] === 'string',
);

describe('snapshot Lua scripts', () => {
  it('loads every script of the snapshot and the keyword index', () => {
    expect(all.map(([name]) => name).sort()).toEqual([
      'APPLY_CHANGES_LUA',
      'BEGIN_REBUILD_LUA',
      'COMMIT_REBUILD_LUA',
      'DROP_ALL_LUA',
      'DROP_IF_UNCHANGED_LUA',
      'KEEP_REBUILD_LUA',
      'KEEP_VISIBILITY_LUA',
      'KEYWORD_BEGIN_LUA',
      'KEYWORD_BUILD_CLAIM_LUA',
      'KEYWORD_BUILD_PUBLISH_LUA',
      'KEYWORD_BUILD_START_LUA',
      'KEYWORD_BUILD_WRITE_LUA',
      'KEYWORD_DROP_LUA',
      'KEYWORD_FINISH_LUA',
      'KEYWORD_READ_LUA',
      'READ_HEAD_LUA',
      'RELEASE_REBUILD_LUA',
      'SNAPSHOT_VERSION_LUA',
      'TAKE_DIRTY_LUA',
    ]);
  });

  it('expands every include and fills in every constant', () => {
    for (const [, lua] of all) {
      expect(lua).not.toMatch(/^--@include/m);
      expect(lua).not.toMatch(/\{\{[A-Z_]+\}\}/);
    }
  });

  it('gives the snapshot prelude the bucket count and segment limit of keys.ts', () => {
    expect(scripts.APPLY_CHANGES_LUA).toContain(`local DEFAULT_BUCKETS = ${DEFAULT_ID_BUCKETS}\n`);
    expect(scripts.APPLY_CHANGES_LUA).toContain(`local MAX_SEGMENTS = ${MAX_SEGMENTS}\n`);
    expect(scripts.APPLY_CHANGES_LUA).toContain('local function bucket_of(id, buckets)');
  });

  it('gives the keyword scripts that ask for a chunk bucket the bucket functions once', () => {
    for (const lua of [scripts.KEYWORD_FINISH_LUA, scripts.KEYWORD_BUILD_PUBLISH_LUA]) {
      expect(lua.split('local function bucket_of(').length).toBe(2);
      expect(lua).toContain('local function drop_gen(gen, tid, handed, bs, dk)');
    }
    expect(scripts.KEYWORD_READ_LUA).not.toContain('bucket_of');
  });
});
