import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  offlineEnv,
  PACKAGE_TIMEOUT_MS,
  packageInto,
  type Resource,
  root,
  run,
  serverlessBin,
} from './serverless-cli';

/**
 * The Redis modes of a deploy (docs/deploy.md, "Modes"), in the CloudFormation `serverless package` writes
 * offline: `redis=create` builds an ElastiCache Serverless cache and the least network its users need
 * (private subnets, a DynamoDB gateway endpoint, no NAT gateway, no interface endpoint), puts only the
 * Redis users in it, and lets the cache take connections from them alone; `redis=none` has no Redis, no
 * VPC and no REDIS_URL anywhere.
 */
const REDIS_USERS = [
  'StreamSyncLambdaFunction',
  'HttpSearchLambdaFunction',
  'HttpSearchBatchLambdaFunction',
  'HttpRecommendLambdaFunction',
  'HttpListBotsLambdaFunction',
  'HttpCheckBotLambdaFunction',
];
const VPC_ACCESS = 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole';
/** CloudFormation substitutions, written as CloudFormation spells them (not JavaScript templates). */
const CACHE_URL = {
  'Fn::Sub': ['rediss://$', '{SnapshotCache.Endpoint.Address}:$', '{SnapshotCache.Endpoint.Port}'].join(''),
};
const DYNAMODB_SERVICE = { 'Fn::Sub': ['com.amazonaws.$', '{AWS::Region}.dynamodb'].join('') };
/** The properties of resource `id`. */
const propertiesOf = (template: Template, id: string): Record<string, unknown> => {
  const resource = template.Resources[id];
  if (resource === undefined) throw new Error(`the template has no resource ${id}`);
  return resource.Properties;
};

type Template = { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };
const ofType = (template: Template, type: string) =>
  Object.entries(template.Resources).filter(([, r]) => r.Type === type);

async function packaged(args: string[]): Promise<Template> {
  const dir = await packageInto('sls-redis-mode-', args);
  try {
    return JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('serverless package --param="redis=create"', () => {
  let template: Template;
  beforeAll(async () => {
    template = await packaged(['--param=redis=create']);
  }, PACKAGE_TIMEOUT_MS);

  it('creates one Valkey ElastiCache Serverless cache in two private subnets of different zones', () => {
    const caches = ofType(template, 'AWS::ElastiCache::ServerlessCache');
    expect(caches).toHaveLength(1);
    const cache = caches[0]?.[1].Properties as { Engine: string; SubnetIds: { Ref: string }[] };
    expect(cache.Engine).toBe('valkey');
    const zones = cache.SubnetIds.map((subnet) => propertiesOf(template, subnet.Ref).AvailabilityZone);
    expect(zones).toEqual([
      { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] },
      { 'Fn::Select': [1, { 'Fn::GetAZs': '' }] },
    ]);
    for (const [, subnet] of ofType(template, 'AWS::EC2::Subnet')) {
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
    }
  });

  it('reaches DynamoDB through a gateway endpoint: no NAT gateway, no internet gateway, no interface endpoint', () => {
    const endpoints = ofType(template, 'AWS::EC2::VPCEndpoint').map(([, e]) => e.Properties);
    expect(endpoints).toEqual([
      expect.objectContaining({
        VpcEndpointType: 'Gateway',
        ServiceName: DYNAMODB_SERVICE,
      }),
    ]);
    expect(ofType(template, 'AWS::EC2::NatGateway')).toEqual([]);
    expect(ofType(template, 'AWS::EC2::InternetGateway')).toEqual([]);
  });

  it('puts exactly the Redis users in the VPC, with REDIS_URL naming the cache over TLS', () => {
    const functions = ofType(template, 'AWS::Lambda::Function');
    const inVpc = functions.filter(([, fn]) => fn.Properties.VpcConfig !== undefined).map(([id]) => id);
    expect(inVpc.sort()).toEqual([...REDIS_USERS].sort());
    for (const [id, fn] of functions) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      if (REDIS_USERS.includes(id)) {
        expect(variables.REDIS_URL).toEqual(CACHE_URL);
        expect(variables.REDIS_PASSWORD_PARAMETER ?? '').toBe('');
      } else {
        expect(variables.REDIS_URL).toBeUndefined();
      }
    }
  });

  it('gives the VPC rights to the Redis users’ roles only, and opens the cache to their security group only', () => {
    for (const [id, fn] of ofType(template, 'AWS::Lambda::Function')) {
      const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      const policies = (template.Resources[roleId]?.Properties.ManagedPolicyArns ?? []) as string[];
      expect([id, policies.includes(VPC_ACCESS)]).toEqual([id, REDIS_USERS.includes(id)]);
    }
    const [[cacheId] = ['none']] = ofType(template, 'AWS::ElastiCache::ServerlessCache');
    const [cacheGroup] = propertiesOf(template, cacheId).SecurityGroupIds as { Ref: string }[];
    const ingress = propertiesOf(template, cacheGroup?.Ref ?? 'none').SecurityGroupIngress;
    const vpcConfigs = REDIS_USERS.map(
      (id) => propertiesOf(template, id).VpcConfig as { SecurityGroupIds: unknown[] },
    );
    expect(new Set(vpcConfigs.map((config) => JSON.stringify(config))).size).toBe(1);
    const functionGroup = vpcConfigs[0]?.SecurityGroupIds[0];
    expect(ingress).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 6379,
        ToPort: 6379,
        SourceSecurityGroupId: functionGroup,
      }),
    ]);
  });

  it('writes the cache URL to the stage’s SSM parameter and the stack outputs', () => {
    const parameters = ofType(template, 'AWS::SSM::Parameter').map(([, p]) => p.Properties);
    expect(parameters).toContainEqual(
      expect.objectContaining({ Name: '/ddb-vector-sync/dev/redis-url', Type: 'String' }),
    );
    expect(template.Outputs.SnapshotRedisUrl?.Value).toEqual(CACHE_URL);
  });
});

describe('serverless print --param="redis=none" and bad Redis settings', () => {
  const print = (args: string[]) =>
    run(process.execPath, [serverlessBin, 'print', '--stage', 'dev', '--format', 'json', ...args], {
      cwd: root,
      env: offlineEnv,
      maxBuffer: 16 * 1024 * 1024,
    });
  const failureOf = (args: string[]) =>
    print(args).then(
      () => 'printed',
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
    );

  it(
    'has no Redis URL and no VPC with redis=none',
    async () => {
      const { stdout } = await print(['--param=redis=none']);
      const config = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
        provider: { environment: Record<string, unknown>; vpc?: unknown };
        custom: { redisCreate: { enabled: boolean } };
      };
      // Serverless v3 drops a property whose value is null from the template.
      expect(config.provider.environment.REDIS_URL ?? null).toBeNull();
      expect(config.provider.vpc ?? null).toBeNull();
      expect(config.custom.redisCreate.enabled).toBe(false);
    },
    PACKAGE_TIMEOUT_MS,
  );

  it(
    'refuses an unknown mode, VPC settings with redis=create, and a password with a created cache',
    async () => {
      expect(await failureOf(['--param=redis=elasticache'])).toContain('give url, create or none');
      expect(
        await failureOf([
          '--param=redis=create',
          '--param=vpcSubnetIds=subnet-1',
          '--param=vpcSecurityGroupIds=sg-1',
        ]),
      ).toContain('leave out vpcSubnetIds');
      expect(
        await failureOf(['--param=redis=create', '--param=redisPasswordParameter=/x/redis-password']),
      ).toContain('takes no password');
    },
    PACKAGE_TIMEOUT_MS * 2,
  );
});
