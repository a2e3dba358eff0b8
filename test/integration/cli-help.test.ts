/**
 * Every command-line tool of package.json (`npm run <name>` of a `tsx tools/...` script) answers --help
 * with its usage and changes nothing, and refuses a flag it does not know, naming it, before doing
 * anything: a mistyped flag must not start a stack, rewrite the README or deploy.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';

const root = join(__dirname, '..', '..');

type Outcome = { code: number; stdout: string; stderr: string };

function run(script: string, flag: string): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(root, script), flag],
      // No stack, no credentials, no LocalStack secret: a tool that went on past its flags would fail or
      // start something, and the assertions below would see it.
      { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The package's tools: each `npm run` name whose script runs one TypeScript file of tools/ with tsx. */
function tools(): { name: string; script: string }[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return Object.entries(pkg.scripts).flatMap(([name, command]) => {
    const match = /^tsx (tools\/\S+\.ts)$/.exec(command);
    return match === null ? [] : [{ name, script: match[1] as string }];
  });
}

/** Files a tool could rewrite by mistake: the README's bench table, the lock file, the committed bench results. */
function watched(): Record<string, string> {
  const files = ['README.md', 'package-lock.json', 'tools/bench/results.md'];
  return Object.fromEntries(files.map((file) => [file, readFileSync(join(root, file), 'utf8')]));
}

describe('the command-line tools', () => {
  const list = tools();
  const limit = pLimit(3);

  it('are the ones a user runs', () => {
    expect(list.map((tool) => tool.name)).toEqual(
      expect.arrayContaining(['dev', 'bench', 'doctor', 'migrate:qdrant', 'eval:relevance', 'load:dev']),
    );
  });

  it('answer --help with their usage, exit 0 and change nothing', async () => {
    const before = watched();
    const outcomes = await Promise.all(list.map((tool) => limit(() => run(tool.script, '--help'))));
    // One list, so a failure names every tool that answered wrongly.
    const answered = list.map((tool, i) => {
      const { code, stdout } = outcomes[i] as Outcome;
      const firstLine = stdout.split('\n')[0] ?? '';
      return {
        tool: tool.name,
        code,
        usage: firstLine.startsWith('usage: npm run ') && firstLine.includes(tool.name),
      };
    });
    expect(answered).toEqual(list.map((tool) => ({ tool: tool.name, code: 0, usage: true })));
    expect(watched()).toEqual(before);
  });

  it('refuse a flag they do not know, naming it, and change nothing', async () => {
    // localstack:deploy passes its flags on to `serverless deploy` (--param=..., --verbose): not its own.
    const own = list.filter((tool) => tool.name !== 'localstack:deploy');
    const before = watched();
    const outcomes = await Promise.all(own.map((tool) => limit(() => run(tool.script, '--no-such-flag'))));
    const refused = own.map((tool, i) => {
      const { code, stderr } = outcomes[i] as Outcome;
      return { tool: tool.name, failed: code !== 0, named: stderr.includes('--no-such-flag') };
    });
    expect(refused).toEqual(own.map((tool) => ({ tool: tool.name, failed: true, named: true })));
    expect(watched()).toEqual(before);
  });
});
