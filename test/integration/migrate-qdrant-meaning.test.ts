import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoChunkStore } from '../../src/adapters/dynamodb/chunk-store';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import type { StoredChunk } from '../../src/domain/types';
import { FakeQdrant } from '../fixtures/qdrant-server';

/**
 * What a Qdrant payload means after `npm run migrate:qdrant`, run as a user runs it, in a time zone that
 * is not UTC: timestamps as Qdrant reads them, payload keys kept, and a summary of what this run did.
 */

const ROOT = join(__dirname, '..', '..');
/** UTC+05:30: a zone-less timestamp read as local time moves by -5:30. */
const TZ = 'Asia/Kolkata';

const config = loadConfig(process.env);
const dynamodb = createDynamoDbClient(config);
const chunks = new DynamoChunkStore(createDocumentClient(dynamodb), {
  table: config.tables.vectorEmbeddings,
  embeddingEncoding: 'binary',
});
const qdrant = new FakeQdrant();
const dir = mkdtempSync(join(tmpdir(), 'migrate-qdrant-meaning-'));

/** Runs the migration script in its own process, in time zone TZ. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/scripts/migrate-qdrant.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, EMBEDDING_ENCODING: 'binary', TZ },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

async function botChunks(botId: string): Promise<Map<string, StoredChunk>> {
  const all = new Map<string, StoredChunk>();
  for await (const page of chunks.readBot(botId, { consistent: true, withText: true })) {
    for (const chunk of page) all.set(chunk.chunk_id, chunk);
  }
  return all;
}

beforeAll(() => qdrant.start());
afterAll(async () => {
  await qdrant.stop();
  dynamodb.destroy();
});

describe('migrate:qdrant keeps what a payload means', () => {
  const name = `col-${randomUUID().slice(0, 8)}`;
  const botId = `mig-${randomUUID()}`;
  const resumeFile = join(dir, 'resume.json');
  const args = () => ['--url', qdrant.url, '--collection', name, '--bot', botId, '--resume', resumeFile];
  qdrant.collections.set(name, {
    vectors: { size: 3, distance: 'Cosine' },
    points: [
      { id: 1n, payload: { text: 'a', filename: 'a.md', chunk_index: 2, created_at: '2024-03-01T10:00:00' } },
      {
        id: 2n,
        payload: {
          page_content: 'b',
          page: 'cover',
          metadata: { source: 'b.pdf', page: 3, created_at: '2024-03-01 23:30' },
        },
      },
      { id: 3n, payload: { text: 'c', created_at: '06.03.2024' } },
    ].map((point) => ({ ...point, vector: [0.1, 0.2, 0.3] })),
  });

  it('runs its child processes in a zone that is not UTC', () => {
    const offset = spawnSync(process.execPath, ['-p', 'new Date(2024, 2, 1).getTimezoneOffset()'], {
      env: { ...process.env, TZ },
      encoding: 'utf8',
    });
    expect(offset.stdout.trim()).toBe('-330');
  });

  it('reads zone-less timestamps as UTC and keeps colliding keys and unreadable timestamps', async () => {
    const run = await cli(args());
    expect(run.code).toBe(0);
    const stored = await botChunks(botId);
    expect(stored.get('1')).toMatchObject({ created_at: '2024-03-01T10:00:00.000Z', chunk_index: 2 });
    // No chunk_index: 0; a LangChain key that a top-level key also names stays under metadata.
    expect(stored.get('2')).toMatchObject({
      created_at: '2024-03-01T23:30:00.000Z',
      filename: 'b.pdf',
      chunk_index: 0,
      metadata: { page: 'cover', metadata: { page: 3 } },
    });
    // No filename: the collection's name; a created_at Qdrant would not read as one stays in metadata.
    expect(stored.get('3')).toMatchObject({ filename: name, metadata: { created_at: '06.03.2024' } });
    expect(stored.get('3')?.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('says a rerun from a finished resume file wrote nothing, and what earlier runs did', async () => {
    const rerun = await cli(args());
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain('finished; verifying only');
    expect(rerun.stdout).toContain('points read 0, written 0, unchanged 0, rejected 0');
    expect(rerun.stdout).toContain(
      `earlier runs (from ${resumeFile}): read 3, written 3, unchanged 0, rejected 0`,
    );
  });
});
