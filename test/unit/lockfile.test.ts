import lock from '../../package-lock.json';
import { missingPlatformEntries, platformOf } from '../../tools/scripts/complete-lockfile';

describe('package-lock.json', () => {
  it('has an entry for every platform binary, so `npm ci` accepts it on a fresh machine', () => {
    // If this fails after an `npm install`: run `npm run lockfile:complete` and commit the lock.
    expect(Object.keys(missingPlatformEntries(lock.packages as never))).toEqual([]);
  });

  it('reads the platform of a binary package from its conventional name', () => {
    expect(platformOf('@swc/core-linux-x64-musl')).toEqual({ os: ['linux'], cpu: ['x64'], libc: ['musl'] });
    expect(platformOf('@lancedb/lancedb-linux-arm64-gnu')).toEqual({
      os: ['linux'],
      cpu: ['arm64'],
      libc: ['glibc'],
    });
    expect(platformOf('@biomejs/cli-win32-arm64')).toEqual({ os: ['win32'], cpu: ['arm64'] });
    expect(platformOf('@swc/core-linux-arm-gnueabihf')).toEqual({
      os: ['linux'],
      cpu: ['arm'],
      libc: ['glibc'],
    });
    expect(platformOf('fsevents')).toBeUndefined();
  });
});
