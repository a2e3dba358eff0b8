import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors';
import {
  defaultStreamSettings,
  loadStreamSettings,
  parseServerlessYaml,
  resolveStreamSettings,
  streamSettingsFromServerless,
  unsupportedStreamSettings,
} from '../../tools/local/stream-settings';

const yml = (stream: string, extra = '') => `
service: s
provider:
  name: aws
  timeout: 20
  region: \${opt:region, 'us-east-1'}
functions:
  other:
    handler: h.other
  sync:
    handler: h.sync
${extra}
    events:
      - sqs:
          arn: !GetAtt Queue.Arn
      - stream:
${stream}
resources:
  Resources:
    Q:
      Properties:
        Name: !Sub '\${AWS::StackName}-q'
        List: !Join [',', [a, b]]
`;

function settingsOf(stream: string, extra = '') {
  return streamSettingsFromServerless(parseServerlessYaml(yml(stream, extra)), 'sync');
}

describe('stream settings from serverless.yml', () => {
  it('reads every setting Lambda honours, despite CloudFormation tags and variables elsewhere', () => {
    const settings = settingsOf(
      `          type: dynamodb
          arn: !GetAtt Table.StreamArn
          startingPosition: LATEST
          batchSize: 25
          batchWindow: 3
          bisectBatchOnFunctionError: true
          maximumRetryAttempts: 4
          maximumRecordAgeInSeconds: 120
          functionResponseType: ReportBatchItemFailures
          destinations:
            onFailure:
              type: sqs
              arn: !GetAtt Dlq.Arn`,
      '    timeout: 45',
    );
    expect(settings).toEqual({
      batchSize: 25,
      maximumBatchingWindow: 3,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 4,
      maximumRecordAgeInSeconds: 120,
      functionResponseType: 'ReportBatchItemFailures',
      startingPosition: 'LATEST',
      onFailureDestination: '!GetAtt Dlq.Arn',
      functionTimeoutSeconds: 45,
    });
  });

  it("fills in Lambda's defaults and the provider's timeout", () => {
    const settings = settingsOf('          arn: arn:aws:dynamodb:us-east-1:1:table/T/stream/x');
    expect(settings).toEqual({ ...defaultStreamSettings, functionTimeoutSeconds: 20 });
  });

  it('accepts the stream given as a bare ARN string', () => {
    const parsed = parseServerlessYaml(
      'functions:\n  sync:\n    handler: h\n    events:\n      - stream: arn:aws:dynamodb:us-east-1:1:table/T/stream/x\n',
    );
    expect(streamSettingsFromServerless(parsed, 'sync').batchSize).toBe(100);
  });

  it('reads maximumBatchingWindow as well as batchWindow, and refuses the two disagreeing', () => {
    expect(
      settingsOf('          type: dynamodb\n          maximumBatchingWindow: 2').maximumBatchingWindow,
    ).toBe(2);
    expect(() =>
      settingsOf('          type: dynamodb\n          maximumBatchingWindow: 2\n          batchWindow: 5'),
    ).toThrow(/batchWindow: 5 and maximumBatchingWindow: 2/);
  });

  it('names the setting that is still a variable', () => {
    const variable = ['$', '{self:custom.size}'].join('');
    expect(() => settingsOf(`          type: dynamodb\n          batchSize: ${variable}`)).toThrow(
      /functions\.sync\.events\[1\]\.stream\.batchSize is the variable/,
    );
  });

  it("names the setting that is out of Lambda's range", () => {
    expect(() => settingsOf('          type: dynamodb\n          batchSize: 0')).toThrow(ConfigError);
    expect(() => settingsOf('          type: dynamodb\n          maximumRecordAgeInSeconds: 30')).toThrow(
      /maximumRecordAgeInSeconds: must be -1 or between 60 and 604800/,
    );
  });

  it('says when the function or its stream event is missing', () => {
    const parsed = parseServerlessYaml(yml('          type: dynamodb'));
    expect(() => streamSettingsFromServerless(parsed, 'nope')).toThrow(
      /no function "nope" \(functions: other, sync\)/,
    );
    expect(() => streamSettingsFromServerless(parsed, 'other')).toThrow(
      /functions.other has no DynamoDB stream event/,
    );
  });

  it('lists the settings it does not emulate', () => {
    const parsed = parseServerlessYaml(
      yml(
        '          type: dynamodb\n          filterPatterns:\n            - eventName: [INSERT]\n          parallelizationFactor: 2',
      ),
    );
    expect(unsupportedStreamSettings(parsed, 'sync')).toEqual(['filterPatterns', 'parallelizationFactor']);
  });

  it('loads a file, and says which file it could not read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'settings-'));
    const path = join(dir, 'serverless.yml');
    await writeFile(path, yml('          type: dynamodb\n          batchSize: 7'));
    expect((await loadStreamSettings(path, 'sync')).batchSize).toBe(7);
    await expect(loadStreamSettings(join(dir, 'missing.yml'), 'sync')).rejects.toThrow(
      /Cannot read .*missing\.yml/,
    );
  });

  it('validates explicit settings too', () => {
    expect(resolveStreamSettings({ batchSize: 5 }).batchSize).toBe(5);
    expect(() => resolveStreamSettings({ maximumRetryAttempts: -2 })).toThrow(/maximumRetryAttempts/);
  });
});
