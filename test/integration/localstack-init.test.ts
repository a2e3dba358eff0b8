import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import definitions from '../../infra/tables.json';
import { createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';
import { type TableKey, tableKeys } from '../../src/tables/definition';
import { composedLocalStack } from '../fixtures/compose';

/**
 * LocalStack cannot run here, so this runs LocalStack's init script with the real AWS CLI against the
 * DynamoDB Local of the global setup, in the environment localstack/docker-compose.yml gives the container
 * when the shell names fresh tables, and compares what it created with infra/tables.json.
 */
const run = promisify(execFile);
const script = join(__dirname, '..', '..', 'localstack', 'init', 'ready.d', '10-create-tables.sh');
const suffix = randomUUID().slice(0, 8);
const names: Record<TableKey, string> = {
  VectorEmbeddings: `VectorEmbeddings-init-${suffix}`,
  BotCollections: `BotCollections-init-${suffix}`,
  BotDocuments: `BotDocuments-init-${suffix}`,
  DocumentLeases: `DocumentLeases-init-${suffix}`,
  BotAliases: `BotAliases-init-${suffix}`,
  StreamClaims: `StreamClaims-init-${suffix}`,
};

let client: DynamoDBClient;

// Each AWS CLI call starts a Python interpreter (about a second here); the script makes up to nine.
jest.setTimeout(90_000);

// Debian's awscli (v2, what .ci/run installs) when present; another `aws` on the PATH otherwise.
const awsCli = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

/** The init script, run with the container environment compose makes from a shell that sets `shell`. */
async function runInitScript(shell: Record<string, string> = {}) {
  const { environment } = composedLocalStack({
    TABLE_VECTOR_EMBEDDINGS: names.VectorEmbeddings,
    TABLE_BOT_COLLECTIONS: names.BotCollections,
    TABLE_BOT_DOCUMENTS: names.BotDocuments,
    TABLE_DOCUMENT_LEASES: names.DocumentLeases,
    TABLE_BOT_ALIASES: names.BotAliases,
    TABLE_STREAM_CLAIMS: names.StreamClaims,
    ...shell,
  });
  return run('sh', [script], {
    env: {
      ...environment,
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_CLI: `${awsCli} --endpoint-url ${process.env.DYNAMODB_ENDPOINT}`,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_DEFAULT_REGION: process.env.AWS_REGION ?? 'us-east-1',
    },
  });
}

async function describe_(name: string): Promise<TableDescription> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
  if (Table === undefined) throw new Error(`no description for ${name}`);
  return Table;
}

const byName = <T extends { AttributeName?: string | undefined }>(items: T[] | undefined) =>
  [...(items ?? [])].sort((a, b) => String(a.AttributeName).localeCompare(String(b.AttributeName)));

beforeAll(() => {
  client = createDynamoDbClient(loadConfig(process.env));
});

afterAll(async () => {
  for (const name of Object.values(names)) {
    await client.send(new DeleteTableCommand({ TableName: name })).catch(() => undefined);
  }
  client.destroy();
});

describe('LocalStack init script', () => {
  it('does nothing with CREATE_TABLES=0, leaving the tables to CloudFormation', async () => {
    const { stdout } = await runInitScript({ CREATE_TABLES: '0' });
    expect(stdout).toContain('CREATE_TABLES=0');
    await expect(describe_(names.BotCollections)).rejects.toThrow(/not found|non-existent/i);
  });

  it('creates every table as infra/tables.json defines it', async () => {
    const { stdout } = await runInitScript();
    for (const key of tableKeys) expect(stdout).toContain(`created ${names[key]} from ${key}.json`);

    for (const key of tableKeys) {
      const table = await describe_(names[key]);
      const definition = definitions[key];
      expect(table.TableStatus).toBe('ACTIVE');
      expect(table.KeySchema).toEqual(definition.KeySchema);
      expect(byName(table.AttributeDefinitions)).toEqual(byName(definition.AttributeDefinitions));
      expect(table.BillingModeSummary?.BillingMode).toBe(definition.BillingMode);
      if ('StreamSpecification' in definition) {
        expect(table.StreamSpecification).toEqual({
          StreamEnabled: true,
          StreamViewType: definition.StreamSpecification.StreamViewType,
        });
        expect(table.LatestStreamArn).toMatch(/^arn:aws:dynamodb:/);
      } else {
        expect(table.StreamSpecification?.StreamEnabled ?? false).toBe(false);
      }
      if ('GlobalSecondaryIndexes' in definition) {
        expect(
          (table.GlobalSecondaryIndexes ?? []).map((index) => ({
            IndexName: index.IndexName,
            KeySchema: index.KeySchema,
            Projection: index.Projection,
          })),
        ).toEqual(definition.GlobalSecondaryIndexes);
      } else {
        expect(table.GlobalSecondaryIndexes).toBeUndefined();
      }
    }
  });

  it('leaves existing tables as they are when it runs again', async () => {
    const before = await describe_(names.VectorEmbeddings);
    const { stdout } = await runInitScript();
    for (const key of tableKeys) expect(stdout).toContain(`${names[key]} exists`);
    const after = await describe_(names.VectorEmbeddings);
    expect(after.CreationDateTime).toEqual(before.CreationDateTime);
    expect(after.LatestStreamArn).toBe(before.LatestStreamArn);
  });
});
