/**
 * Jest's transform of a .lua file: a module whose value is the file's text, as esbuild's text loader makes
 * it in the bundles (src/snapshot/redis/lua.ts says why the scripts are loaded this way).
 */
module.exports = {
  process(source) {
    return { code: `module.exports = ${JSON.stringify(source)};` };
  },
};
