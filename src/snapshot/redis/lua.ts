/**
 * The Lua scripts of the snapshot and its keyword index, read from the .lua files in ./lua once, when this
 * module loads. A line `--@include <name>` is replaced by lua/includes/<name>.lua (includes may include),
 * and `{{NAME}}` by the TypeScript constant of that name, so Lua and TypeScript share one value.
 *
 * How a .lua file is read, the same way wherever the code runs: a .lua file is a module whose value is its
 * text, required by a literal path. The serverless bundles inline it (esbuild's text loader,
 * custom.esbuild.loader in serverless.yml), jest through test/lua-transform.js, and tsx or plain Node
 * through the `.lua` require handler below (tsx cannot be given an esbuild loader). Why not read the files
 * with fs at run time: a bundle's directory is not this module's, so the files would have to be shipped
 * beside each bundle at a path that differs between the package and the source tree.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_ID_BUCKETS, MAX_SEGMENTS } from './keys';
import { KEYWORD_ID_GROUP, KEYWORD_POSTING_BLOCKS } from './keyword-postings-codec';

type RequireHandler = (module: { exports: unknown }, file: string) => void;
// Never called in a bundle or under jest (both hand over the text themselves); there it is inert.
const handlers = require.extensions as Record<string, RequireHandler | undefined>;
handlers['.lua'] ??= (module, file) => {
  module.exports = readFileSync(file, 'utf8');
};

const INCLUDES: Record<string, string> = {
  bucket: require('./lua/includes/bucket.lua'),
  'snapshot-prelude': require('./lua/includes/snapshot-prelude.lua'),
  'keyword-prelude': require('./lua/includes/keyword-prelude.lua'),
};

const CONSTANTS: Record<string, number> = {
  DEFAULT_ID_BUCKETS,
  KEYWORD_ID_GROUP,
  KEYWORD_POSTING_BLOCKS,
  MAX_SEGMENTS,
};

/** The script with its includes expanded and its constants filled in. @throws Error naming an unknown one. */
function assemble(source: string): string {
  return source
    .replace(/^--@include ([a-z-]+)\n/gm, (_line, name: string) => {
      const include = INCLUDES[name];
      if (include === undefined) throw new Error(`Lua include not found: ${name}`);
      return assemble(include);
    })
    .replace(/\{\{([A-Z_]+)\}\}/g, (_text, name: string) => {
      const value = CONSTANTS[name];
      if (value === undefined) throw new Error(`Lua constant not known: ${name}`);
      return String(value);
    });
}

export const APPLY_CHANGES_LUA = assemble(require('./lua/snapshot-apply-changes.lua'));
export const SNAPSHOT_VERSION_LUA = assemble(require('./lua/snapshot-version.lua'));
export const READ_HEAD_LUA = assemble(require('./lua/snapshot-read-head.lua'));
export const DROP_IF_UNCHANGED_LUA = assemble(require('./lua/snapshot-drop-if-unchanged.lua'));
export const BEGIN_REBUILD_LUA = assemble(require('./lua/snapshot-begin-rebuild.lua'));
export const TAKE_DIRTY_LUA = assemble(require('./lua/snapshot-take-dirty.lua'));
export const COMMIT_REBUILD_LUA = assemble(require('./lua/snapshot-commit-rebuild.lua'));
export const RELEASE_REBUILD_LUA = assemble(require('./lua/snapshot-release-rebuild.lua'));
export const KEEP_REBUILD_LUA = assemble(require('./lua/snapshot-keep-rebuild.lua'));
export const DROP_ALL_LUA = assemble(require('./lua/snapshot-drop-all.lua'));
export const KEEP_VISIBILITY_LUA = assemble(require('./lua/snapshot-keep-visibility.lua'));

export const KEYWORD_BEGIN_LUA = assemble(require('./lua/keyword-begin.lua'));
export const KEYWORD_FINISH_LUA = assemble(require('./lua/keyword-finish.lua'));
export const KEYWORD_DROP_LUA = assemble(require('./lua/keyword-drop.lua'));
export const KEYWORD_READ_LUA = assemble(require('./lua/keyword-read.lua'));
export const KEYWORD_BUILD_START_LUA = assemble(require('./lua/keyword-build-start.lua'));
export const KEYWORD_BUILD_CLAIM_LUA = assemble(require('./lua/keyword-build-claim.lua'));
export const KEYWORD_BUILD_PUBLISH_LUA = assemble(require('./lua/keyword-build-publish.lua'));
export const KEYWORD_BUILD_WRITE_LUA = assemble(require('./lua/keyword-build-write.lua'));
