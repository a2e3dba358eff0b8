import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { JsonLinesDeadLetters, SqsDeadLetters } from '../../src/adapters/dead-letters/sources';
import { buildOnFailureRecord } from '../../tools/local/on-failure-destination';

const message = (start: string, end: string) =>
  JSON.stringify(
    buildOnFailureRecord({
      functionArn: 'arn:aws:lambda:us-east-1:0:function:f',
      condition: 'RetryAttemptsExhausted',
      invocations: 3,
      functionError: false,
      shardId: 'shardId-1',
      streamArn: 'arn:aws:dynamodb:us-east-1:0:table/T/stream/x',
      first: { sequenceNumber: start, approximateCreationTime: 0 },
      last: { sequenceNumber: end, approximateCreationTime: 0 },
      batchSize: 2,
    }),
  );

describe('dead-letter sources', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dlq-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the runner's JSONL file and removes only the applied lines", async () => {
    const path = join(dir, 'failures.jsonl');
    await writeFile(path, `${message('100', '200')}\nnot json\n${message('300', '300')}\n`);
    const source = new JsonLinesDeadLetters(path);
    const letters = await source.receive();
    expect(letters.map((l) => [l.shardId, l.startSequenceNumber, l.endSequenceNumber])).toEqual([
      ['shardId-1', '100', '200'],
      ['shardId-1', '300', '300'],
    ]);
    await source.remove([letters[0] as (typeof letters)[number]]);
    const left = await readFile(path, 'utf8');
    expect(left).not.toContain('"startSequenceNumber":"100"');
    expect(left).toContain('"startSequenceNumber":"300"');
    expect(left).toContain('not json');
    expect(await source.receive()).toEqual([]);
  });

  it('treats a missing file as no dead letters', async () => {
    expect(await new JsonLinesDeadLetters(join(dir, 'none.jsonl')).receive()).toEqual([]);
  });

  it('receives from SQS and deletes by receipt handle only what it is told', async () => {
    const sent: unknown[] = [];
    const client = {
      send: async (command: unknown) => {
        sent.push(command);
        if (command instanceof ReceiveMessageCommand) {
          return {
            Messages: [
              { Body: message('1', '2'), ReceiptHandle: 'h1' },
              { Body: '{"other":true}', ReceiptHandle: 'h2' },
            ],
          };
        }
        return { Successful: [{ Id: '0' }], Failed: [] };
      },
    } as unknown as SQSClient;
    const source = new SqsDeadLetters(client, 'https://sqs.us-east-1.amazonaws.com/0/dlq');
    const letters = await source.receive();
    expect(letters).toEqual([
      {
        handle: 'h1',
        shardId: 'shardId-1',
        streamArn: 'arn:aws:dynamodb:us-east-1:0:table/T/stream/x',
        startSequenceNumber: '1',
        endSequenceNumber: '2',
      },
    ]);
    await source.remove(letters);
    const deletion = sent.find((c) => c instanceof DeleteMessageBatchCommand) as DeleteMessageBatchCommand;
    expect(deletion.input.Entries).toEqual([{ Id: '0', ReceiptHandle: 'h1' }]);
  });
});
