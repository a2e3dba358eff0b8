import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadUsearchInt8Scan, usearchBinaryCandidates } from '../../src/adapters/native/usearch-scan';
import {
  elfMachine,
  PACKAGE_TIMEOUT_MS,
  packageInto,
  type Resource,
  USEARCH_BINARY,
  zipFiles,
} from './serverless-cli';

/**
 * `serverless package --stage dev --param=architecture=x86_64` (offline): the search functions carry the
 * x64 usearch binary where the bundle's loader looks for it. (arm64, the default: serverless-package.test.ts.)
 */
describe('serverless package, native search binary', () => {
  describe('with --param=architecture=x86_64', () => {
    let x64Dir: string;
    beforeAll(async () => {
      x64Dir = await packageInto('sls-package-x64-', ['--param=architecture=x86_64']);
    }, PACKAGE_TIMEOUT_MS);
    afterAll(async () => {
      if (x64Dir !== undefined) await rm(x64Dir, { recursive: true, force: true });
    });

    it('builds x86_64 functions and ships the x64 binary where the bundle looks for it, and it loads', async () => {
      const template = JSON.parse(
        await readFile(join(x64Dir, 'cloudformation-template-update-stack.json'), 'utf8'),
      );
      const search = template.Resources.HttpSearchLambdaFunction as Resource;
      expect(search.Properties.Architectures).toEqual(['x86_64']);
      const files = await zipFiles(join(x64Dir, 'httpSearch.zip'));
      // A report for docs/deploy.md (the arm64 sizes: serverless-package-operations.test.ts).
      process.stdout.write(
        `httpSearch.zip on x86_64: ${((await stat(join(x64Dir, 'httpSearch.zip'))).size / 1024).toFixed(0)} KB\n`,
      );
      const binaries = [...files.keys()].filter((name) => USEARCH_BINARY.test(name));
      expect(binaries).toEqual(['node_modules/usearch/prebuilds/linux-x64/usearch.node']);
      const binary = files.get(binaries[0] as string) as Buffer;
      expect(elfMachine(binary)).toBe(0x3e);
      // Unpacked as Lambda unpacks it into /var/task: the loader, starting from the bundle's folder
      // (handlers/), finds this binary first; on an x64 machine it also loads and answers.
      const task = join(x64Dir, 'task');
      await mkdir(join(task, 'handlers'), { recursive: true });
      for (const [name, data] of files) {
        await mkdir(join(task, name, '..'), { recursive: true });
        await writeFile(join(task, name), data);
      }
      // The bundle carries the loader (not usearch's own, which would look beside its own files).
      expect((files.get('handlers/http-search.js') as Buffer).toString('utf8')).toContain('prebuilds');
      const found = usearchBinaryCandidates(join(task, 'handlers')).find((path) => existsSync(path));
      if (process.platform === 'linux' && process.arch === 'x64') {
        expect(found).toBe(join(task, binaries[0] as string));
        expect(loadUsearchInt8Scan(found).scan).not.toBeNull();
      } else {
        expect(binaries).toHaveLength(1);
      }
    });

    it('ships the built console page where the bundled handler reads it, on a route without an authorizer', async () => {
      const template = JSON.parse(
        await readFile(join(x64Dir, 'cloudformation-template-update-stack.json'), 'utf8'),
      ) as { Resources: Record<string, Resource> };
      const route = Object.values(template.Resources).find((r) => r.Properties.RouteKey === 'GET /console');
      expect(route?.Properties.AuthorizationType).toBeUndefined();
      // Unpacked as Lambda unpacks it, the bundle answers with the page it was packaged with.
      const task = join(x64Dir, 'console-task');
      for (const [name, data] of await zipFiles(join(x64Dir, 'httpConsole.zip'))) {
        await mkdir(join(task, name, '..'), { recursive: true });
        await writeFile(join(task, name), data);
      }
      const bundle = require(join(task, 'handlers', 'http-console.js')) as {
        handler: () => Promise<{ statusCode: number; body: string }>;
      };
      const answer = await bundle.handler();
      expect(answer.statusCode).toBe(200);
      // The deployed page asks for a token: none is baked in.
      expect(answer.body).toMatch(/^<!doctype html>[\s\S]*"devToken":null/);
    });
  });
});
