const { listedRoles, putInlinePolicy } = require('./function-roles');

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
    const { enabled, functions = [] } = this.serverless.service.custom.memorySnapshots ?? {};
    if (enabled !== true) return;
    const roles = listedRoles(
      this.serverless,
      'custom.memorySnapshots.functions',
      functions,
      'to grant the change log to',
    );
    for (const { role } of roles) {
      putInlinePolicy(role, 'change-log', [
        {
          Effect: 'Allow',
          Action: 'dynamodb:BatchGetItem',
          Resource: { 'Fn::GetAtt': ['StreamClaimsTable', 'Arn'] },
        },
      ]);
    }
  }
}

module.exports = MemoryModePlugin;
