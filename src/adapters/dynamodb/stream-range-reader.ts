import {
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import type { DeadLetter, StreamRangeReader } from '../../ports';
import { toLambdaRecord } from './lambda-stream-record';

/**
 * Reads a range of one shard's records again (as the on-failure message names them) and hands them out
 * as Lambda delivers them. Sequence numbers are compared within this one shard only.
 */
export class DynamoStreamRangeReader implements StreamRangeReader {
  constructor(
    private readonly client: DynamoDBStreamsClient,
    private readonly region: string,
  ) {}

  async read(
    letter: Pick<DeadLetter, 'shardId' | 'streamArn' | 'startSequenceNumber' | 'endSequenceNumber'>,
  ): Promise<DynamoDBRecord[]> {
    const end = BigInt(letter.endSequenceNumber);
    const { ShardIterator } = await this.client.send(
      new GetShardIteratorCommand({
        StreamArn: letter.streamArn,
        ShardId: letter.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: letter.startSequenceNumber,
      }),
    );
    const records: DynamoDBRecord[] = [];
    let iterator = ShardIterator;
    for (let emptyPolls = 0; iterator !== undefined && emptyPolls < 3; ) {
      const answer: GetRecordsCommandOutput = await this.client.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }),
      );
      const page = answer.Records ?? [];
      if (page.length === 0) emptyPolls += 1;
      for (const record of page) {
        if (BigInt(record.dynamodb?.SequenceNumber ?? '0') > end) return records;
        records.push(toLambdaRecord(record, letter.streamArn, this.region));
      }
      if (records.length > 0 && BigInt(records[records.length - 1]?.dynamodb?.SequenceNumber ?? '0') >= end) {
        return records;
      }
      iterator = answer.NextShardIterator;
    }
    return records;
  }
}
