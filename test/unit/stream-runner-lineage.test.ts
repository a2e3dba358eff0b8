import { compareSequenceNumbers, readableShards, type ShardInfo } from '../../tools/local/shard-lineage';

const shard = (shardId: string, parentShardId?: string, closed = true): ShardInfo => ({
  shardId,
  parentShardId,
  endingSequenceNumber: closed ? '999' : undefined,
});

describe('shard lineage', () => {
  const shards = [
    shard('root'),
    shard('left', 'root'),
    shard('right', 'root', false),
    shard('grandchild', 'left', false),
  ];

  it('reads a child only after its parent is finished', () => {
    expect(readableShards(shards, new Set()).map((s) => s.shardId)).toEqual(['root']);
    expect(readableShards(shards, new Set(['root'])).map((s) => s.shardId)).toEqual(['left', 'right']);
    expect(readableShards(shards, new Set(['root', 'left'])).map((s) => s.shardId)).toEqual([
      'right',
      'grandchild',
    ]);
  });

  it('does not wait for a parent that was trimmed from the stream', () => {
    expect(readableShards([shard('orphan', 'gone', false)], new Set()).map((s) => s.shardId)).toEqual([
      'orphan',
    ]);
  });

  it('compares sequence numbers as numbers, whatever their length', () => {
    expect(compareSequenceNumbers('000000000000000000010', '9')).toBe(1);
    expect(
      compareSequenceNumbers(
        '99999999999999999999999999999999999998',
        '99999999999999999999999999999999999999',
      ),
    ).toBe(-1);
    expect(compareSequenceNumbers('0042', '42')).toBe(0);
  });
});
