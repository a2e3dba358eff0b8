/**
 * The roles of serverless.yml's functions, for the plugins that grant them something at package time. The
 * roles are serverless.yml's own resources, merged into the template after `before:package:finalize`, so a
 * role is looked up in the compiled template and then among `resources.Resources`.
 */

/** The logical id of function `name` in the template. */
function functionIdOf(serverless, name) {
  return serverless.getProvider('aws').naming.getLambdaLogicalId(name);
}

/** The role resource of function `name`, or undefined when it has none of its own. */
function roleOf(serverless, name) {
  const service = serverless.service;
  const resources = service.provider.compiledCloudFormationTemplate.Resources;
  const role = resources[functionIdOf(serverless, name)]?.Properties?.Role;
  const roleId = role?.['Fn::GetAtt']?.[0] ?? role?.Ref;
  if (roleId === undefined) return undefined;
  return resources[roleId] ?? service.resources?.Resources?.[roleId];
}

/**
 * The role of each function that the setting `setting` (e.g. `custom.redisPassword.functions`) lists, for
 * `purpose` (e.g. "to grant the Redis password to").
 * @throws Error naming the setting for a name that is no function, or a function without a role of its own.
 */
function listedRoles(serverless, setting, names, purpose) {
  const known = serverless.service.getAllFunctions();
  return names.map((name) => {
    if (!known.includes(name)) {
      throw new Error(`${setting} names "${name}", which is not a function in serverless.yml`);
    }
    const role = roleOf(serverless, name);
    if (role === undefined) {
      throw new Error(`function "${name}" has no role of its own in serverless.yml ${purpose}`);
    }
    return { name, role };
  });
}

/** Sets the role's inline policy `policyName` to `statements`, replacing one of that name. */
function putInlinePolicy(role, policyName, statements) {
  const policies = role.Properties.Policies ?? [];
  role.Properties.Policies = [
    ...policies.filter((policy) => policy.PolicyName !== policyName),
    { PolicyName: policyName, PolicyDocument: { Version: '2012-10-17', Statement: statements } },
  ];
}

module.exports = { functionIdOf, roleOf, listedRoles, putInlinePolicy };
