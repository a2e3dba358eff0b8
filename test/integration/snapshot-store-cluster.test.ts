import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { tokenise } from '../../src/domain/keyword-text';
import type { ScanSnapshot, Snapshot } from '../../src/snapshot';
import { RedisKeywordIndexStore, RedisSnapshotStore } from '../../src/snapshot';
import { findFreePort } from '../../tools/local/stack';
import { termChunkIds } from '../fixtures/keyword-postings';
import {
  chunk,
  contentOf,
  expectContent,
  expectedContent,
  publishSnapshot,
  SNAPSHOT_TEST_DIM,
  upsertOf,
} from '../fixtures/snapshot-chunks';

// A one-node Redis Cluster: it enforces what ElastiCache cluster mode does, that every multi-key
// command, MULTI and script touches one hash slot (else CROSSSLOT), so it proves the key design.
describe('redis snapshot store on Redis Cluster', () => {
  let child: ChildProcess;
  let directory: string;
  let cluster: Cluster;
  let store: RedisSnapshotStore;

  beforeAll(async () => {
    const port = await findFreePort();
    directory = mkdtempSync(join(tmpdir(), 'snapshot-cluster-'));
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        // A lone node does not know its own address and would announce an empty one to the client.
        '--cluster-announce-ip',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { cwd: directory, stdio: 'ignore' },
    );
    const admin = new Redis(port, '127.0.0.1', { retryStrategy: () => 100, maxRetriesPerRequest: null });
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    while (!/cluster_state:ok/.test(String(await admin.call('CLUSTER', 'INFO')))) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    admin.disconnect();
    cluster = new Cluster([{ host: '127.0.0.1', port }]);
    store = new RedisSnapshotStore(cluster, 'vs');
  });

  afterAll(async () => {
    cluster.disconnect();
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    rmSync(directory, { recursive: true, force: true });
  });

  it.each(['bot-on-cluster', 'bot-{with}-braces'])(
    'publishes, applies, reads and rebuilds the snapshot of %s with every key in one slot',
    async (botId) => {
      const chunks = Array.from({ length: 20 }, (_, i) => chunk(botId, i));
      await publishSnapshot(store, botId, chunks);

      await store.applyChanges(botId, [upsertOf(chunk(botId, 50)), { kind: 'delete', chunk_id: 'chunk-3' }]);
      const expected = [...chunks.filter((c) => c.chunk_id !== 'chunk-3'), chunk(botId, 50)];
      const snapshot = await store.read(botId);
      expectContent(contentOf(snapshot as Snapshot), expectedContent(expected));
      expect(await store.currentVersion(botId)).toEqual({ version: snapshot?.version, epoch: 1 });
      expect(await store.texts(botId, ['chunk-50'])).toEqual(['text of chunk 50']);

      const ticket = await store.beginRebuild(botId, 2);
      await store.applyChanges(botId, [{ kind: 'delete', chunk_id: 'chunk-4' }]);
      const published = await store.commitRebuild(
        ticket as NonNullable<typeof ticket>,
        expected,
        async (ids) => expected.filter((c) => ids.includes(c.chunk_id) && c.chunk_id !== 'chunk-4'),
      );
      expect(published).toBe(true);
      expectContent(
        contentOf((await store.read(botId)) as Snapshot),
        expectedContent(expected.filter((c) => c.chunk_id !== 'chunk-4')),
      );

      await store.drop(botId);
      expect(await store.read(botId)).toBeNull();
    },
  );

  it.each(['scan-on-cluster', 'scan-{with}-braces'])(
    'stages by pages, reads the int8 codes and fetches candidates of %s in one slot',
    async (botId) => {
      const chunks = Array.from({ length: 20 }, (_, i) => chunk(botId, i));
      const ticket = await store.beginRebuild(botId, 1);
      const staging = store.stageRebuild(ticket as NonNullable<typeof ticket>, SNAPSHOT_TEST_DIM);
      await staging.add(chunks.slice(0, 12));
      await staging.add(chunks.slice(12));
      expect(await staging.commit(async () => [])).toBe(true);
      await store.applyChanges(botId, [{ kind: 'delete', chunk_id: 'chunk-3' }]);

      const scan = await store.readScan(botId);
      expect(scan?.live).toBe(19);
      expect(scan?.liveMask?.[3]).toBe(0);
      const fetched = await store.candidates(scan as ScanSnapshot, [0, 19]);
      expect(fetched?.rows.map((row) => row.chunk_id)).toEqual(['chunk-0', 'chunk-19']);
      await store.drop(botId);
    },
  );

  it.each(['bot-on-cluster', 'bot-{with}-braces'])(
    'builds, updates, reads and drops the keyword index of %s with every key in one slot',
    async (botId) => {
      // Buckets of 4 document numbers, 3 docs buckets of 2 groups: the index spans several of each.
      const keywords = new RedisKeywordIndexStore(cluster, 'vs', {
        bucketSize: 4,
        docsBuckets: 3,
        docsGroups: 2,
      });
      const chunks = Array.from({ length: 12 }, (_, i) => chunk(botId, i));
      await publishSnapshot(store, botId, chunks);
      const { version } = (await store.currentVersion(botId)) as { version: string };
      const documents = chunks.map((c) => ({ chunkId: c.chunk_id, terms: tokenise(c.text) }));
      expect(await keywords.build(botId, version, documents)).toBe(true);

      const token = await keywords.beginUpdate(botId);
      expect(token).not.toBeNull();
      await store.applyChanges(botId, [
        upsertOf(chunk(botId, 7, { text: 'E-1042 fault' })),
        { kind: 'delete', chunk_id: 'chunk-2' },
      ]);
      const terms = [
        { chunkId: 'chunk-7', terms: tokenise('E-1042 fault') },
        { chunkId: 'chunk-2', terms: null },
      ];
      expect(await keywords.finishUpdate(botId, token as string, terms)).toBe(true);

      const after = (await store.currentVersion(botId)) as { version: string };
      const read = await keywords.read(botId, after.version, ['e-1042', 'chunk']);
      expect(read).toMatchObject({ docCount: 11 });
      expect(termChunkIds(read, 0)).toEqual(['chunk-7']);
      // 'chunk' is in every other text ("text of chunk i").
      expect(termChunkIds(read, 1)).toHaveLength(10);
      expect(await keywords.read(botId, version, ['chunk'])).toBe('missing');

      await keywords.drop(botId);
      expect(await keywords.read(botId, after.version, ['chunk'])).toBe('missing');
      await store.drop(botId);
    },
  );
});
