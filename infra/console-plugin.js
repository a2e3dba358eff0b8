/**
 * A local Serverless plugin: builds the console page (console/build.ts -> console/dist/index.html) before
 * serverless-esbuild packages the functions, so `serverless package` and `serverless deploy` always ship
 * the page the httpConsole function serves (its package patterns name the file). Listed before
 * serverless-esbuild in serverless.yml: hooks of one event run in plugin order.
 */
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

class ConsolePlugin {
  constructor(serverless) {
    const serviceDir = serverless.serviceDir ?? serverless.config.servicePath;
    const build = () => {
      execFileSync(process.execPath, [require.resolve('tsx/cli'), join(serviceDir, 'console', 'build.ts')], {
        cwd: serviceDir,
        stdio: 'inherit',
      });
    };
    this.hooks = {
      'before:package:createDeploymentArtifacts': build,
      'before:deploy:function:packageFunction': build,
    };
  }
}

module.exports = ConsolePlugin;
