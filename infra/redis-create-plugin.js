const { functionIdOf, listedRoles } = require('./function-roles');

/**
 * `--param="redis=create"`: the stack creates the Redis the snapshot needs, and only what it needs.
 *
 * - An ElastiCache Serverless cache (Valkey; serverless caches always encrypt in transit, so the URL is
 *   rediss://) in two private subnets of a VPC of its own, reachable on 6379 only from the functions'
 *   security group. It takes no password: the security group is the access control, so no function needs
 *   SSM at run time.
 * - The functions that send Redis commands (`custom.redisPassword.functions`, but those named in
 *   `custom.redisCreate.outside`) join that VPC with REDIS_URL pointing at the cache; every other function
 *   stays outside it and reaches SQS and DynamoDB as usual.
 * - A DynamoDB gateway endpoint (free) on the subnets' route table gives the VPC functions DynamoDB. They
 *   need nothing else: stream on-failure records are sent by the Lambda service, and logs and traces leave
 *   through Lambda itself. So no NAT gateway and no interface endpoint.
 * - An SSM parameter `/ddb-vector-sync/<stage>/redis-url` holding the cache's URL, for tools that run
 *   inside the VPC.
 */
const CACHE = 'SnapshotCache';
const VPC = 'SnapshotVpc';
const SUBNETS = ['SnapshotSubnetA', 'SnapshotSubnetB'];
const ROUTE_TABLE = 'SnapshotRouteTable';
const FUNCTIONS_GROUP = 'SnapshotFunctionsSecurityGroup';
const CACHE_GROUP = 'SnapshotCacheSecurityGroup';
const VPC_ACCESS_POLICY = 'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole';

class RedisCreatePlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.create() };
  }

  create() {
    const service = this.serverless.service;
    const { enabled, outside = [] } = service.custom.redisCreate ?? {};
    if (!enabled) return;
    const functions = (service.custom.redisPassword?.functions ?? []).filter(
      (name) => !outside.includes(name),
    );
    const stage = service.provider.stage;
    const resources = service.provider.compiledCloudFormationTemplate.Resources;
    Object.assign(resources, network(), cache(service.service, stage));
    const roles = listedRoles(
      this.serverless,
      'custom.redisCreate.functions',
      functions,
      'to join the VPC with',
    );
    for (const { name, role } of roles) {
      const fn = resources[functionIdOf(this.serverless, name)];
      fn.Properties.VpcConfig = {
        SecurityGroupIds: [{ Ref: FUNCTIONS_GROUP }],
        SubnetIds: SUBNETS.map((subnet) => ({ Ref: subnet })),
      };
      fn.Properties.Environment.Variables.REDIS_URL = redisUrl();
      // The ENI rights Lambda needs to place the function in the subnets (ec2 actions, no data access).
      const policies = role.Properties.ManagedPolicyArns ?? [];
      role.Properties.ManagedPolicyArns = [...new Set([...policies, VPC_ACCESS_POLICY])];
    }
    resources.SnapshotRedisUrlParameter = {
      Type: 'AWS::SSM::Parameter',
      Properties: { Name: `/${service.service}/${stage}/redis-url`, Type: 'String', Value: redisUrl() },
    };
    const outputs = service.provider.compiledCloudFormationTemplate.Outputs;
    outputs.SnapshotRedisUrl = {
      Description: 'The snapshot cache (ElastiCache Serverless, Valkey)',
      Value: redisUrl(),
    };
  }
}

function redisUrl() {
  return { 'Fn::Sub': `rediss://\${${CACHE}.Endpoint.Address}:\${${CACHE}.Endpoint.Port}` };
}

function network() {
  const subnet = (index, cidr) => ({
    Type: 'AWS::EC2::Subnet',
    Properties: {
      VpcId: { Ref: VPC },
      CidrBlock: cidr,
      AvailabilityZone: { 'Fn::Select': [index, { 'Fn::GetAZs': '' }] },
      MapPublicIpOnLaunch: false,
    },
  });
  return {
    [VPC]: {
      Type: 'AWS::EC2::VPC',
      Properties: { CidrBlock: '10.42.0.0/16', EnableDnsSupport: true, EnableDnsHostnames: true },
    },
    [SUBNETS[0]]: subnet(0, '10.42.0.0/20'),
    [SUBNETS[1]]: subnet(1, '10.42.16.0/20'),
    [ROUTE_TABLE]: { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: { Ref: VPC } } },
    ...Object.fromEntries(
      SUBNETS.map((name) => [
        `${name}RouteTableAssociation`,
        {
          Type: 'AWS::EC2::SubnetRouteTableAssociation',
          Properties: { SubnetId: { Ref: name }, RouteTableId: { Ref: ROUTE_TABLE } },
        },
      ]),
    ),
    SnapshotDynamoDbEndpoint: {
      Type: 'AWS::EC2::VPCEndpoint',
      Properties: {
        VpcId: { Ref: VPC },
        VpcEndpointType: 'Gateway',
        ServiceName: { 'Fn::Sub': `com.amazonaws.\${AWS::Region}.dynamodb` },
        RouteTableIds: [{ Ref: ROUTE_TABLE }],
      },
    },
    [FUNCTIONS_GROUP]: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'Functions that read and write the snapshot cache',
        VpcId: { Ref: VPC },
        SecurityGroupEgress: [
          { IpProtocol: '-1', CidrIp: '0.0.0.0/0', Description: 'Redis and the DynamoDB endpoint' },
        ],
      },
    },
    [CACHE_GROUP]: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: {
        GroupDescription: 'The snapshot cache: Redis from the snapshot functions only',
        VpcId: { Ref: VPC },
        SecurityGroupIngress: [
          {
            IpProtocol: 'tcp',
            FromPort: 6379,
            ToPort: 6379,
            SourceSecurityGroupId: { Ref: FUNCTIONS_GROUP },
            Description: 'Redis from the snapshot functions',
          },
        ],
      },
    },
  };
}

function cache(service, stage) {
  return {
    [CACHE]: {
      Type: 'AWS::ElastiCache::ServerlessCache',
      Properties: {
        // At most 40 characters: lower-case letters, digits and hyphens.
        ServerlessCacheName: `${service}-${stage}`
          .toLowerCase()
          .replace(/[^a-z0-9-]/g, '-')
          .slice(0, 40),
        Engine: 'valkey',
        Description: 'Per-bot vector snapshots of ddb-vector-sync',
        SecurityGroupIds: [{ Ref: CACHE_GROUP }],
        SubnetIds: SUBNETS.map((subnet) => ({ Ref: subnet })),
      },
    },
  };
}

module.exports = RedisCreatePlugin;
