import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

/**
 * package.json's runtime dependencies are what ships to Lambda: every package the handlers and src/
 * import, and nothing that only tools and tests use. The AWS SDK moves in step: one copy of each of its
 * packages in the lockfile (so every client shares one core), and the clients on one release.
 */
const root = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lockfile = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string }>;
};

/** Runtime dependencies that no import names: usearch's binary is loaded from its prebuilds by path. */
const LOADED_BY_PATH = ['usearch'];
/** AWS publishes a package only when it changes: these are at their latest release, older than the rest. */
const PUBLISHED_SEPARATELY = ['@aws-sdk/client-dynamodb-streams', '@aws-sdk/util-dynamodb'];

/** The npm packages a bundle's inputs come from (`@scope/name` or `name`). */
function packagesOf(inputs: string[]): Set<string> {
  const packages = new Set<string>();
  for (const input of inputs) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(input);
    if (match !== null) packages.add(match[1] as string);
  }
  return packages;
}

/**
 * The files the handlers' bundles are made of, as esbuild bundles each for Lambda (serverless.yml's
 * settings). One build with every handler as an entry point reads the same files as one build per handler
 * (its inputs are the union of theirs) and parses the modules they share once, not once per handler.
 * Code splitting (ESM output) prints those shared modules once too, where one CommonJS bundle per entry
 * prints them into each (about 6 times slower); the inputs are the same, since esbuild picks a package's
 * export conditions by how a file imports it, not by the output format.
 */
function handlerBundleInputs(): string[] {
  const result = buildSync({
    entryPoints: readdirSync(join(root, 'handlers'))
      .filter((file) => file.endsWith('.ts'))
      .map((name) => join(root, 'handlers', name)),
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    splitting: true,
    mainFields: ['module', 'main'],
    // The snapshot's Lua scripts, inlined as text as serverless.yml's custom.esbuild does.
    loader: { '.lua': 'text' },
    logLevel: 'silent',
    outdir: join(root, '.esbuild', 'dependencies-test'),
  });
  return Object.keys(result.metafile.inputs);
}

/** The npm packages that ship: whatever some handler's bundle takes from node_modules. */
let shipped: Set<string>;
/** The shipped packages package.json names (the rest are their own dependencies). */
function shippedTopLevel(): Set<string> {
  const declared = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies });
  return new Set([...shipped].filter((name) => declared.includes(name)));
}

beforeAll(() => {
  shipped = packagesOf(handlerBundleInputs());
});

describe('dependencies', () => {
  it('lists every package the handlers bundle as a runtime dependency', () => {
    const runtime = Object.keys(manifest.dependencies);
    expect([...shippedTopLevel()].filter((name) => !runtime.includes(name))).toEqual([]);
  });

  it('holds only what ships: no runtime dependency that only tools or tests use', () => {
    const unused = Object.keys(manifest.dependencies).filter(
      (name) => !shipped.has(name) && !LOADED_BY_PATH.includes(name),
    );
    expect(unused).toEqual([]);
    expect(manifest.devDependencies).toHaveProperty('@aws-sdk/client-lambda');
  });

  it('installs one copy of each AWS SDK package, so every client shares one core', () => {
    const nested = Object.keys(lockfile.packages).filter((path) =>
      /node_modules\/.+\/node_modules\/@aws-sdk\//.test(path),
    );
    expect(nested).toEqual([]);
    expect(lockfile.packages['node_modules/@aws-sdk/core']?.version).toMatch(/^3\./);
  });

  it('keeps the AWS SDK clients the project declares on one release', () => {
    const declared = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter(
      (name) => name.startsWith('@aws-sdk/') && !PUBLISHED_SEPARATELY.includes(name),
    );
    const versions = new Set(declared.map((name) => lockfile.packages[`node_modules/${name}`]?.version));
    expect(declared.length).toBeGreaterThanOrEqual(3);
    expect([...versions]).toHaveLength(1);
  });
});
