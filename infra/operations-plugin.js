const { putInlinePolicy, roleOf } = require('./function-roles');

/**
 * What an on-call engineer needs of every function, added to the compiled template so that no function
 * (present or added later) is left out:
 *
 * - an alarm on its Lambda `Errors` and one on its `Throttles` (to the AlarmTopic, like every alarm);
 * - alarms on the HTTP API's 5xx count and p99 latency;
 * - with `--param="tracing=true"` (the default in prod), the X-Ray write actions on each function's own
 *   role (serverless.yml turns on active tracing; the framework grants those actions only to its shared
 *   role, which this service does not use).
 *
 * Thresholds come from `custom.operations` in serverless.yml (deploy parameters).
 */

class OperationsPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.addToTemplate() };
  }

  addToTemplate() {
    const service = this.serverless.service;
    const settings = service.custom.operations;
    const naming = service.provider.getNaming
      ? service.provider.getNaming()
      : this.serverless.getProvider('aws').naming;
    const resources = service.provider.compiledCloudFormationTemplate.Resources;
    const stack = `${service.service}-${this.serverless.getProvider('aws').getStage()}`;
    for (const name of service.getAllFunctions()) {
      const functionId = naming.getLambdaLogicalId(name);
      Object.assign(resources, functionAlarms(functionId, name, stack, settings));
      // The roles are serverless.yml's own resources, merged into the template after this hook.
      if (isOn(settings.tracing)) grantTracing(roleOf(this.serverless, name));
    }
    if (resources.HttpApi !== undefined) Object.assign(resources, apiAlarms(stack, settings));
  }
}

function isOn(value) {
  return value === true || value === 'true';
}

const common = {
  ComparisonOperator: 'GreaterThanThreshold',
  TreatMissingData: 'notBreaching',
  AlarmActions: [{ Ref: 'AlarmTopic' }],
};

function functionAlarms(functionId, name, stack, settings) {
  const alarm = (metric, threshold, what) => ({
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmDescription: `${stack} ${name}: ${what}`,
      Namespace: 'AWS/Lambda',
      MetricName: metric,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: Number(threshold),
      ...common,
    },
  });
  return {
    [`${functionId}ErrorsAlarm`]: alarm(
      'Errors',
      settings.functionErrorsThreshold,
      `more than ${settings.functionErrorsThreshold} invocation error(s) in 5 minutes (the function threw or timed out)`,
    ),
    [`${functionId}ThrottlesAlarm`]: alarm(
      'Throttles',
      settings.functionThrottlesThreshold,
      `more than ${settings.functionThrottlesThreshold} throttled invocation(s) in 5 minutes (concurrency limit)`,
    ),
  };
}

function apiAlarms(stack, settings) {
  const api = [{ Name: 'ApiId', Value: { Ref: 'HttpApi' } }];
  return {
    HttpApiServerErrorsAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription: `${stack} HTTP API: more than ${settings.apiServerErrorsThreshold} 5xx answer(s) in 5 minutes`,
        Namespace: 'AWS/ApiGateway',
        MetricName: '5xx',
        Dimensions: api,
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: Number(settings.apiServerErrorsThreshold),
        ...common,
      },
    },
    // Three 5-minute periods: one slow cold start does not page anyone.
    HttpApiP99LatencyAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmDescription: `${stack} HTTP API: p99 latency above ${settings.apiP99LatencyMs} ms for 15 minutes`,
        Namespace: 'AWS/ApiGateway',
        MetricName: 'Latency',
        Dimensions: api,
        ExtendedStatistic: 'p99',
        Period: 300,
        EvaluationPeriods: 3,
        Threshold: Number(settings.apiP99LatencyMs),
        ...common,
      },
    },
  };
}

/** X-Ray accepts segments only on "*": these two actions write traces and read no data. */
function grantTracing(role) {
  if (role === undefined) return;
  putInlinePolicy(role, 'xray-tracing', [
    { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
  ]);
}

module.exports = OperationsPlugin;
