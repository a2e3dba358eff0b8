import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';
import definitions from '../../infra/tables.json';
import { loadUsearchInt8Scan, usearchBinaryCandidates } from '../../src/adapters/native/usearch-scan';
import { parseServerlessYaml } from '../../tools/local/stream-settings';

/**
 * Runs `serverless package --stage dev` (offline: no AWS credentials, no network) into a temp dir and
 * checks the CloudFormation it generates. Packaging bundles every function with esbuild: 20-60 s here.
 */
const run = promisify(execFile);
const root = join(__dirname, '..', '..');
const serverlessBin = require.resolve('serverless/bin/serverless.js');
const PACKAGE_TIMEOUT_MS = 240_000;

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: unknown };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/** Packaging must not depend on the network or on whoever runs it having AWS credentials. */
const offlineEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries({
    ...process.env,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
  }).filter(([name]) => !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE)$/.test(name)),
);

let outDir: string;
let resources: Record<string, Resource>;
let artifacts: string[];

function resource(logicalId: string): Resource {
  const found = resources[logicalId];
  if (found === undefined) throw new Error(`no resource ${logicalId} in the template`);
  return found;
}

function ofType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

function resourcesOf(statement: Statement): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

function statementsOf(role: Resource): Statement[] {
  const policies = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}

function functionByHandler(handler: string): [string, Resource] {
  const found = ofType('AWS::Lambda::Function').find(([, r]) => r.Properties.Handler === handler);
  if (found === undefined) throw new Error(`no function with handler ${handler}`);
  return found;
}

/** The files of a zip archive (stored or deflated), read through its central directory. */
async function zipFiles(path: string): Promise<Map<string, Buffer>> {
  const zip = await readFile(path);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const local = zip.readUInt32LE(offset + 42);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    files.set(
      zip.toString('utf8', offset + 46, offset + 46 + nameLength),
      method === 0 ? data : inflateRawSync(data),
    );
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

/** File names in a zip archive. */
async function zipEntries(path: string): Promise<string[]> {
  return [...(await zipFiles(path)).keys()];
}

/** The e_machine field of an ELF binary: 0x3e x86-64, 0xb7 AArch64. */
function elfMachine(binary: Buffer): number {
  expect(binary.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  return binary.readUInt16LE(18);
}

/** Runs `serverless package` offline into a new temp dir; returns the dir. */
async function packageInto(prefix: string, extraArgs: string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await run(process.execPath, [serverlessBin, 'package', '--stage', 'dev', '--package', dir, ...extraArgs], {
    cwd: root,
    env: offlineEnv,
    maxBuffer: 16 * 1024 * 1024,
  });
  return dir;
}

const USEARCH_BINARY = /^node_modules\/usearch\/prebuilds\/linux-(arm64|x64)\/usearch\.node$/;
/** The functions that search, and so carry usearch's binary. */
const SEARCH_FUNCTIONS = ['HttpSearchLambdaFunction', 'HttpSearchBatchLambdaFunction'];

beforeAll(async () => {
  outDir = await packageInto('sls-package-');
  const template = JSON.parse(
    await readFile(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  );
  resources = template.Resources;
  artifacts = await readdir(outDir);
}, PACKAGE_TIMEOUT_MS);

afterAll(async () => {
  if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
});

describe('serverless package --stage dev', () => {
  describe('tables', () => {
    it.each([
      ['VectorEmbeddingsTable', 'VectorEmbeddings', 'VectorEmbeddings-dev'],
      ['BotCollectionsTable', 'BotCollections', 'BotCollections-dev'],
      ['BotDocumentsTable', 'BotDocuments', 'BotDocuments-dev'],
      ['StreamClaimsTable', 'StreamClaims', 'StreamClaims-dev'],
    ] as const)(
      '%s has the keys and billing of infra/tables.json, named per stage',
      (logicalId, key, name) => {
        const table = resource(logicalId);
        const definition = definitions[key];
        expect(table.Type).toBe('AWS::DynamoDB::Table');
        expect(table.Properties.TableName).toBe(name);
        expect(table.Properties.KeySchema).toEqual(definition.KeySchema);
        expect(table.Properties.AttributeDefinitions).toEqual(definition.AttributeDefinitions);
        expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      },
    );

    it('gives VectorEmbeddings the filename-index GSI projecting what its readers use and a NEW_AND_OLD_IMAGES stream', () => {
      const table = resource('VectorEmbeddingsTable').Properties;
      expect(table.GlobalSecondaryIndexes).toEqual([
        {
          IndexName: 'filename-index',
          KeySchema: [
            { AttributeName: 'bot_id', KeyType: 'HASH' },
            { AttributeName: 'filename', KeyType: 'RANGE' },
          ],
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: ['chunk_index', 'file_size', 'created_at'],
          },
        },
      ]);
      expect(table.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    });
  });

  describe('stream handler', () => {
    it('reads the VectorEmbeddings stream with the retry, bisect, age and partial-failure settings', () => {
      const [, streamSync] = functionByHandler('handlers/stream-sync.handler');
      const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(
        ([, m]) =>
          JSON.stringify(m.Properties.EventSourceArn) ===
          JSON.stringify({ 'Fn::GetAtt': ['VectorEmbeddingsTable', 'StreamArn'] }),
      );
      expect(mappings).toHaveLength(1);
      const [, mapping] = mappings[0] as [string, Resource];
      expect(mapping.Properties).toMatchObject({
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 1,
        StartingPosition: 'TRIM_HORIZON',
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 5,
        MaximumRecordAgeInSeconds: 3600,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['StreamDeadLetterQueue', 'Arn'] } } },
      });
      expect(mapping.Properties.FunctionName).toEqual({ 'Fn::GetAtt': ['StreamSyncLambdaFunction', 'Arn'] });
      expect(streamSync.Properties.Timeout).toBe(60);
    });
  });

  describe('ingestion', () => {
    it('consumes the ingestion queue in batches with partial batch responses', () => {
      const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(
        ([, m]) =>
          JSON.stringify(m.Properties.EventSourceArn) ===
          JSON.stringify({ 'Fn::GetAtt': ['IngestionQueue', 'Arn'] }),
      );
      expect(mappings).toHaveLength(1);
      const [, mapping] = mappings[0] as [string, Resource];
      expect(mapping.Properties.FunctionName).toEqual({ 'Fn::GetAtt': ['SqsIngestLambdaFunction', 'Arn'] });
      expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
      expect(mapping.Properties.BatchSize).toBe(10);
    });

    it('sends a message that failed five receives to its own dead-letter queue', () => {
      const queue = resource('IngestionQueue').Properties;
      expect(queue.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': ['IngestionDeadLetterQueue', 'Arn'] },
        maxReceiveCount: 5,
      });
      expect(resource('IngestionDeadLetterQueue').Type).toBe('AWS::SQS::Queue');
      expect(resource('StreamDeadLetterQueue').Type).toBe('AWS::SQS::Queue');
    });

    it('hides a message for at least six times the consumer timeout, so a slow batch is not redelivered mid-run', () => {
      const [, sqsIngest] = functionByHandler('handlers/sqs-ingest.handler');
      expect(resource('IngestionQueue').Properties.VisibilityTimeout).toBeGreaterThanOrEqual(
        6 * (sqsIngest.Properties.Timeout as number),
      );
    });
  });

  describe('HTTP API', () => {
    const routes: [string, string][] = [
      ['POST /bots/{botId}/search', 'handlers/http-search.handler'],
      ['POST /bots/{botId}/search/batch', 'handlers/http-search-batch.handler'],
      ['PUT /bots/{botId}', 'handlers/http-put-bot.handler'],
      ['GET /bots/{botId}', 'handlers/http-get-bot.handler'],
      ['DELETE /bots/{botId}', 'handlers/http-delete-bot.handler'],
      ['GET /bots/{botId}/documents', 'handlers/http-list-documents.handler'],
      ['POST /bots/{botId}/documents', 'handlers/http-upsert-document.handler'],
      ['DELETE /bots/{botId}/documents', 'handlers/http-delete-document.handler'],
    ];

    it('has exactly the eight routes', () => {
      const keys = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
      expect(keys.sort()).toEqual(routes.map(([key]) => key).sort());
    });

    it.each(routes)('routes %s to %s behind the JWT authorizer', (routeKey, handler) => {
      const [, route] = ofType('AWS::ApiGatewayV2::Route').find(
        ([, r]) => r.Properties.RouteKey === routeKey,
      ) as [string, Resource];
      expect(route.Properties.AuthorizationType).toBe('JWT');
      expect(route.Properties.AuthorizerId).toEqual({ Ref: 'HttpApiAuthorizerJwtAuthorizer' });
      const integrationId = JSON.stringify(route.Properties.Target).match(/"Ref":"([^"]+)"/)?.[1] as string;
      const [functionId] = functionByHandler(handler);
      expect(resource(integrationId).Properties.IntegrationUri).toEqual({
        'Fn::GetAtt': [functionId, 'Arn'],
      });
    });

    it('verifies bearer JWTs against the stage issuer and audience', () => {
      const authorizer = resource('HttpApiAuthorizerJwtAuthorizer').Properties;
      expect(authorizer.AuthorizerType).toBe('JWT');
      expect(authorizer.IdentitySource).toEqual(['$request.header.Authorization']);
      expect(authorizer.JwtConfiguration).toEqual({
        Issuer: '{{resolve:ssm:/ddb-vector-sync/dev/jwt-issuer}}',
        Audience: ['{{resolve:ssm:/ddb-vector-sync/dev/jwt-audience}}'],
      });
    });
  });

  describe('function configuration', () => {
    it('trusts the authorizer and carries no local endpoint or development key', () => {
      for (const [id, fn] of ofType('AWS::Lambda::Function')) {
        const variables = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
        expect({ id, ...variables }).toMatchObject({
          id,
          AUTH_MODE: 'authorizer',
          TABLE_VECTOR_EMBEDDINGS: 'VectorEmbeddings-dev',
          TABLE_BOT_COLLECTIONS: 'BotCollections-dev',
          TABLE_BOT_DOCUMENTS: 'BotDocuments-dev',
          TABLE_STREAM_CLAIMS: 'StreamClaims-dev',
          REDIS_URL: '{{resolve:ssm:/ddb-vector-sync/dev/redis-url}}',
          EMBEDDING_ENCODING: 'list',
        });
        expect(variables).not.toHaveProperty('LOCAL_JWT_SECRET');
        expect(variables).not.toHaveProperty('DYNAMODB_ENDPOINT');
      }
    });

    it('runs every function on nodejs22.x, a supported Lambda runtime, with esbuild targeting the same Node', async () => {
      const functions = ofType('AWS::Lambda::Function');
      expect(functions.length).toBeGreaterThan(0);
      for (const [id, fn] of functions) {
        expect({ id, runtime: fn.Properties.Runtime }).toEqual({ id, runtime: 'nodejs22.x' });
      }
      const settings = parseServerlessYaml(await readFile(join(root, 'serverless.yml'), 'utf8')) as {
        custom: { esbuild: { target: string } };
      };
      expect(settings.custom.esbuild.target).toBe('node22');
    });

    it('packages each function as its own esbuild bundle without node_modules (but the search binary)', async () => {
      const functions = ofType('AWS::Lambda::Function');
      expect(functions).toHaveLength(11);
      for (const [id, fn] of functions) {
        const key = (fn.Properties.Code as { S3Key: string }).S3Key;
        const zipName = key.split('/').pop() as string;
        expect({ id, artifact: artifacts.includes(zipName) }).toEqual({ id, artifact: true });
        const entries = await zipEntries(join(outDir, zipName));
        const handlerFile = `${(fn.Properties.Handler as string).replace(/\.handler$/, '')}.js`;
        expect(entries).toContain(handlerFile);
        // The one file from node_modules: the search function's native binary (tested below).
        const native = SEARCH_FUNCTIONS.includes(id) ? USEARCH_BINARY : /^$/;
        expect(entries.filter((e) => e.includes('node_modules/') && !native.test(e))).toEqual([]);
      }
    });
  });

  describe('native search binary', () => {
    it('ships usearch for arm64 (the default architecture) with the search functions only', async () => {
      for (const [id, fn] of ofType('AWS::Lambda::Function')) {
        expect({ id, architectures: fn.Properties.Architectures }).toEqual({ id, architectures: ['arm64'] });
        const key = (fn.Properties.Code as { S3Key: string }).S3Key;
        const files = await zipFiles(join(outDir, key.split('/').pop() as string));
        const binaries = [...files.keys()].filter((name) => USEARCH_BINARY.test(name));
        if (!SEARCH_FUNCTIONS.includes(id)) {
          expect({ id, binaries }).toEqual({ id, binaries: [] });
          continue;
        }
        expect(binaries).toEqual(['node_modules/usearch/prebuilds/linux-arm64/usearch.node']);
        expect(elfMachine(files.get(binaries[0] as string) as Buffer)).toBe(0xb7);
      }
    });

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
    });
  });

  describe('alarms', () => {
    const alarms = () => ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const queryOf = (alarm: Record<string, unknown>) =>
      ((alarm.Metrics ?? []) as { Expression?: string }[]).map((m) => m.Expression ?? '').join(' ');

    it.each(['ThrottledRequests', 'SystemErrors'])('alarms on DynamoDB %s of all three tables', (metric) => {
      const alarm = alarms().find((a) => queryOf(a).includes(`SUM(${metric})`));
      expect(alarm).toBeDefined();
      const query = queryOf(alarm as Record<string, unknown>);
      for (const table of ['VectorEmbeddings-dev', 'BotCollections-dev', 'BotDocuments-dev']) {
        expect(query).toContain(`TableName = '${table}'`);
      }
    });

    it('alarms on DynamoDB UserErrors', () => {
      expect(alarms().some((a) => a.Namespace === 'AWS/DynamoDB' && a.MetricName === 'UserErrors')).toBe(
        true,
      );
    });

    it('alarms when the doctor finds drift, and schedules the doctor daily with repair', () => {
      const alarm = alarms().find((a) => a.MetricName === 'DoctorDriftFound');
      expect(alarm).toMatchObject({ Namespace: 'DdbVectorSync', ComparisonOperator: 'GreaterThanThreshold' });
      const rules = ofType('AWS::Events::Rule').map(([, rule]) => rule.Properties);
      expect(rules).toEqual([
        expect.objectContaining({
          ScheduleExpression: 'rate(1 day)',
          Targets: [
            expect.objectContaining({
              Input: JSON.stringify({ repair: true, replayDeadLetters: true }),
            }),
          ],
        }),
      ]);
    });

    it("alarms when the stream handler's iterator age grows", () => {
      const alarm = alarms().find((a) => a.MetricName === 'IteratorAge');
      expect(alarm?.Dimensions).toEqual([
        { Name: 'FunctionName', Value: { Ref: 'StreamSyncLambdaFunction' } },
      ]);
      expect(alarm?.Statistic).toBe('Maximum');
    });

    it.each(['StreamDeadLetterQueue', 'IngestionDeadLetterQueue'])('alarms on any message in %s', (queue) => {
      const alarm = alarms().find(
        (a) =>
          a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          JSON.stringify(a.Dimensions) ===
            JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }]),
      );
      expect(alarm).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    });

    it('notifies one SNS topic from every alarm', () => {
      for (const alarm of alarms()) expect(alarm.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(resource('AlarmTopic').Type).toBe('AWS::SNS::Topic');
    });
  });

  describe('IAM', () => {
    it('gives every function a role of its own and creates no shared role', () => {
      const roleIds = ofType('AWS::Lambda::Function').map(([, fn]) => JSON.stringify(fn.Properties.Role));
      expect(new Set(roleIds).size).toBe(roleIds.length);
      expect(resources).not.toHaveProperty('IamRoleLambdaExecution');
    });

    it('allows no DynamoDB or SQS action on "*" and no wildcard data action', () => {
      for (const [roleId, role] of ofType('AWS::IAM::Role')) {
        for (const statement of statementsOf(role)) {
          const dataActions = actionsOf(statement).filter((a) => /^(dynamodb|sqs):/.test(a));
          if (dataActions.length === 0) continue;
          const targets = resourcesOf(statement);
          expect({ roleId, dataActions, onStar: targets.some((t) => t === '*') }).toEqual({
            roleId,
            dataActions,
            onStar: false,
          });
          expect({ roleId, wildcards: dataActions.filter((a) => a.includes('*')) }).toEqual({
            roleId,
            wildcards: [],
          });
        }
      }
    });

    it("lets the stream handler read only its table's stream, write counts and send to its dead-letter queue", () => {
      const [, streamSync] = functionByHandler('handlers/stream-sync.handler');
      const roleId = (streamSync.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const statements = statementsOf(resource(roleId));
      const streamRead = statements.filter((s) => actionsOf(s).includes('dynamodb:GetRecords'));
      expect(streamRead).toHaveLength(1);
      expect(resourcesOf(streamRead[0] as Statement)).toEqual([
        { 'Fn::GetAtt': ['VectorEmbeddingsTable', 'StreamArn'] },
      ]);
      expect(actionsOf(streamRead[0] as Statement).sort()).toEqual(
        [
          'dynamodb:DescribeStream',
          'dynamodb:GetRecords',
          'dynamodb:GetShardIterator',
          'dynamodb:ListStreams',
        ].sort(),
      );
      const writeActions = ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'];
      const writes = statements.filter((s) => actionsOf(s).some((a) => writeActions.includes(a)));
      expect(
        writes
          .flatMap(resourcesOf)
          .map((r) => JSON.stringify(r))
          .sort(),
      ).toEqual(
        [
          { 'Fn::GetAtt': ['BotCollectionsTable', 'Arn'] },
          { 'Fn::GetAtt': ['BotDocumentsTable', 'Arn'] },
          { 'Fn::GetAtt': ['StreamClaimsTable', 'Arn'] },
        ]
          .map((r) => JSON.stringify(r))
          .sort(),
      );
      // The embeddings are read (never written) only to build the snapshot of a bot that has none.
      const tableArn = JSON.stringify({ 'Fn::GetAtt': ['VectorEmbeddingsTable', 'Arn'] });
      const onTable = statements.filter((s) => resourcesOf(s).some((r) => JSON.stringify(r) === tableArn));
      expect(onTable.flatMap(actionsOf).sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:Query']);
      const sends = statements.filter((s) => actionsOf(s).includes('sqs:SendMessage'));
      expect(sends.flatMap(resourcesOf)).toEqual([{ 'Fn::GetAtt': ['StreamDeadLetterQueue', 'Arn'] }]);
    });

    it('lets each function write logs only to its own log group', () => {
      for (const [id, fn] of ofType('AWS::Lambda::Function')) {
        const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
        const logGroup = id.replace(/LambdaFunction$/, 'LogGroup');
        const logs = statementsOf(resource(roleId)).filter((s) =>
          actionsOf(s).some((a) => a.startsWith('logs:')),
        );
        expect(logs.flatMap(resourcesOf)).toEqual([{ 'Fn::GetAtt': [logGroup, 'Arn'] }]);
      }
    });
  });
});

describe('serverless print --stage local', () => {
  let config: {
    provider: { environment: Record<string, string> };
    functions: Record<string, { events?: { httpApi?: Record<string, unknown> }[] }>;
  };

  beforeAll(async () => {
    const { stdout } = await run(
      process.execPath,
      [serverlessBin, 'print', '--stage', 'local', '--format', 'json'],
      {
        cwd: root,
        env: {
          ...offlineEnv,
          DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
          REDIS_URL: 'redis://127.0.0.1:6379',
          LOCAL_JWT_SECRET: 'x'.repeat(32),
          TABLE_VECTOR_EMBEDDINGS: 'VectorEmbeddings-e2e',
          EMBEDDING_ENCODING: 'binary',
          REDIS_KEY_PREFIX: 'dev-prefix',
        },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    config = JSON.parse(stdout.slice(stdout.indexOf('{')));
  }, PACKAGE_TIMEOUT_MS);

  it('verifies development tokens in the handlers against the local endpoints from the environment', () => {
    expect(config.provider.environment).toMatchObject({
      AUTH_MODE: 'local-key',
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
      REDIS_URL: 'redis://127.0.0.1:6379',
      LOCAL_JWT_SECRET: 'x'.repeat(32),
      TABLE_VECTOR_EMBEDDINGS: 'VectorEmbeddings-e2e',
      TABLE_BOT_COLLECTIONS: 'BotCollections',
      // What the in-process stream handler reads from the same environment.
      EMBEDDING_ENCODING: 'binary',
      REDIS_KEY_PREFIX: 'dev-prefix',
      JWT_ISSUER: 'ddb-vector-sync-local',
    });
  });

  it('puts no API Gateway authorizer on the routes', () => {
    const httpEvents = Object.values(config.functions).flatMap((fn) =>
      (fn.events ?? []).flatMap((e) => (e.httpApi === undefined ? [] : [e.httpApi])),
    );
    expect(httpEvents).toHaveLength(8);
    // A null authorizer is dropped when the template is compiled.
    for (const event of httpEvents) expect(event.authorizer ?? null).toBeNull();
  });
});

describe('serverless print --stage prod', () => {
  let config: {
    provider: { environment: Record<string, string> };
    resources: {
      Resources: Record<
        string,
        { Type: string; DeletionPolicy?: string; Properties: Record<string, unknown> }
      >;
    };
    functions: Record<string, { events?: { httpApi?: Record<string, unknown> }[] }>;
  };

  beforeAll(async () => {
    const { stdout } = await run(
      process.execPath,
      [serverlessBin, 'print', '--stage', 'prod', '--format', 'json'],
      {
        cwd: root,
        env: offlineEnv,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    config = JSON.parse(stdout.slice(stdout.indexOf('{')));
  }, PACKAGE_TIMEOUT_MS);

  it('keeps the tables when the stack goes and recovers them to any point in time', () => {
    // DocumentLeases holds only leases of writes in progress (seconds long): nothing to keep or recover.
    const tables = Object.values(config.resources.Resources).filter(
      (r) =>
        r.Type === 'AWS::DynamoDB::Table' && !String(r.Properties.TableName).startsWith('DocumentLeases'),
    );
    expect(tables).toHaveLength(4);
    for (const table of tables) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });

  it('puts the JWT authorizer on every route and reads Redis from the stage parameter', () => {
    const httpEvents = Object.values(config.functions).flatMap((fn) =>
      (fn.events ?? []).flatMap((e) => (e.httpApi === undefined ? [] : [e.httpApi])),
    );
    expect(httpEvents).toHaveLength(8);
    for (const event of httpEvents) expect(event.authorizer).toEqual({ name: 'jwtAuthorizer' });
    expect(config.provider.environment).toMatchObject({
      AUTH_MODE: 'authorizer',
      REDIS_URL: '{{resolve:ssm:/ddb-vector-sync/prod/redis-url}}',
      TABLE_VECTOR_EMBEDDINGS: 'VectorEmbeddings-prod',
    });
  });
});
