import { readFile, rename, writeFile } from 'node:fs/promises';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetter, DeadLetterSource } from '../../ports';

/** The parts of Lambda's on-failure message for a stream batch that name its records. */
function letterOf(body: string, handle: string): DeadLetter | null {
  try {
    const message = JSON.parse(body) as { DDBStreamBatchInfo?: Record<string, unknown> };
    const info = message.DDBStreamBatchInfo;
    if (info === undefined) return null;
    const { shardId, streamArn, startSequenceNumber, endSequenceNumber } = info;
    if (
      typeof shardId !== 'string' ||
      typeof streamArn !== 'string' ||
      typeof startSequenceNumber !== 'string' ||
      typeof endSequenceNumber !== 'string'
    ) {
      return null;
    }
    return { handle, shardId, streamArn, startSequenceNumber, endSequenceNumber };
  } catch {
    return null;
  }
}

/**
 * The local stream runner's on-failure file (JSON Lines, one Lambda on-failure message per line).
 * Removing rewrites the file without the applied lines (through a temporary file and a rename); lines
 * that are not stream batch messages are kept as they are.
 */
export class JsonLinesDeadLetters implements DeadLetterSource {
  readonly description: string;
  private served = false;

  constructor(private readonly path: string) {
    this.description = `the on-failure file ${path}`;
  }

  async receive(): Promise<DeadLetter[]> {
    if (this.served) return [];
    this.served = true;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return [];
      throw error;
    }
    const letters: DeadLetter[] = [];
    for (const [index, line] of text.split('\n').entries()) {
      if (line.trim() === '') continue;
      const letter = letterOf(line, String(index));
      if (letter !== null) letters.push(letter);
    }
    return letters;
  }

  async remove(letters: DeadLetter[]): Promise<void> {
    const drop = new Set(letters.map((letter) => Number(letter.handle)));
    const text = await readFile(this.path, 'utf8');
    const kept = text.split('\n').filter((line, index) => line.trim() !== '' && !drop.has(index));
    const temporary = `${this.path}.doctor-${process.pid}`;
    await writeFile(temporary, kept.length > 0 ? `${kept.join('\n')}\n` : '', 'utf8');
    await rename(temporary, this.path);
  }
}

/** The stream mapping's SQS dead-letter queue in AWS. Messages are deleted only once applied. */
export class SqsDeadLetters implements DeadLetterSource {
  readonly description: string;

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {
    this.description = `the dead-letter queue ${queueUrl}`;
  }

  async receive(): Promise<DeadLetter[]> {
    const answer = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        // Long enough to re-read and apply ten batches; a crash makes them visible again.
        VisibilityTimeout: 300,
      }),
    );
    const letters: DeadLetter[] = [];
    for (const message of answer.Messages ?? []) {
      if (message.Body === undefined || message.ReceiptHandle === undefined) continue;
      const letter = letterOf(message.Body, message.ReceiptHandle);
      if (letter !== null) letters.push(letter);
    }
    return letters;
  }

  async remove(letters: DeadLetter[]): Promise<void> {
    for (let start = 0; start < letters.length; start += 10) {
      const entries = letters
        .slice(start, start + 10)
        .map((letter, i) => ({ Id: String(i), ReceiptHandle: letter.handle }));
      const answer = await this.client.send(
        new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
      );
      if ((answer.Failed ?? []).length > 0) {
        throw new Error(
          `SQS did not delete ${answer.Failed?.length} applied dead letters; they will be replayed again (harmless)`,
        );
      }
    }
  }
}
