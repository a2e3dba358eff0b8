import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoBotRegistry } from '../../src/adapters/dynamodb/bot-registry';
import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import type { StoredChunk } from '../../src/domain/types';
import type { MigrationState } from '../../src/use-cases/migrate-from-qdrant';
import { type FakePoint, FakeQdrant } from '../fixtures/qdrant-server';
import { rng } from '../fixtures/random';
import { waitUntil } from '../fixtures/wait';

const ROOT = join(__dirname, '..', '..');
const DIMENSION = 8;
const TWO_TO_53 = 2n ** 53n;

const config = loadConfig(process.env);
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);
const chunks = new DynamoChunkStore(documents, {
  table: config.tables.vectorEmbeddings,
  embeddingEncoding: 'binary',
});
const bots = new DynamoBotRegistry(documents, {
  table: config.tables.botCollections,
  defaultEmbeddingDimension: config.defaultEmbeddingDimension,
});
const qdrant = new FakeQdrant();
const dir = mkdtempSync(join(tmpdir(), 'migrate-qdrant-'));
const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
const random = rng(seed);

type Run = { code: number | null; stdout: string; stderr: string; child: ChildProcess; done: Promise<void> };

/** Runs `npm run migrate:qdrant`'s script as a separate process, as a user would. */
function startCli(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/scripts/migrate-qdrant.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, EMBEDDING_ENCODING: 'binary' },
  });
  const run = { code: null, stdout: '', stderr: '', child } as Omit<Run, 'done'> & { done?: Promise<void> };
  child.stdout.on('data', (d) => {
    run.stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    run.stderr += String(d);
  });
  run.done = new Promise((resolve) =>
    child.on('close', (code) => {
      run.code = code;
      resolve();
    }),
  );
  return run as Run;
}

async function cli(args: string[]): Promise<Run> {
  const run = startCli(args);
  await run.done;
  return run;
}

const vector = () => Array.from({ length: DIMENSION }, () => random() * 2 - 1);

async function botChunks(botId: string): Promise<StoredChunk[]> {
  const all: StoredChunk[] = [];
  for await (const page of chunks.readBot(botId, { consistent: true, withText: true })) all.push(...page);
  return all.sort((a, b) => (a.chunk_id < b.chunk_id ? -1 : 1));
}

function collection(points: FakePoint[], vectors?: FakeQdrantVectors): string {
  const name = `col-${randomUUID().slice(0, 8)}`;
  qdrant.collections.set(name, { vectors: vectors ?? { size: DIMENSION, distance: 'Cosine' }, points });
  return name;
}
type FakeQdrantVectors = Parameters<FakeQdrant['collections']['set']>[1]['vectors'];

beforeAll(async () => {
  process.stdout.write(`migrate-qdrant seed ${seed}\n`);
  await qdrant.start();
});
afterAll(async () => {
  await qdrant.stop();
  dynamodb.destroy();
});
afterEach(() => {
  qdrant.apiKey = undefined;
  qdrant.beforeScroll = undefined;
});

describe('npm run migrate:qdrant', () => {
  // 250 integer ids from 2^53+1 up (all past JavaScript's exact integers) and 50 UUIDs.
  const ids: Array<bigint | string> = [
    ...Array.from({ length: 250 }, (_, i) => TWO_TO_53 + 1n + BigInt(i) * 7n),
    ...Array.from({ length: 50 }, () => randomUUID()),
  ];
  const points: FakePoint[] = ids.map((id, i) => ({
    id,
    payload: { page_content: `text ${i}`, metadata: { source: `doc-${i % 5}.pdf`, page: i % 11 } },
    vector: vector(),
  }));
  const name = collection(points);
  const botId = `mig-${randomUUID()}`;
  const resumeFile = join(dir, 'resume.json');
  const base = () => ['--url', qdrant.url, '--collection', name, '--bot', botId, '--batch', '50'];

  it('resumes a killed run from the last fully written page and ends with every point, ids exact', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    qdrant.beforeScroll = (index) => (index === 3 ? held : Promise.resolve());
    const first = startCli([...base(), '--resume', resumeFile]);
    await waitUntil('the fourth scroll request', () => qdrant.scrollOffsets.length === 4, {
      timeoutMs: 60_000,
    });
    first.child.kill('SIGKILL');
    await first.done;
    release();

    const saved = JSON.parse(readFileSync(resumeFile, 'utf8')) as MigrationState;
    const sorted = points.map((p) => p.id.toString());
    expect(saved).toMatchObject({ read: 150, written: 150, done: false });
    expect(saved.offset).toEqual({ kind: 'integer', text: sorted[150] });
    expect((await botChunks(botId)).map((c) => c.chunk_id)).toEqual(sorted.slice(0, 150).sort());

    const before = qdrant.scrollOffsets.length;
    const second = await cli([...base(), '--resume', resumeFile]);
    expect(second.stderr).toContain('resuming after 150 points');
    expect(second.code).toBe(0);
    expect(qdrant.scrollOffsets[before]).toBe(sorted[150]);
    expect(qdrant.scrollOffsets.length - before).toBe(3);
    expect(second.stdout).toMatch(new RegExp(`${botId}\\t300\\t0\\t300\\tok`));

    const stored = await botChunks(botId);
    expect(stored.map((c) => c.chunk_id)).toEqual([...sorted].sort());
    expect(stored.map((c) => c.chunk_id)).toContain((TWO_TO_53 + 1n).toString());
    const byId = new Map(stored.map((c) => [c.chunk_id, c]));
    points.forEach((p, i) => {
      const chunk = byId.get(p.id.toString()) as StoredChunk;
      expect(chunk).toMatchObject({
        text: `text ${i}`,
        filename: `doc-${i % 5}.pdf`,
        metadata: { page: i % 11 },
      });
      expect(Array.from(chunk.embedding)).toEqual(Array.from(Float32Array.from(p.vector as number[])));
    });
    expect(await bots.get(botId)).toMatchObject({ embedding_dimension: DIMENSION });
    // Progress reports the total from points_count, a rate and an ETA.
    expect(second.stderr).toMatch(/read 300\/300 \(100\.0%\).*points\/s {2}ETA/);
  });

  it('changes nothing when run again after success', async () => {
    const before = await botChunks(botId);
    const again = await cli(base());
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('points read 300, written 0, unchanged 300, rejected 0');
    expect(await botChunks(botId)).toEqual(before);

    const finished = await cli([...base(), '--resume', resumeFile]);
    expect(finished.code).toBe(0);
    expect(finished.stderr).toContain('finished; verifying only');
    expect(await botChunks(botId)).toEqual(before);
    expect(existsSync(`${resumeFile}.tmp`)).toBe(false);
  });
});

describe('migrate:qdrant with bad points, payload bots and named vectors', () => {
  it('writes points that cannot be chunks to the rejects file and goes on', async () => {
    const name = collection([
      { id: 1n, payload: { text: 'good one' }, vector: vector() },
      { id: 2n, payload: { text: 'no vector' } },
      { id: 3n, payload: { text: 'short' }, vector: vector().slice(1) },
      { id: 4n, payload: { title: 'no text' }, vector: vector() },
      { id: 5n, payload: { text: 'good two', created_at: '2025-05-05T05:05:05Z' }, vector: vector() },
    ]);
    const botId = `mig-${randomUUID()}`;
    const rejects = join(dir, 'rejects.jsonl');
    const run = await cli(['--url', qdrant.url, '--collection', name, '--bot', botId, '--rejects', rejects]);
    expect(run.code).toBe(0);
    const lines = readFileSync(rejects, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { id: '2', bot_id: botId, reason: expect.stringContaining('has no vector') },
      { id: '3', bot_id: botId, reason: expect.stringContaining(`has ${DIMENSION - 1} values`) },
      { id: '4', bot_id: botId, reason: expect.stringContaining('no text') },
    ]);
    expect(run.stdout).toMatch(new RegExp(`${botId}\\t5\\t3\\t2\\tok`));
    const stored = await botChunks(botId);
    expect(stored.map((c) => [c.chunk_id, c.filename, c.text])).toEqual([
      ['1', name, 'good one'],
      ['5', name, 'good two'],
    ]);
    expect(stored[1]?.created_at).toBe('2025-05-05T05:05:05.000Z');
  });

  it('splits a collection into bots by a payload key, with a named vector, verifying each count', async () => {
    const tenantA = `t-${randomUUID().slice(0, 8)}`;
    const points: FakePoint[] = Array.from({ length: 30 }, (_, i) => ({
      id: randomUUID(),
      payload: { tenant: i % 3 === 0 ? tenantA : 77, text: `chunk ${i}`, file_name: 'f.md', chunk_index: i },
      vector: { text: vector(), image: [1, 2] },
    }));
    // Scrolled first (integers before UUIDs) and rejected: the bot's count filter must still use 77, not "77".
    points.push({
      id: 0n,
      payload: { tenant: 77, file_name: 'f.md' },
      vector: { text: vector(), image: [1, 2] },
    });
    const name = collection(points, {
      text: { size: DIMENSION, distance: 'Cosine' },
      image: { size: 2, distance: 'Dot' },
    });
    const run = await cli([
      ...['--url', qdrant.url, '--collection', name, '--bot-from-payload', 'tenant', '--vector', 'text'],
      ...['--rejects', join(dir, 'payload-rejects.jsonl')],
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`${tenantA}\\t10\\t0\\t10\\tok`));
    expect(run.stdout).toMatch(/\n77\t21\t1\t20\tok/);
    const a = await botChunks(tenantA);
    expect(a.map((c) => c.chunk_index).sort((x, y) => x - y)).toEqual([0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
    expect(a[0]?.metadata).toEqual({});
    expect(await bots.get(tenantA)).toMatchObject({ embedding_dimension: DIMENSION });
  });

  it('reads and validates on --dry-run, and writes nothing', async () => {
    const name = collection([{ id: 10n, payload: { text: 'x' }, vector: vector() }]);
    const botId = `mig-${randomUUID()}`;
    const run = await cli(['--url', qdrant.url, '--collection', name, '--bot', botId, '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('dry run (nothing written)');
    expect(run.stdout).toContain('would write 1');
    expect(await bots.get(botId)).toBeUndefined();
    expect(await botChunks(botId)).toEqual([]);
  });

  it('exits non-zero when a bot ends with another count than Qdrant has', async () => {
    const name = collection([{ id: 10n, payload: { text: 'x' }, vector: vector() }]);
    const botId = `mig-${randomUUID()}`;
    await bots.ensure(botId, { embedding_dimension: DIMENSION });
    const extra = (await botChunks(botId)).length;
    await chunks.put([
      {
        bot_id: botId,
        chunk_id: 'not-from-qdrant',
        embedding: Float32Array.from(vector()),
        text: 'other',
        filename: 'other.md',
        file_size: 1,
        chunk_index: 0,
        created_at: '2026-01-01T00:00:00.000Z',
        metadata: {},
      },
    ]);
    const run = await cli(['--url', qdrant.url, '--collection', name, '--bot', botId]);
    expect(extra).toBe(0);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`${botId}\\t1\\t0\\t2\\tMISMATCH`));
    expect(run.stdout).toContain('count mismatch');
  });
});

describe('migrate:qdrant errors', () => {
  it('says what is wrong for a bad URL, key, collection, vector or bot dimension, and writes nothing', async () => {
    const name = collection([{ id: 1n, payload: { text: 'x' }, vector: vector() }]);
    const botId = `mig-${randomUUID()}`;
    const stopped = new FakeQdrant();
    await stopped.start();
    const deadUrl = stopped.url;
    await stopped.stop();
    const other = `mig-${randomUUID()}`;
    await bots.ensure(other, { embedding_dimension: DIMENSION * 2 });

    const runs = await Promise.all([
      cli(['--url', deadUrl, '--collection', name, '--bot', botId]),
      cli(['--url', qdrant.url, '--collection', 'nope', '--bot', botId]),
      cli(['--url', qdrant.url, '--collection', name, '--bot', botId, '--vector', 'text']),
      cli(['--url', qdrant.url, '--collection', name, '--bot', other]),
      cli(['--url', qdrant.url, '--collection', name]),
    ]);
    const [dead, unknown, vectorName, dimension, usage] = runs;
    expect(dead?.stderr).toMatch(/cannot reach Qdrant at http:\/\/127\.0\.0\.1:\d+ .*check --url/);
    expect(unknown?.stderr).toMatch(/no collection "nope".*doesn't exist.*check --collection/);
    expect(vectorName?.stderr).toContain('no vector named "text"; it has (unnamed)');
    expect(dimension?.stderr).toContain(
      `bot ${other} has embedding_dimension ${DIMENSION * 2}, but the collection's vectors have ${DIMENSION}`,
    );
    expect(usage?.stderr).toContain('give exactly one of --bot ID or --bot-from-payload KEY');
    for (const run of runs) expect(run.code).toBe(2);
    expect(await bots.get(botId)).toBeUndefined();
    expect(await botChunks(other)).toEqual([]);
  });

  it("checks every target bot before the first write: another user's or a deleted bot stops the run with nothing written", async () => {
    const [fresh, foreign, deleted] = ['fresh', 'foreign', 'deleted'].map((t) => `${t}-${randomUUID()}`) as [
      string,
      string,
      string,
    ];
    await bots.putOwned(foreign, 'someone-else', { embedding_dimension: DIMENSION });
    await bots.putOwned(deleted, 'me', { embedding_dimension: DIMENSION });
    await bots.beginDelete(deleted);
    await bots.markDeleted(deleted);
    const name = collection(
      [fresh, foreign, deleted].flatMap((tenant, t) =>
        Array.from({ length: 4 }, (_, i) => ({
          id: BigInt(100 + t * 10 + i),
          payload: { tenant, text: `chunk ${i}`, file_name: 'f.md', chunk_index: i },
          vector: vector(),
        })),
      ),
    );

    const run = await cli([
      ...['--url', qdrant.url, '--collection', name, '--bot-from-payload', 'tenant', '--owner', 'me'],
      ...['--rejects', join(dir, 'owners-rejects.jsonl')],
    ]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nothing was written: 2 bot(s) cannot take this migration');
    expect(run.stderr).toContain(`bot ${foreign} belongs to another user than me`);
    expect(run.stderr).toContain(`bot ${deleted} was deleted`);
    for (const botId of [fresh, foreign, deleted]) expect(await botChunks(botId)).toEqual([]);
    expect(await bots.get(fresh)).toBeUndefined();
    expect((await bots.get(deleted))?.status).toBe('deleted');
  });

  it('reports a 401 and a 403 from Qdrant as a key problem', async () => {
    const name = collection([{ id: 1n, payload: { text: 'x' }, vector: vector() }]);
    qdrant.apiKey = 'secret';
    const [missing, wrong, right] = await Promise.all([
      cli(['--url', qdrant.url, '--collection', name, '--bot', `mig-${randomUUID()}`]),
      cli(['--url', qdrant.url, '--collection', name, '--bot', `mig-${randomUUID()}`, '--api-key', 'nope']),
      cli(['--url', qdrant.url, '--collection', name, '--bot', `mig-${randomUUID()}`, '--api-key', 'secret']),
    ]);
    expect(missing?.stderr).toMatch(/refused the request \(401: Must provide an API key.*--api-key/);
    expect(wrong?.stderr).toMatch(/refused the request \(403: .*--api-key/);
    expect([missing?.code, wrong?.code, right?.code]).toEqual([2, 2, 0]);
  });
});
