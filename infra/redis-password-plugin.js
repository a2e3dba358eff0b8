/**
 * Least privilege for the Redis password: when `--param="redisPasswordParameter=..."` names the SSM
 * SecureString that holds it, the role of each function in `custom.redisPassword.functions` (those that send
 * Redis commands) gets `ssm:GetParameter` on that one parameter, plus `kms:Decrypt` on the customer key
 * (`redisPasswordKmsKeyArn`) only when called through SSM. No other role can read it.
 */
class RedisPasswordPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.grant() };
  }

  grant() {
    const service = this.serverless.service;
    const { parameter, kmsKeyArn, functions = [] } = service.custom.redisPassword ?? {};
    if (!parameter) return;
    const naming = this.serverless.getProvider('aws').naming;
    const resources = service.provider.compiledCloudFormationTemplate.Resources;
    // The roles are serverless.yml's own resources, merged into the template after this hook.
    const ownResources = service.resources?.Resources ?? {};
    for (const name of functions) {
      if (!service.getAllFunctions().includes(name)) {
        throw new Error(
          `custom.redisPassword.functions names "${name}", which is not a function in serverless.yml`,
        );
      }
      const role = resources[naming.getLambdaLogicalId(name)]?.Properties?.Role;
      const roleId = role?.['Fn::GetAtt']?.[0] ?? role?.Ref;
      const roleResource = roleId === undefined ? undefined : (resources[roleId] ?? ownResources[roleId]);
      if (roleResource === undefined) {
        throw new Error(
          `function "${name}" has no role of its own in serverless.yml to grant the Redis password to`,
        );
      }
      const policies = roleResource.Properties.Policies ?? [];
      roleResource.Properties.Policies = [
        ...policies.filter((policy) => policy.PolicyName !== 'redis-password'),
        {
          PolicyName: 'redis-password',
          PolicyDocument: { Version: '2012-10-17', Statement: statements(parameter, kmsKeyArn) },
        },
      ];
    }
  }
}

function statements(parameter, kmsKeyArn) {
  // A parameter's ARN joins "parameter" and its name with one slash, whether or not the name is a path.
  const name = parameter.replace(/^\//, '');
  const read = {
    Effect: 'Allow',
    Action: 'ssm:GetParameter',
    Resource: {
      'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/${name}`,
    },
  };
  if (!kmsKeyArn) return [read];
  return [
    read,
    {
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: kmsKeyArn,
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Sub': `ssm.\${AWS::Region}.amazonaws.com` } } },
    },
  ];
}

module.exports = RedisPasswordPlugin;
