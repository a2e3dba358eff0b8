/**
 * Adds the lock entries of platform-specific optional binaries (other operating systems and CPUs) that
 * npm could not record because the registry mirror it used does not carry them. Without them `npm ci`
 * refuses the lock file ("Missing: @swc/core-darwin-arm64@ from lock file"), on every machine.
 *
 * An entry holds what the lock of a full registry holds except the tarball's integrity: the version the
 * parent pins, and os / cpu / libc read from the package's conventional name, so npm skips it on every
 * other platform without fetching it. Run after `npm install` changes the lock: `npm run lockfile:complete`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { answeredHelp } from './help-flag';

type LockEntry = {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  optionalDependencies?: Record<string, string>;
};

const operatingSystems = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openbsd', 'sunos', 'aix'];
const cpus = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64'];

/** The os / cpu / libc a platform package is for, read from its name (`core-linux-arm64-musl`). */
export function platformOf(packageName: string): Pick<LockEntry, 'os' | 'cpu' | 'libc'> | undefined {
  const parts = (packageName.split('/').pop() ?? '').split('-');
  const os = operatingSystems.find((o) => parts.includes(o));
  const cpu = cpus.find((c) => parts.includes(c));
  if (os === undefined || cpu === undefined) return undefined;
  const platform: Pick<LockEntry, 'os' | 'cpu' | 'libc'> = { os: [os], cpu: [cpu] };
  if (os === 'linux') platform.libc = [parts.includes('musl') ? 'musl' : 'glibc'];
  return platform;
}

/** The platform entries missing from a lock's `packages`, keyed like the lock keys them. */
export function missingPlatformEntries(packages: Record<string, LockEntry>): Record<string, LockEntry> {
  const missing: Record<string, LockEntry> = {};
  for (const entry of Object.values(packages)) {
    for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
      const key = `node_modules/${name}`;
      const platform = platformOf(name);
      if (key in packages || platform === undefined) continue;
      missing[key] = {
        version: range.replace(/^[\^~=]/, ''),
        ...(entry.dev === true ? { dev: true } : {}),
        optional: true,
        ...platform,
      };
    }
  }
  return missing;
}

const USAGE = 'usage: npm run lockfile:complete (no flags; --help prints this)';

function main(): void {
  if (answeredHelp(USAGE)) return;
  const path = join(__dirname, '..', '..', 'package-lock.json');
  const lock = JSON.parse(readFileSync(path, 'utf8')) as { packages: Record<string, LockEntry> };
  const missing = missingPlatformEntries(lock.packages);
  const keys = Object.keys(missing);
  if (keys.length === 0) {
    console.log('package-lock.json: every platform binary has its entry');
  } else {
    const packages = { ...lock.packages, ...missing };
    lock.packages = Object.fromEntries(
      Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
    );
    writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
    console.log(`package-lock.json: added ${keys.length} platform entries:\n  ${keys.join('\n  ')}`);
  }
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    process.stderr.write(`lockfile:complete failed: ${(error as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
  }
}
