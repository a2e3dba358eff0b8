import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  actionsOf,
  offlineEnv,
  PACKAGE_TIMEOUT_MS,
  packageInto,
  type Resource,
  resourcesOf,
  root,
  run,
  serverlessBin,
  statementsOf,
} from './serverless-cli';

/**
 * The memory snapshot mode of a deploy (docs/deploy.md, "Modes"), in the CloudFormation `serverless
 * package` writes offline: no Redis, no VPC, no cache, SNAPSHOT_MODE=memory in every function, and the
 * change log in StreamClaims readable by the search functions alone.
 */
type Template = { Resources: Record<string, Resource> };
const ofType = (template: Template, type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);
const CHANGE_LOG_READERS = [
  'HttpSearchLambdaFunction',
  'HttpSearchBatchLambdaFunction',
  'HttpRecommendLambdaFunction',
];
const STREAM_CLAIMS = { 'Fn::GetAtt': ['StreamClaimsTable', 'Arn'] };

async function packaged(args: string[]): Promise<Template> {
  const dir = await packageInto('sls-memory-mode-', args);
  try {
    return JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The StreamClaims actions a function's role allows. */
function streamClaimsActions(template: Template, functionId: string): string[] {
  const role = template.Resources[functionId]?.Properties.Role as { 'Fn::GetAtt': [string] };
  const roleResource = template.Resources[role['Fn::GetAtt'][0]] as Resource;
  return statementsOf(roleResource)
    .filter((statement) =>
      resourcesOf(statement).some((r) => JSON.stringify(r) === JSON.stringify(STREAM_CLAIMS)),
    )
    .flatMap(actionsOf)
    .sort();
}

describe('serverless package --param="snapshots=memory"', () => {
  let template: Template;
  beforeAll(async () => {
    template = await packaged(['--param=snapshots=memory', '--param=redis=none']);
  }, PACKAGE_TIMEOUT_MS);

  it('creates no cache, no VPC and no network resource, and puts no function in a VPC', () => {
    const kinds = Object.values(template.Resources).map((r) => r.Type);
    expect(
      kinds.filter((kind) => kind.startsWith('AWS::ElastiCache::') || kind.startsWith('AWS::EC2::')),
    ).toEqual([]);
    for (const [, fn] of ofType(template, 'AWS::Lambda::Function'))
      expect(fn.Properties.VpcConfig).toBeUndefined();
  });

  it('sets SNAPSHOT_MODE=memory and no Redis variable in every function', () => {
    const functions = ofType(template, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThan(10);
    for (const [id, fn] of functions) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect([
        id,
        variables.SNAPSHOT_MODE,
        variables.REDIS_URL,
        variables.REDIS_PASSWORD_PARAMETER ?? '',
      ]).toEqual([id, 'memory', undefined, '']);
    }
  });

  it('lets the search functions read the change log and nothing more; the stream handler writes it', () => {
    for (const [id] of ofType(template, 'AWS::Lambda::Function')) {
      const actions = streamClaimsActions(template, id);
      if (CHANGE_LOG_READERS.includes(id)) expect([id, actions]).toEqual([id, ['dynamodb:BatchGetItem']]);
      else if (id === 'StreamSyncLambdaFunction') expect(actions).toContain('dynamodb:PutItem');
      else if (id !== 'DoctorLambdaFunction') expect([id, actions]).toEqual([id, []]);
    }
  });
});

describe('serverless print with bad memory-mode settings', () => {
  const failureOf = (args: string[]) =>
    run(process.execPath, [serverlessBin, 'print', '--stage', 'dev', '--format', 'json', ...args], {
      cwd: root,
      env: offlineEnv,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      () => 'printed',
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
    );

  it(
    'refuses an unknown snapshot mode, and a created cache or VPC settings with snapshots=memory',
    async () => {
      expect(await failureOf(['--param=snapshots=disk'])).toContain('give redis or memory');
      expect(await failureOf(['--param=snapshots=memory', '--param=redis=create'])).toContain(
        'uses no Redis and no VPC',
      );
    },
    PACKAGE_TIMEOUT_MS * 2,
  );
});
