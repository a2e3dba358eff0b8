import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import definitions from '../../infra/tables.json';
import type { Config } from '../config';

/** The logical tables of infra/tables.json, the one definition shared with serverless.yml and LocalStack. */
export type TableKey =
  | 'VectorEmbeddings'
  | 'BotCollections'
  | 'BotDocuments'
  | 'DocumentLeases'
  | 'BotAliases'
  | 'StreamClaims';
export const tableKeys: readonly TableKey[] = [
  'VectorEmbeddings',
  'BotCollections',
  'BotDocuments',
  'DocumentLeases',
  'BotAliases',
  'StreamClaims',
];

export const FILENAME_INDEX = 'filename-index';
/** BotCollections by owner (user_id, bot_id), keys only: `GET /bots` reads the records it names. */
export const OWNER_INDEX = 'owner-index';
/** BotAliases by target bot (bot_id, alias), keys only: the aliases `GET /bots/{botId}` lists. */
export const ALIAS_BOT_INDEX = 'bot-index';

/** Which configured name each logical table is deployed under. */
export function tableNameFor(key: TableKey, names: Config['tables']): string {
  switch (key) {
    case 'VectorEmbeddings':
      return names.vectorEmbeddings;
    case 'BotCollections':
      return names.botCollections;
    case 'BotDocuments':
      return names.botDocuments;
    case 'DocumentLeases':
      return names.documentLeases;
    case 'BotAliases':
      return names.botAliases;
    case 'StreamClaims':
      return names.streamClaims;
  }
}

/**
 * The CreateTable request for one logical table. The JSON file is CloudFormation-shaped
 * (`StreamSpecification` has no `StreamEnabled`), the API wants `StreamEnabled: true`.
 */
export function createTableInput(key: TableKey, tableName: string): CreateTableCommandInput {
  const definition = definitions[key];
  const input: CreateTableCommandInput = {
    TableName: tableName,
    AttributeDefinitions: definition.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    KeySchema: definition.KeySchema as CreateTableCommandInput['KeySchema'],
    BillingMode: definition.BillingMode as CreateTableCommandInput['BillingMode'],
  };
  if ('GlobalSecondaryIndexes' in definition) {
    input.GlobalSecondaryIndexes =
      definition.GlobalSecondaryIndexes as CreateTableCommandInput['GlobalSecondaryIndexes'];
  }
  if ('StreamSpecification' in definition) {
    input.StreamSpecification = {
      StreamEnabled: true,
      StreamViewType: definition.StreamSpecification.StreamViewType as 'NEW_AND_OLD_IMAGES',
    };
  }
  return input;
}

/**
 * Creates every table that does not exist yet and waits until all are ACTIVE.
 * Idempotent: tables that already exist are left as they are.
 */
export async function ensureTables(
  client: DynamoDBClient,
  names: Config['tables'],
): Promise<{ created: string[]; existing: string[] }> {
  const created: string[] = [];
  const existing: string[] = [];
  for (const key of tableKeys) {
    const tableName = tableNameFor(key, names);
    try {
      await client.send(new CreateTableCommand(createTableInput(key, tableName)));
      created.push(tableName);
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
      existing.push(tableName);
    }
    await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
    // A table kept from before an index was defined gets it now (DynamoDB builds it from the items).
    await addMissingIndexes(client, key, tableName);
    const ttl = timeToLiveOf(key);
    if (ttl !== undefined && !(await timeToLiveOn(client, tableName))) {
      await client.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: ttl }));
    }
  }
  return { created, existing };
}

/** Whether the table's TTL is enabled (or being enabled): a table kept from before it was defined gets it. */
async function timeToLiveOn(client: DynamoDBClient, tableName: string): Promise<boolean> {
  const { TimeToLiveDescription: ttl } = await client.send(
    new DescribeTimeToLiveCommand({ TableName: tableName }),
  );
  return ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING';
}

/** The table's TTL setting, if it has one (CreateTable cannot set it; UpdateTimeToLive does). */
export function timeToLiveOf(key: TableKey): { AttributeName: string; Enabled: boolean } | undefined {
  const definition = definitions[key];
  return 'TimeToLiveSpecification' in definition ? definition.TimeToLiveSpecification : undefined;
}

/** Names of the indexes infra/tables.json defines for `key` that the deployed table lacks. */
export async function missingIndexes(
  client: DynamoDBClient,
  key: TableKey,
  tableName: string,
): Promise<string[]> {
  const defined = createTableInput(key, tableName).GlobalSecondaryIndexes ?? [];
  const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const present = new Set((table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
  return defined.map((index) => index.IndexName ?? '').filter((name) => !present.has(name));
}

/** Creates each defined index the table lacks, one UpdateTable each (DynamoDB takes one at a time). */
async function addMissingIndexes(client: DynamoDBClient, key: TableKey, tableName: string): Promise<void> {
  const input = createTableInput(key, tableName);
  for (const name of await missingIndexes(client, key, tableName)) {
    const index = input.GlobalSecondaryIndexes?.find((candidate) => candidate.IndexName === name);
    if (index === undefined) continue;
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: input.AttributeDefinitions,
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
    await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
  }
}
