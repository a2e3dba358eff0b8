import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DevStackInfo } from '../../tools/local/dev-stack';
import { findFreePort } from '../../tools/local/stack';
import { FakeQdrant } from '../fixtures/qdrant-server';
import { waitUntil } from '../fixtures/wait';

/**
 * The README's day-one path as a new user walks it: `npm run dev`, then in another shell the quickstart
 * block copied from the README, `npm run token -- --user alice`, `npm run doctor -- --all` and
 * `npm run migrate:qdrant`, none of them given an endpoint: they find the running stack themselves. The
 * stack runs on the global setup's DynamoDB Local and Redis under fresh table names.
 */
const root = join(__dirname, '..', '..');
const START_TIMEOUT_MS = 300_000;
const suffix = randomUUID().slice(0, 8);
const exec = promisify(execFile);

let dir: string;
let stateFile: string;
let dev: ChildProcess;
let output = '';
let state: DevStackInfo;
const qdrant = new FakeQdrant();

/** The environment of the user's second shell: no endpoint, no table name, no key of the test suite's. */
function secondShell(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DEV_STATE_FILE: stateFile };
  for (const name of Object.keys(env)) {
    if (/^(DYNAMODB_ENDPOINT|REDIS_URL|TABLE_|LOCAL_JWT_SECRET|AWS_SDK_JS_NODE_VERSION)/.test(name))
      delete env[name];
  }
  return env;
}

async function npmRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('npm', ['run', '-s', ...args], { cwd: root, env: secondShell() });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** The README's quickstart block, exactly as written there. */
function quickstartBlock(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /<!-- quickstart:[^>]*-->\n```bash\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error('README.md has no quickstart block');
  return block;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dev-quickstart-'));
  stateFile = join(dir, 'dev.json');
  await qdrant.start();
  const port = await findFreePort();
  dev = spawn('npm', ['run', 'dev', '--', `--port=${port}`], {
    cwd: root,
    env: {
      ...process.env,
      DEV_STATE_FILE: stateFile,
      DEV_DATA_DIR: join(dir, 'data'),
      DEV_DOCS_PORT: String(await findFreePort()),
      TABLE_VECTOR_EMBEDDINGS: `VectorEmbeddings-qs-${suffix}`,
      TABLE_BOT_COLLECTIONS: `BotCollections-qs-${suffix}`,
      TABLE_BOT_DOCUMENTS: `BotDocuments-qs-${suffix}`,
      TABLE_DOCUMENT_LEASES: `DocumentLeases-qs-${suffix}`,
      TABLE_BOT_ALIASES: `BotAliases-qs-${suffix}`,
      TABLE_STREAM_CLAIMS: `StreamClaims-qs-${suffix}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  dev.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  dev.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  await waitUntil('npm run dev to write its state file', () => existsSync(stateFile), {
    timeoutMs: START_TIMEOUT_MS,
    intervalMs: 250,
  }).catch((error: Error) => {
    throw new Error(`${error.message}. dev output:\n${output.slice(-3000)}`);
  });
  state = JSON.parse(readFileSync(stateFile, 'utf8')) as DevStackInfo;
}, START_TIMEOUT_MS + 10_000);

afterAll(async () => {
  await qdrant.stop();
  if (state !== undefined) process.kill(state.pid, 'SIGTERM');
  if (dev?.exitCode === null) {
    await new Promise((resolve) => dev.once('exit', resolve));
  }
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("the README's day one", () => {
  it('runs the quickstart as written: create a bot, upload a document, search with query_text', async () => {
    const script = quickstartBlock().replaceAll('http://localhost:3000', state.httpUrl);
    const { stdout } = await exec('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: root,
      env: secondShell(),
    });

    const answers = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(answers[0]).toMatchObject({ bot_id: 'my-bot', name: 'My bot' });
    expect(answers[1]).toMatchObject({ bot_id: 'my-bot', filename: 'notes.md', chunks_written: 2 });
    const search = answers[2] as { results: { text: string }[] };
    expect(search.results.map((r) => r.text)).toEqual(['Redis keeps a snapshot per bot.']);
    // One line per request in the dev log, with its status.
    await waitUntil('the request lines', () =>
      /\[http\] POST \/bots\/my-bot\/search 200 \d+ ms from/.test(output),
    );
    expect(output).toMatch(/\[http\] PUT \/bots\/my-bot 20[01] \d+ ms/);
    expect(output).toMatch(/\[http\] POST \/bots\/my-bot\/documents 200 \d+ ms/);
  });

  it('mints a token for another tenant with npm run token -- --user alice', async () => {
    const minted = await npmRun(['token', '--', '--user', 'alice']);
    expect(minted.code).toBe(0);
    const token = minted.stdout.trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    expect(claims.sub).toBe('alice');

    const own = await fetch(`${state.httpUrl}/bots/alice-bot`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(own.status).toBe(201);
    const other = await fetch(`${state.httpUrl}/bots/my-bot`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect([403, 404]).toContain(other.status);
    await waitUntil('the refused request in the dev log', () =>
      /\[http\] GET \/bots\/my-bot 40[34]/.test(output),
    );
  });

  it('runs npm run doctor -- --all against the running stack, naming its endpoints, without the SDK notice', async () => {
    const botSettled = async () => {
      const answer = await fetch(`${state.httpUrl}/bots/my-bot`, {
        headers: { authorization: `Bearer ${state.token}` },
      });
      return ((await answer.json()) as { total_chunks?: number }).total_chunks === 2;
    };
    await waitUntil('the stream to count the quickstart document', botSettled, {
      timeoutMs: 30_000,
      intervalMs: 200,
    });

    const doctor = await npmRun(['doctor', '--', '--all']);

    expect(doctor.stderr).toContain(`using ${state.dynamodbEndpoint}, Redis ${state.redisUrl}`);
    expect(doctor.stderr).toContain('from the running npm run dev');
    expect(doctor.stderr).not.toContain('NodeVersionSupportWarning');
    expect(doctor.stdout).toContain('2 bot(s) checked: 2 agree, 0 drifted');
    expect(doctor.code).toBe(0);
  });

  it('runs npm run migrate:qdrant against the running stack', async () => {
    const vector = (seed: number) => Array.from({ length: 384 }, (_, i) => Math.sin(seed + i));
    qdrant.collections.set('faq', {
      vectors: { size: 384, distance: 'Cosine' },
      points: [
        { id: 1n, payload: { text: 'first', filename: 'faq.md', chunk_index: 0 }, vector: vector(1) },
        { id: 2n, payload: { text: 'second', filename: 'faq.md', chunk_index: 1 }, vector: vector(2) },
      ],
    });

    const migrated = await npmRun([
      'migrate:qdrant',
      '--',
      '--url',
      qdrant.url,
      '--collection',
      'faq',
      '--bot',
      'from-qdrant',
      '--rejects',
      join(dir, 'faq.rejects.jsonl'),
    ]);

    expect(migrated.stderr).toContain(`using ${state.dynamodbEndpoint}`);
    expect(migrated.stderr).not.toContain('NodeVersionSupportWarning');
    expect(migrated.stdout).toMatch(/from-qdrant\t2\t0\t2\tok/);
    expect(migrated.code).toBe(0);
  });
});
