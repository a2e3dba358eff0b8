/**
 * Least privilege for the memory snapshot mode (`--param="snapshots=memory"`): the search functions in
 * `custom.memorySnapshots.functions` catch their held copies up from the change log the stream handler
 * keeps in StreamClaims, so each of their roles gets `dynamodb:BatchGetItem` on that table, and nothing
 * more. In the Redis modes no search role can read it.
 */
class MemoryModePlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.grant() };
  }

  grant() {
    const service = this.serverless.service;
    const { enabled, functions = [] } = service.custom.memorySnapshots ?? {};
    if (enabled !== true) return;
    const naming = this.serverless.getProvider('aws').naming;
    const resources = service.provider.compiledCloudFormationTemplate.Resources;
    // The roles are serverless.yml's own resources, merged into the template after this hook.
    const ownResources = service.resources?.Resources ?? {};
    for (const name of functions) {
      if (!service.getAllFunctions().includes(name)) {
        throw new Error(
          `custom.memorySnapshots.functions names "${name}", which is not a function in serverless.yml`,
        );
      }
      const role = resources[naming.getLambdaLogicalId(name)]?.Properties?.Role;
      const roleId = role?.['Fn::GetAtt']?.[0] ?? role?.Ref;
      const roleResource = roleId === undefined ? undefined : (resources[roleId] ?? ownResources[roleId]);
      if (roleResource === undefined) {
        throw new Error(
          `function "${name}" has no role of its own in serverless.yml to grant the change log to`,
        );
      }
      const policies = roleResource.Properties.Policies ?? [];
      roleResource.Properties.Policies = [
        ...policies.filter((policy) => policy.PolicyName !== 'change-log'),
        {
          PolicyName: 'change-log',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'dynamodb:BatchGetItem',
                Resource: { 'Fn::GetAtt': ['StreamClaimsTable', 'Arn'] },
              },
            ],
          },
        },
      ];
    }
  }
}

module.exports = MemoryModePlugin;
