import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevStackInfo } from '../../tools/local/dev-stack';
import { descendants } from '../fixtures/processes';
import { waitUntil } from '../fixtures/wait';

/**
 * `npm run dev` exactly as a developer runs it, with its own DynamoDB Local and redis-server, then
 * SIGTERM to npm: the hardest way to stop it, because npm's shell does not pass the signal on. Nothing it
 * started may survive (no java, redis-server or serverless process), and the state file goes away.
 */
const root = join(__dirname, '..', '..');
const START_TIMEOUT_MS = 300_000;

let dir: string;
let npm: ChildProcess;
let output = '';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  await waitUntil(what, condition, { timeoutMs, intervalMs: 250 }).catch((error: Error) => {
    throw new Error(`${error.message}. dev output:\n${output.slice(-3000)}`);
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dev-signals-'));
});

afterAll(() => {
  if (npm?.pid !== undefined && alive(npm.pid)) npm.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('npm run dev', () => {
  it(
    'leaves no java, redis-server or serverless process behind when npm gets SIGTERM',
    async () => {
      const stateFile = join(dir, 'dev.json');
      // Its data in the test's folder, not the checkout's .local/data.
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DEV_STATE_FILE: stateFile,
        DEV_DATA_DIR: join(dir, 'data'),
      };
      // Its own DynamoDB Local and redis-server, not the test suite's.
      delete env.DYNAMODB_ENDPOINT;
      delete env.REDIS_URL;
      npm = spawn('npm', ['run', 'dev'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      npm.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      npm.stderr?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      let npmExited = false;
      npm.once('exit', () => {
        npmExited = true;
      });

      await until(() => existsSync(stateFile), START_TIMEOUT_MS, 'the state file');
      const state = JSON.parse(readFileSync(stateFile, 'utf8')) as DevStackInfo;
      const started = descendants(npm.pid as number);
      const commands = started.map((p) => p.command).join('\n');
      expect(commands).toMatch(/java .*DynamoDBLocal/);
      expect(commands).toMatch(/redis-server/);
      expect(commands).toMatch(/serverless\.js offline start/);
      expect(alive(state.pid)).toBe(true);

      npm.kill('SIGTERM');

      await until(() => npmExited && started.every((p) => !alive(p.pid)), 60_000, 'everything to stop');
      expect(started.filter((p) => alive(p.pid))).toEqual([]);
      expect(existsSync(stateFile)).toBe(false);
      expect(output).toContain('stopped');
    },
    START_TIMEOUT_MS + 90_000,
  );
});
