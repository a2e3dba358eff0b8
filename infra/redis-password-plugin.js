const { listedRoles, putInlinePolicy } = require('./function-roles');

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
    const { parameter, kmsKeyArn, functions = [] } = this.serverless.service.custom.redisPassword ?? {};
    if (!parameter) return;
    const roles = listedRoles(
      this.serverless,
      'custom.redisPassword.functions',
      functions,
      'to grant the Redis password to',
    );
    for (const { role } of roles) putInlinePolicy(role, 'redis-password', statements(parameter, kmsKeyArn));
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
