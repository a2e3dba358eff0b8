import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  type DescribeStreamCommandOutput,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type GetShardIteratorCommandOutput,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';

/**
 * How records are laid out over the virtual shards. Every change of one item goes to the same shard
 * (DynamoDB's per-item order); `shardOf` may spread one partition key's items over several shards, as
 * DynamoDB does for a large or hot partition split by sort-key range.
 */
export type VirtualShardLayout = {
  /** How many shards the stream starts with. */
  shards: number;
  /** The shard (0..shards-1) of an item, from its keys (unmarshalled strings/numbers as given). */
  shardOf: (keys: Record<string, AttributeValue>) => number;
  /**
   * Splits: after `afterRecords` records were placed on shard `shard`, it closes and its items move to
   * `children` new shards (each item by `shardOf` within the children), numbered from their own start.
   */
  splits?: { shard: number; afterRecords: number; children: number }[];
};

type VirtualShard = {
  id: string;
  parent: string | undefined;
  records: _Record[];
  closed: boolean;
  /** Where this shard's own numbering starts; each shard's is deliberately out of step with the others. */
  nextSequence: bigint;
  children: VirtualShard[];
  /** Records placed on this shard so far (for splits). */
  placed: number;
};

/** Reads of one source shard in one pull, each with a new iterator, before the pull fails. */
const SOURCE_READ_ATTEMPTS = 3;

/** A fast, stable hash of a string (FNV-1a), for placing items on shards. */
export function stableHash(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619) >>> 0;
  return hash;
}

/** The keys of an item as one string, in attribute-name order. */
export function keyText(keys: Record<string, AttributeValue>): string {
  return Object.keys(keys)
    .sort()
    .map((name) => {
      const value = keys[name] as { S?: string; N?: string; B?: Uint8Array };
      return `${name}=${value.S ?? value.N ?? (value.B === undefined ? '' : Buffer.from(value.B).toString('hex'))}`;
    })
    .join('&');
}

/**
 * A DynamoDB Streams client that re-presents another stream (DynamoDB Local keeps a table's stream in one
 * shard) as several shards, for the local stream runner and tests: each shard numbers its own records
 * (shard i's numbers start below shard i-1's and interleave with them), shards split mid-run into children
 * numbered below their parent, and the runner reads them concurrently, children after their parent, as
 * Lambda does. The records themselves (eventID, keys, images) are the real ones.
 *
 * Answers DescribeStream, GetShardIterator and GetRecords; pass it as the runner's `streamsClient`.
 */
export class VirtualShardedStream {
  private readonly shards: VirtualShard[] = [];
  private readonly roots: VirtualShard[] = [];
  private readonly sourceIterators = new Map<string, string | null>();
  /** The last source sequence number placed, per source shard. */
  private readonly sourcePositions = new Map<string, string>();
  private readonly splitsDone = new Set<number>();
  private pulling: Promise<void> | undefined;
  private nextPull: Promise<void> | undefined;
  /** The stream this view reads; taken from the first DescribeStream the runner sends. */
  private streamArn: string | undefined;

  constructor(
    private readonly source: DynamoDBStreamsClient,
    private readonly layout: VirtualShardLayout,
  ) {
    if (!Number.isInteger(layout.shards) || layout.shards < 1) {
      throw new RangeError('VirtualShardLayout.shards must be a positive integer');
    }
    for (let i = 0; i < layout.shards; i++) {
      const shard = this.newShard(`shard-${String(i).padStart(3, '0')}`, undefined, i);
      this.roots.push(shard);
    }
  }

  /** Records placed so far on each shard (for tests and logs). */
  shardSizes(): Record<string, number> {
    return Object.fromEntries(this.shards.map((shard) => [shard.id, shard.records.length]));
  }

  /** The runner's calls; anything else is an error. */
  async send(command: unknown): Promise<unknown> {
    if (command instanceof DescribeStreamCommand) return this.describe(command);
    if (command instanceof GetShardIteratorCommand) return this.iterator(command);
    if (command instanceof GetRecordsCommand) return this.records(command);
    throw new Error(`VirtualShardedStream does not answer ${(command as object).constructor.name}`);
  }

  /** Use where a DynamoDBStreamsClient is expected. */
  asClient(): DynamoDBStreamsClient {
    return this as unknown as DynamoDBStreamsClient;
  }

  private newShard(id: string, parent: string | undefined, ordinal: number): VirtualShard {
    const shard: VirtualShard = {
      id,
      parent,
      records: [],
      closed: false,
      // 9e20 for the first shard, lower for each later one: numbers interleave across shards.
      nextSequence: 900_000_000_000_000_000_000n - BigInt(ordinal) * 7_777_777_777n,
      children: [],
      placed: 0,
    };
    this.shards.push(shard);
    return shard;
  }

  private async describe(command: DescribeStreamCommand): Promise<DescribeStreamCommandOutput> {
    this.streamArn ??= command.input.StreamArn;
    await this.pull();
    const start = command.input.ExclusiveStartShardId;
    const from = start === undefined ? 0 : this.shards.findIndex((shard) => shard.id === start) + 1;
    const page: Shard[] = this.shards.slice(from).map((shard) => ({
      ShardId: shard.id,
      ParentShardId: shard.parent,
      SequenceNumberRange: {
        StartingSequenceNumber: shard.records[0]?.dynamodb?.SequenceNumber ?? '1',
        EndingSequenceNumber: shard.closed
          ? (shard.records[shard.records.length - 1]?.dynamodb?.SequenceNumber ?? '1')
          : undefined,
      },
    }));
    return { StreamDescription: { Shards: page }, $metadata: {} };
  }

  private async iterator(command: GetShardIteratorCommand): Promise<GetShardIteratorCommandOutput> {
    const { ShardId, ShardIteratorType, SequenceNumber } = command.input;
    const shard = this.shardById(ShardId);
    let position = 0;
    if (ShardIteratorType === 'LATEST') position = shard.records.length;
    if (ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' || ShardIteratorType === 'AT_SEQUENCE_NUMBER') {
      const target = BigInt(SequenceNumber ?? '0');
      position = shard.records.findIndex(
        (record) => BigInt(record.dynamodb?.SequenceNumber ?? '0') >= target,
      );
      if (position < 0) position = shard.records.length;
      else if (
        ShardIteratorType === 'AFTER_SEQUENCE_NUMBER' &&
        shard.records[position]?.dynamodb?.SequenceNumber === SequenceNumber
      ) {
        position += 1;
      }
    }
    return { ShardIterator: `${shard.id}|${position}`, $metadata: {} };
  }

  private async records(command: GetRecordsCommand): Promise<GetRecordsCommandOutput> {
    const [id, at] = (command.input.ShardIterator ?? '').split('|');
    const shard = this.shardById(id);
    await this.pull();
    const position = Number(at);
    const page = shard.records.slice(position, position + (command.input.Limit ?? 1000));
    const next = position + page.length;
    const finished = shard.closed && next >= shard.records.length;
    return {
      Records: page,
      NextShardIterator: finished ? undefined : `${shard.id}|${next}`,
      $metadata: {},
    };
  }

  private shardById(id: string | undefined): VirtualShard {
    const shard = this.shards.find((candidate) => candidate.id === id);
    if (shard === undefined) {
      throw Object.assign(new Error(`no shard ${id}`), { name: 'ResourceNotFoundException' });
    }
    return shard;
  }

  /**
   * Reads whatever the source stream has new before answering, so an answer never misses a record written
   * before the call (the runner's drain relies on that); a pull that could not read a source shard fails
   * the call instead. One pull at a time: a call that arrives while a pull runs waits for one more pull after
   * it, shared by every call that arrived meanwhile.
   */
  private pull(): Promise<void> {
    if (this.streamArn === undefined) return Promise.resolve();
    if (this.pulling === undefined) {
      this.pulling = this.pullOnce().finally(() => {
        this.pulling = undefined;
      });
      return this.pulling;
    }
    this.nextPull ??= this.pulling.then(
      () => {
        this.nextPull = undefined;
        return this.pull();
      },
      () => {
        this.nextPull = undefined;
        return this.pull();
      },
    );
    return this.nextPull;
  }

  private async pullOnce(): Promise<void> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription } = await this.source.send(
        new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: start }),
      );
      shards.push(...(StreamDescription?.Shards ?? []));
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start !== undefined);
    // Parents before children, so an item's records keep their order across a source split.
    const finished = new Set<string>();
    for (const shard of shards) {
      const id = shard.ShardId;
      if (id === undefined) continue;
      if (shard.ParentShardId !== undefined && shards.some((s) => s.ShardId === shard.ParentShardId)) {
        if (!finished.has(shard.ParentShardId)) continue;
      }
      if (await this.readSource(id)) finished.add(id);
    }
  }

  /**
   * Places what one source shard has new, to its current end; true once the shard is closed and read.
   * Throws when the shard could not be read: a pull that skipped a shard would answer "nothing new" for
   * records written before the call, and the runner's drain would take that answer as the end.
   */
  private async readSource(id: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      let iterator = this.sourceIterators.get(id);
      // After a trim answer to a renewed iterator, the oldest record still there (placing skips repeats).
      if (iterator === undefined) iterator = await this.sourceIterator(id, attempt > 2);
      try {
        while (iterator !== null && iterator !== undefined) {
          const answer: GetRecordsCommandOutput = await this.source.send(
            new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }),
          );
          for (const record of answer.Records ?? []) {
            // A renewed iterator may hand back what was read already: each record is placed once.
            const sequence = record.dynamodb?.SequenceNumber ?? '0';
            const after = this.sourcePositions.get(id);
            if (after !== undefined && BigInt(sequence) <= BigInt(after)) continue;
            this.sourcePositions.set(id, sequence);
            this.place(record);
          }
          iterator = answer.NextShardIterator ?? null;
          if ((answer.Records ?? []).length === 0) break;
        }
        this.sourceIterators.set(id, iterator ?? null);
        return iterator === null;
      } catch (error) {
        // DynamoDB Local numbers stream records across all its tables: an iterator taken while the shard was
        // empty points before its first record whenever another table wrote meanwhile, and reading it fails
        // with TrimmedDataAccessException. Iterators also expire. Either way a new one reads on.
        const name = (error as { name?: string }).name;
        if (name !== 'TrimmedDataAccessException' && name !== 'ExpiredIteratorException') throw error;
        this.sourceIterators.delete(id);
        if (attempt >= SOURCE_READ_ATTEMPTS) {
          // Not the source's error name: the runner would take it for a trim of the virtual shard.
          throw new Error(`VirtualShardedStream cannot read source shard ${id}: ${name} ${attempt} times`, {
            cause: error,
          });
        }
      }
    }
  }

  private async sourceIterator(id: string, fromTrimHorizon: boolean): Promise<string | null> {
    const after = fromTrimHorizon ? undefined : this.sourcePositions.get(id);
    const answer = await this.source.send(
      new GetShardIteratorCommand({
        StreamArn: this.streamArn,
        ShardId: id,
        ...(after === undefined
          ? { ShardIteratorType: 'TRIM_HORIZON' }
          : { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after }),
      }),
    );
    return answer.ShardIterator ?? null;
  }

  private place(record: _Record): void {
    const keys = (record.dynamodb?.Keys ?? {}) as Record<string, AttributeValue>;
    let shard = this.roots[this.layout.shardOf(keys) % this.roots.length] as VirtualShard;
    while (shard.closed) {
      shard = shard.children[
        stableHash(`${shard.id}:${keyText(keys)}`) % shard.children.length
      ] as VirtualShard;
    }
    const sequenceNumber = shard.nextSequence.toString();
    shard.nextSequence += 1000n;
    shard.records.push({ ...record, dynamodb: { ...record.dynamodb, SequenceNumber: sequenceNumber } });
    shard.placed += 1;
    this.maybeSplit(shard);
  }

  private maybeSplit(shard: VirtualShard): void {
    const rootIndex = this.roots.indexOf(shard);
    if (rootIndex < 0) return;
    for (const [index, split] of (this.layout.splits ?? []).entries()) {
      if (this.splitsDone.has(index) || split.shard !== rootIndex || shard.placed < split.afterRecords)
        continue;
      this.splitsDone.add(index);
      shard.closed = true;
      for (let c = 0; c < Math.max(1, split.children); c++) {
        const child = this.newShard(`${shard.id}-${c}`, shard.id, this.shards.length + 100);
        // Children number their records below their parent's: only per-shard order is promised.
        child.nextSequence = 100_000_000_000_000_000_000n + BigInt(c) * 3_333_333n;
        shard.children.push(child);
      }
    }
  }
}
