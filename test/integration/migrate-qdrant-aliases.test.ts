import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoBotAliases } from '../../src/adapters/dynamodb/bot-aliases';
import { DynamoBotRegistry } from '../../src/adapters/dynamodb/bot-registry';
import { createDocumentClient, createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { FakeQdrant } from '../fixtures/qdrant-server';

/** `npm run migrate:qdrant` copies the collection's Qdrant aliases to the bot, as a separate process. */

const ROOT = join(__dirname, '..', '..');
const config = loadConfig(process.env);
const dynamodb = createDynamoDbClient(config);
const documents = createDocumentClient(dynamodb);
const aliases = new DynamoBotAliases(documents, config.tables.botAliases);
const bots = new DynamoBotRegistry(documents, {
  table: config.tables.botCollections,
  defaultEmbeddingDimension: config.defaultEmbeddingDimension,
});
const qdrant = new FakeQdrant();
const dir = mkdtempSync(join(tmpdir(), 'migrate-aliases-'));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const rejects = join(dir, `${randomUUID()}.jsonl`);
  return promisify(execFile)(
    process.execPath,
    [
      '--import',
      'tsx',
      'tools/scripts/migrate-qdrant.ts',
      '--url',
      qdrant.url,
      '--rejects',
      rejects,
      ...args,
    ],
    { cwd: ROOT, env: { ...process.env, EMBEDDING_ENCODING: 'binary' } },
  ).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

/** A collection of three 2-d points, under a fresh name. */
function collection(): string {
  const name = `col-${randomUUID().slice(0, 8)}`;
  qdrant.collections.set(name, {
    vectors: { size: 2, distance: 'Cosine' },
    points: [1n, 2n, 3n].map((id) => ({
      id,
      payload: { text: `t${id}`, filename: 'f.md' },
      vector: [1, Number(id)],
    })),
  });
  return name;
}

beforeAll(() => qdrant.start());
afterAll(async () => {
  await qdrant.stop();
  dynamodb.destroy();
});

describe('migrate:qdrant and Qdrant aliases', () => {
  it("points the collection's aliases at the bot, named by one of them, and skips a name a bot has", async () => {
    const name = collection();
    const other = collection();
    const [prod, staging, elsewhere] = ['prod', 'staging', 'elsewhere'].map(
      (a) => `${a}-${randomUUID()}`,
    ) as [string, string, string];
    const taken = `taken-${randomUUID()}`;
    await bots.putOwned(taken, 'someone', { embedding_dimension: 2 });
    qdrant.aliases.set(prod, name).set(staging, name).set(taken, name).set(elsewhere, other);
    const botId = `mig-${randomUUID()}`;

    const run = await cli(['--collection', prod, '--bot', botId, '--owner', 'me']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`aliases copied: ${[prod, staging].sort().join(', ')}`);
    expect(run.stdout).toContain(`alias ${taken} not copied: alias: ${taken} is a bot id`);
    for (const alias of [prod, staging]) {
      expect(await aliases.get(alias)).toMatchObject({ alias, bot_id: botId, user_id: 'me' });
    }
    expect(await aliases.get(elsewhere)).toBeUndefined();
    expect(await aliases.get(taken)).toBeUndefined();
    expect(await bots.get(botId)).toMatchObject({ user_id: 'me', total_chunks: expect.any(Number) });
  });

  it('copies no alias without --owner or on a dry run, and says why', async () => {
    const name = collection();
    const alias = `prod-${randomUUID()}`;
    qdrant.aliases.set(alias, name);

    const unowned = await cli(['--collection', name, '--bot', `mig-${randomUUID()}`]);
    const dry = await cli([
      '--collection',
      name,
      '--bot',
      `mig-${randomUUID()}`,
      '--owner',
      'me',
      '--dry-run',
    ]);

    expect(unowned.code).toBe(0);
    expect(unowned.stdout).toContain(
      `alias ${alias} not copied: an alias needs an owner: run again with --owner`,
    );
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`aliases to copy: ${alias}`);
    expect(await aliases.get(alias)).toBeUndefined();
  });
});
