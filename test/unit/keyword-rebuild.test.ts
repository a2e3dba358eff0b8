import { DEFAULT_TOKENISER, tokenise } from '../../src/domain/keyword-text';
import type { StoredChunk } from '../../src/domain/types';
import type { KeywordDocument, KeywordIndexStore } from '../../src/snapshot';
import { keywordRebuild } from '../../src/snapshot/keyword-rebuild';

/** A keyword store that records claims and publishes, and a snapshot store at a given version. */
function fakes(version: string | null = 'b1:0') {
  const published: { claim: string; version: string; documents: KeywordDocument[] }[] = [];
  const warnings: string[] = [];
  const keywords = {
    claimBuild: async () => 'claim-1',
    publishBuild: async (
      _botId: string,
      claim: string,
      at: string,
      documents: readonly KeywordDocument[],
    ) => {
      published.push({ claim, version: at, documents: [...documents] });
      return at !== '';
    },
  } as unknown as KeywordIndexStore;
  const snapshots = {
    currentVersion: async () => (version === null ? null : { version, epoch: 0 }),
  };
  const warn = (message: string) => warnings.push(message);
  return { keywords, snapshots, published, warnings, warn };
}

function chunk(id: string, text: string, embedding: number[] = [1, 0]): StoredChunk {
  return {
    bot_id: 'bot-1',
    chunk_id: id,
    filename: 'f.txt',
    chunk_index: 0,
    text,
    metadata: {},
    created_at: '',
    embedding: new Float32Array(embedding),
  } as StoredChunk;
}

describe('the keyword side of a snapshot rebuild', () => {
  it('stamps the terms of the chunks the snapshot keeps with the version the rebuild published', async () => {
    const { keywords, snapshots, published, warn } = fakes('b1:0');
    const rebuild = await keywordRebuild(keywords, snapshots, 'bot-1', 2, warn);

    rebuild?.add([chunk('a', 'Redis E-1042 snapshots'), chunk('b', 'other dimension', [1, 0, 0])]);
    rebuild?.add([chunk('c', 'not finite', [Number.NaN, 0]), chunk('a', 'running v2.3')]);
    rebuild?.noteReread([]);
    const stamped = await rebuild?.finish(true);

    expect(stamped).toBe(true);
    expect(published).toEqual([
      {
        claim: 'claim-1',
        version: 'b1:0',
        documents: [{ chunkId: 'a', terms: tokenise('running v2.3', DEFAULT_TOKENISER) }],
      },
    ]);
  });

  it.each([
    ['the commit re-read chunks a stream changed', true, ['a'], 'b1:0'],
    ['the rebuild did not publish', false, [], 'b1:0'],
    ['a stream change followed the publish', true, [], 'b1:1'],
    ['the snapshot is gone', true, [], null],
  ])('leaves the index absent (drops its claim, writes nothing) when %s', async (_, ok, reread, version) => {
    const { keywords, snapshots, published, warn } = fakes(version as string | null);
    const rebuild = await keywordRebuild(keywords, snapshots, 'bot-1', 2, warn);
    rebuild?.add([chunk('a', 'redis snapshot')]);
    rebuild?.noteReread(reread as string[]);

    const stamped = await rebuild?.finish(ok as boolean);

    expect(stamped).toBe(false);
    expect(published).toEqual([{ claim: 'claim-1', version: '', documents: [] }]);
  });

  it('goes without the index when the claim fails, saying so', async () => {
    const { snapshots, warnings, warn } = fakes();
    const failing = {
      claimBuild: async () => {
        throw new Error('redis went away');
      },
    } as unknown as KeywordIndexStore;

    expect(await keywordRebuild(failing, snapshots, 'bot-1', 2, warn)).toBeNull();
    expect(warnings).toEqual(['Keyword index not claimed for the rebuild; queries build it']);
    expect(await keywordRebuild(undefined, snapshots, 'bot-1', 2, warn)).toBeNull();
  });
});
