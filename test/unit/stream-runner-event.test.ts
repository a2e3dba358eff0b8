import { DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas';
import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { toLambdaAttributeValue, toLambdaRecord } from '../../src/adapters/dynamodb/lambda-stream-record';
import { bufferRecord, buildEvent, payloadBytes } from '../../tools/local/stream-event';

const streamArn = 'arn:aws:dynamodb:ddblocal:000000000000:table/T/stream/2026-01-01T00:00:00.000';

function sdkRecord(overrides: Partial<_Record> = {}): _Record {
  return {
    eventID: 'e-1',
    eventName: 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      ApproximateCreationDateTime: new Date('2026-01-01T10:00:59.900Z'),
      Keys: { pk: { S: 'a' } },
      NewImage: {
        pk: { S: 'a' },
        blob: { B: new Uint8Array([0, 1, 2, 255]) },
        blobs: { BS: [new Uint8Array([1]), new Uint8Array([2, 3])] },
        list: {
          L: [{ B: new Uint8Array([4, 5]) }, { N: '1.5' }, { M: { inner: { BS: [new Uint8Array([6])] } } }],
        },
        flags: {
          M: { on: { BOOL: true }, none: { NULL: true }, names: { SS: ['x'] }, nums: { NS: ['1', '2'] } },
        },
      },
      OldImage: { pk: { S: 'a' }, blob: { B: new Uint8Array([9]) } },
      SequenceNumber: '000000000000000000042',
      SizeBytes: 77,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    ...overrides,
  };
}

describe('stream records as Lambda delivers them', () => {
  it('carries the stream ARN, version 1.1 and the creation time in whole seconds', () => {
    const record = toLambdaRecord(sdkRecord(), streamArn, 'us-east-1');
    expect(record).toMatchObject({
      eventID: 'e-1',
      eventName: 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      eventSourceARN: streamArn,
    });
    expect(record.dynamodb?.ApproximateCreationDateTime).toBe(Date.parse('2026-01-01T10:00:59Z') / 1000);
    expect(record.dynamodb?.SequenceNumber).toBe('000000000000000000042');
    expect(record.dynamodb?.SizeBytes).toBe(77);
  });

  it('writes Binary values as base64, also inside lists, maps and binary sets', () => {
    const image = toLambdaRecord(sdkRecord(), streamArn, 'us-east-1').dynamodb?.NewImage;
    expect(image?.blob).toEqual({ B: 'AAEC/w==' });
    expect(image?.blobs).toEqual({ BS: ['AQ==', 'AgM='] });
    expect(image?.list).toEqual({ L: [{ B: 'BAU=' }, { N: '1.5' }, { M: { inner: { BS: ['Bg=='] } } }] });
    expect(image?.flags).toEqual({
      M: { on: { BOOL: true }, none: { NULL: true }, names: { SS: ['x'] }, nums: { NS: ['1', '2'] } },
    });
    expect(toLambdaRecord(sdkRecord(), streamArn, 'us-east-1').dynamodb?.OldImage?.blob).toEqual({
      B: 'CQ==',
    });
  });

  it('turns the empty map that the Streams client hands over as {} back into an empty M', () => {
    // What @aws-sdk/client-dynamodb-streams returns for an item stored with metadata = {} and tags = [].
    const sdkImage = { metadata: {}, tags: { L: [] } } as unknown as Parameters<
      typeof toLambdaAttributeValue
    >[0];
    expect(toLambdaAttributeValue({ M: sdkImage as never })).toEqual({
      M: { metadata: { M: {} }, tags: { L: [] } },
    });
  });

  it('keeps the order of the keys Lambda uses and no image that the record lacks', () => {
    const record = toLambdaRecord(
      sdkRecord({ eventName: 'REMOVE', dynamodb: { ...sdkRecord().dynamodb, NewImage: undefined } }),
      streamArn,
      'us-east-1',
    );
    expect(Object.keys(record)).toEqual([
      'eventID',
      'eventName',
      'eventVersion',
      'eventSource',
      'awsRegion',
      'dynamodb',
      'eventSourceARN',
    ]);
    expect(record.dynamodb).not.toHaveProperty('NewImage');
  });

  it('passes on the service identity of a TTL deletion', () => {
    const record = toLambdaRecord(
      sdkRecord({ userIdentity: { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' } }),
      streamArn,
      'us-east-1',
    );
    expect(record.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
  });

  it('builds events that Powertools parser accepts as a DynamoDB stream event', () => {
    const records = [sdkRecord(), sdkRecord({ eventID: 'e-2', eventName: 'INSERT' })].map((r) =>
      bufferRecord(r, streamArn, 'us-east-1'),
    );
    const event = buildEvent(records);
    const parsed = DynamoDBStreamSchema.parse(event);
    expect(parsed.Records).toHaveLength(2);
    expect(parsed.Records[0]?.dynamodb.NewImage?.pk).toBe('a');
    expect(payloadBytes(records)).toBe(Buffer.byteLength(JSON.stringify(event)));
  });

  it('gives every invocation its own copy of the records', () => {
    const records = [bufferRecord(sdkRecord(), streamArn, 'us-east-1')];
    const first = buildEvent(records);
    (first.Records[0] as { eventName: string }).eventName = 'changed by a handler';
    expect(buildEvent(records).Records[0]?.eventName).toBe('MODIFY');
  });

  it('refuses a stream record without a sequence number', () => {
    expect(() => toLambdaRecord({ eventName: 'INSERT', dynamodb: {} }, streamArn, 'r')).toThrow(TypeError);
  });
});
