import type {
  AttributeValue as SdkAttributeValue,
  _Record as SdkStreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';

/**
 * An attribute value as Lambda's JSON payload carries it: Binary (B, BS, also inside L and M) as base64
 * strings, where the SDK hands out Uint8Array.
 */
export function toLambdaAttributeValue(value: SdkAttributeValue): AttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.SS !== undefined) return { SS: [...value.SS] };
  if (value.NS !== undefined) return { NS: [...value.NS] };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttributeValue) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  // The Streams client deserialises an empty map ({"M":{}} on the wire) to {}: the only value with no
  // member set. An empty list keeps its "L". Chunks without metadata store exactly such an empty map.
  if (Object.keys(value).length === 0) return { M: {} };
  throw new TypeError(`Unknown attribute value type: ${Object.keys(value).join(', ')}`);
}

/** A whole item image (or key) in Lambda's JSON form. */
export function toLambdaImage(image: Record<string, SdkAttributeValue>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(image)) out[name] = toLambdaAttributeValue(value);
  return out;
}

/**
 * The record Lambda's event source mapping delivers for one DynamoDB Streams record: the stream ARN as
 * `eventSourceARN`, `ApproximateCreationDateTime` in whole seconds, images in JSON form.
 * @throws TypeError when the stream record lacks its sequence number or event name.
 */
export function toLambdaRecord(record: SdkStreamRecord, streamArn: string, region: string): DynamoDBRecord {
  const change = record.dynamodb;
  if (change?.SequenceNumber === undefined || record.eventName === undefined) {
    throw new TypeError('Stream record without a sequence number or event name');
  }
  const created = change.ApproximateCreationDateTime;
  const dynamodb: NonNullable<DynamoDBRecord['dynamodb']> = {};
  if (created !== undefined) dynamodb.ApproximateCreationDateTime = Math.floor(created.getTime() / 1000);
  dynamodb.Keys = toLambdaImage(change.Keys ?? {});
  if (change.NewImage !== undefined) dynamodb.NewImage = toLambdaImage(change.NewImage);
  if (change.OldImage !== undefined) dynamodb.OldImage = toLambdaImage(change.OldImage);
  dynamodb.SequenceNumber = change.SequenceNumber;
  dynamodb.SizeBytes = change.SizeBytes ?? 0;
  if (change.StreamViewType !== undefined) dynamodb.StreamViewType = change.StreamViewType;
  const lambdaRecord: DynamoDBRecord = {
    eventID: record.eventID ?? change.SequenceNumber,
    eventName: record.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion ?? region,
    dynamodb,
    eventSourceARN: streamArn,
  };
  if (record.userIdentity?.Type !== undefined && record.userIdentity.PrincipalId !== undefined) {
    // TTL deletions carry the service identity; Lambda passes it on in lower camel case.
    lambdaRecord.userIdentity = {
      type: record.userIdentity.Type,
      principalId: record.userIdentity.PrincipalId,
    };
  }
  return lambdaRecord;
}
