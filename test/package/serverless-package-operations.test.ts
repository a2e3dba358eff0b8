import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  actionsOf,
  offlineEnv,
  PACKAGE_TIMEOUT_MS,
  packageInto,
  type Resource,
  root,
  run,
  SEARCH_FUNCTIONS,
  serverlessBin,
  statementsOf,
  zipFiles,
} from './serverless-cli';

/**
 * What on-call needs of a deploy, in `serverless package --stage dev --param="tracing=true"` with the Redis
 * password in an SSM SecureString under a customer key: an alarm on every function's errors and throttles
 * and on the API's 5xx and p99 latency, X-Ray tracing as a deploy parameter (off by default, on in prod),
 * the password out of every environment and readable by the Redis users only, and source-mapped bundles.
 * Prints every function's zip size and the time a cold `require` of its bundle takes (a report, not an
 * assertion).
 */
const PASSWORD_PARAMETER = '/ddb-vector-sync/dev/redis-password';
const PASSWORD_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
/** The functions that send Redis commands: search, the console's bot list and check, the stream, the doctor. */
const REDIS_USERS = [
  'StreamSyncLambdaFunction',
  'DoctorLambdaFunction',
  'HttpSearchLambdaFunction',
  'HttpSearchBatchLambdaFunction',
  'HttpRecommendLambdaFunction',
  'HttpListBotsLambdaFunction',
  'HttpCheckBotLambdaFunction',
];
let outDir: string;
let resources: Record<string, Resource>;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const functions = () => ofType('AWS::Lambda::Function');
const alarms = () => ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
const stringsOf = (variables: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(variables).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
/** Milliseconds a fresh Node takes to require `bundle` with `env`. */
function coldRequireMs(bundle: string, env: NodeJS.ProcessEnv): number {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(bundle)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  return Number(execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }));
}
const zipOf = (fn: Resource) =>
  join(outDir, (fn.Properties.Code as { S3Key: string }).S3Key.split('/').pop() as string);

/** The npm packages a function's bundle was built from, read from the `sources` of its source map. */
async function bundledPackages(fn: Resource): Promise<Set<string>> {
  const files = await zipFiles(zipOf(fn));
  const handlerFile = `${(fn.Properties.Handler as string).replace(/\.handler$/, '')}.js`;
  const sources = (JSON.parse(String(files.get(`${handlerFile}.map`))) as { sources: string[] }).sources;
  return new Set(sources.flatMap((source) => source.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? []));
}

/** Functions that never touch Redis: their bundles carry neither the Redis client nor the snapshot cache. */
const DYNAMODB_ONLY = [
  'HttpGetBotLambdaFunction',
  'HttpPutBotLambdaFunction',
  'HttpDeleteBotLambdaFunction',
  'HttpListDocumentsLambdaFunction',
  'HttpUpsertDocumentLambdaFunction',
  'HttpDeleteDocumentLambdaFunction',
  'HttpListChunksLambdaFunction',
  'SqsIngestLambdaFunction',
];

beforeAll(async () => {
  outDir = await packageInto('sls-package-ops-', [
    '--param=tracing=true',
    '--param=searchMemorySize=8192',
    `--param=redisPasswordParameter=${PASSWORD_PARAMETER}`,
    `--param=redisPasswordKmsKeyArn=${PASSWORD_KEY}`,
  ]);
  const template = JSON.parse(
    await readFile(join(outDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  );
  resources = template.Resources;
}, PACKAGE_TIMEOUT_MS);

afterAll(async () => {
  if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
});

describe('serverless package: what on-call needs', () => {
  it.each(['Errors', 'Throttles'])(
    'alarms on the Lambda %s of every function, to the alarm topic',
    (metric) => {
      expect(functions().length).toBeGreaterThanOrEqual(11);
      for (const [id] of functions()) {
        const alarm = alarms().find(
          (a) =>
            a.Namespace === 'AWS/Lambda' &&
            a.MetricName === metric &&
            JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: id } }]),
        );
        expect({ id, alarm: alarm && { ...alarm, AlarmDescription: undefined } }).toEqual({
          id,
          alarm: expect.objectContaining({
            Statistic: 'Sum',
            ComparisonOperator: 'GreaterThanThreshold',
            Threshold: 0,
            AlarmActions: [{ Ref: 'AlarmTopic' }],
          }),
        });
      }
    },
  );

  it("alarms on the HTTP API's 5xx answers and its p99 latency", () => {
    const api = [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }];
    expect(alarms()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Namespace: 'AWS/ApiGateway',
          MetricName: '5xx',
          Dimensions: api,
          Threshold: 0,
        }),
        expect.objectContaining({
          Namespace: 'AWS/ApiGateway',
          MetricName: 'Latency',
          Dimensions: api,
          ExtendedStatistic: 'p99',
          Threshold: 3000,
          AlarmActions: [{ Ref: 'AlarmTopic' }],
        }),
      ]),
    );
  });

  it('traces every function with X-Ray when tracing=true, each role allowed to write traces only', () => {
    for (const [id, fn] of functions()) {
      expect({ id, tracing: fn.Properties.TracingConfig }).toEqual({ id, tracing: { Mode: 'Active' } });
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect({ id, enabled: variables.POWERTOOLS_TRACE_ENABLED }).toEqual({ id, enabled: 'true' });
      const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      const xray = statementsOf(resources[roleId] as Resource).filter((s) =>
        JSON.stringify(s.Action).includes('xray'),
      );
      expect({ id, xray }).toEqual({
        id,
        xray: [
          { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
        ],
      });
    }
  });

  it('leaves tracing off by default and turns it on in prod', async () => {
    const print = async (stage: string) => {
      const { stdout } = await run(
        process.execPath,
        [serverlessBin, 'print', '--stage', stage, '--format', 'json'],
        {
          cwd: root,
          env: offlineEnv,
          maxBuffer: 16 * 1024 * 1024,
        },
      );
      return JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
        provider: { tracing: { lambda: unknown }; environment: Record<string, unknown> };
      };
    };
    const [dev, prod] = [await print('dev'), await print('prod')];
    expect(dev.provider.tracing.lambda).toBe(false);
    expect(dev.provider.environment.POWERTOOLS_TRACE_ENABLED).toBe('false');
    expect(prod.provider.tracing.lambda).toBe(true);
    expect(prod.provider.environment.POWERTOOLS_TRACE_ENABLED).toBe('true');
  });

  it('gives the search functions the memory searchMemorySize names, and no other function', () => {
    const memory = Object.fromEntries(functions().map(([name, fn]) => [name, fn.Properties.MemorySize]));
    for (const name of SEARCH_FUNCTIONS) expect([name, memory[name]]).toEqual([name, 8192]);
    const others = Object.entries(memory).filter(([name]) => !SEARCH_FUNCTIONS.includes(name));
    expect(others.length).toBeGreaterThan(5);
    for (const [name, size] of others) expect([name, (size as number) < 8192]).toEqual([name, true]);
  });

  it('gives the search functions a full vCPU by default and refuses a memory Lambda cannot give', async () => {
    const print = (params: string[]) =>
      run(process.execPath, [serverlessBin, 'print', '--stage', 'dev', '--format', 'json', ...params], {
        cwd: root,
        env: offlineEnv,
        maxBuffer: 16 * 1024 * 1024,
      });
    const { stdout } = await print([]);
    const printed = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      functions: Record<string, { memorySize: unknown }>;
    };
    for (const name of ['httpSearch', 'httpSearchBatch', 'httpRecommend']) {
      expect([name, printed.functions[name]?.memorySize]).toEqual([name, 1769]);
    }
    for (const wrong of ['12000', '1024', '2g']) {
      const failure = await print([`--param=searchMemorySize=${wrong}`]).then(
        () => 'printed',
        (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
      );
      expect(failure).toContain(`searchMemorySize "${wrong}" is not a search function memory`);
    }
  });

  it('refuses to package a Redis URL without VPC settings, saying what to add', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sls-no-vpc-'));
    try {
      const failure = await run(
        process.execPath,
        [
          serverlessBin,
          'package',
          '--stage',
          'dev',
          '--package',
          dir,
          '--param=redisUrl=rediss://default@cache:6379',
        ],
        { cwd: root, env: offlineEnv, maxBuffer: 16 * 1024 * 1024 },
      ).then(
        () => undefined,
        (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
      );
      expect(failure).toContain('the functions are not in a VPC');
      expect(failure).toContain('--param="vpcSubnetIds=');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('bundles into each function only what it imports: Redis and usearch only where a route reads snapshots', async () => {
    const ids = functions().map(([id]) => id);
    expect(ids).toEqual(expect.arrayContaining([...DYNAMODB_ONLY, ...SEARCH_FUNCTIONS]));
    for (const [id, fn] of functions()) {
      const packages = await bundledPackages(fn);
      const carries = (name: string) => packages.has(name);
      const usearch = [...(await zipFiles(zipOf(fn))).keys()].some((file) => file.includes('usearch'));
      // lru-cache is in every HTTP route: it holds the container's alias lookups (src/use-cases/aliases.ts).
      const seen = { id, ioredis: carries('ioredis'), usearch };
      if (DYNAMODB_ONLY.includes(id)) {
        expect(seen).toEqual({ id, ioredis: false, usearch: false });
        expect({ id, dynamodb: carries('@aws-sdk/lib-dynamodb') }).toEqual({ id, dynamodb: true });
      } else if (SEARCH_FUNCTIONS.includes(id)) {
        expect({ ...seen, lruCache: carries('lru-cache') }).toEqual({
          id,
          ioredis: true,
          lruCache: true,
          usearch: true,
        });
      } else {
        expect({ id, usearch }).toEqual({ id, usearch: false });
      }
    }
  });

  it('keeps the Redis password out of every environment: each function gets the name of its SSM parameter', () => {
    for (const [id, fn] of functions()) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      const secretLooking = Object.keys(variables).filter(
        (name) => /PASSWORD|SECRET|TOKEN|AUTH_KEY/.test(name) && name !== 'REDIS_PASSWORD_PARAMETER',
      );
      expect({ id, secretLooking, parameter: variables.REDIS_PASSWORD_PARAMETER }).toEqual({
        id,
        secretLooking: [],
        parameter: PASSWORD_PARAMETER,
      });
      expect(String(variables.REDIS_URL)).not.toMatch(/^rediss?:\/\/[^/@]*:[^/@]*@/);
    }
  });

  it("lets exactly the Redis users' roles read that one parameter (and decrypt it only through SSM)", () => {
    const parameterArn = {
      'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter${PASSWORD_PARAMETER}`,
    };
    expect(functions().map(([id]) => id)).toEqual(expect.arrayContaining(REDIS_USERS));
    for (const [id, fn] of functions()) {
      const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      const secretStatements = statementsOf(resources[roleId] as Resource).filter((s) =>
        actionsOf(s).some((action) => /^(ssm|kms|secretsmanager):|^\*$/.test(action)),
      );
      const expected = REDIS_USERS.includes(id)
        ? [
            { Effect: 'Allow', Action: 'ssm:GetParameter', Resource: parameterArn },
            {
              Effect: 'Allow',
              Action: 'kms:Decrypt',
              Resource: PASSWORD_KEY,
              Condition: {
                StringEquals: { 'kms:ViaService': { 'Fn::Sub': `ssm.\${AWS::Region}.amazonaws.com` } },
              },
            },
          ]
        : [];
      expect({ id, secretStatements }).toEqual({ id, secretStatements: expected });
    }
  });

  it('refuses a Redis URL that carries a password, saying where the password goes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sls-url-password-'));
    try {
      const failure = await run(
        process.execPath,
        [
          serverlessBin,
          'package',
          '--stage',
          'dev',
          '--package',
          dir,
          '--param=redisUrl=rediss://default:pw@cache:6379',
          '--param=vpcSubnetIds=subnet-a',
          '--param=vpcSecurityGroupIds=sg-1',
        ],
        { cwd: root, env: offlineEnv, maxBuffer: 16 * 1024 * 1024 },
      ).then(
        () => undefined,
        (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
      );
      expect(failure).toContain('redisUrl carries a password');
      expect(failure).toContain('--param="redisPasswordParameter=');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('ships each bundle with its source map, pointing at the TypeScript, read with --enable-source-maps', async () => {
    const report: string[] = [
      'function                         zip KB   map KB   cold require ms (maps, none)   carries',
    ];
    const dir = await mkdtemp(join(tmpdir(), 'sls-bundle-'));
    try {
      for (const [id, fn] of functions()) {
        const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
        expect({ id, options: variables.NODE_OPTIONS }).toEqual({ id, options: '--enable-source-maps' });
        const files = await zipFiles(zipOf(fn));
        const handlerFile = `${(fn.Properties.Handler as string).replace(/\.handler$/, '')}.js`;
        const map = files.get(`${handlerFile}.map`);
        expect({ id, map: map !== undefined }).toEqual({ id, map: true });
        const sources = (JSON.parse(String(map)) as { sources: string[] }).sources;
        expect(sources.some((s) => s.endsWith(handlerFile.replace(/\.js$/, '.ts')))).toBe(true);
        expect(String(files.get(handlerFile))).toMatch(/\/\/# sourceMappingURL=[\w.-]+\.js\.map\s*$/);

        const bundle = join(dir, `${id}.js`);
        await writeFile(bundle, files.get(handlerFile) as Buffer);
        await writeFile(`${bundle}.map`, map as Buffer);
        // The function's own environment, as Lambda gives it; then without source maps, for their cost.
        const env: NodeJS.ProcessEnv = {
          PATH: process.env.PATH,
          AWS_REGION: 'us-east-1',
          ...stringsOf(variables),
        };
        const { NODE_OPTIONS: _, ...withoutMaps } = env;
        const zipKb = (await stat(zipOf(fn))).size / 1024;
        report.push(
          [
            id.padEnd(32),
            zipKb.toFixed(0).padStart(6),
            ((map as Buffer).length / 1024).toFixed(0).padStart(8),
            coldRequireMs(bundle, env).toFixed(0).padStart(10),
            coldRequireMs(bundle, withoutMaps).toFixed(0).padStart(10),
            ''.padStart(8),
            ['ioredis', 'lru-cache', 'zod']
              .filter((name) => sources.some((source) => source.includes(`node_modules/${name}/`)))
              .join(','),
          ].join(' '),
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    process.stdout.write(`${report.join('\n')}\n`);
  });
});
