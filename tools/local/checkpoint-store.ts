import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from '../../src/errors';

/** Where one shard stands: the last sequence number fully handled, and whether the closed shard is done. */
export type ShardCheckpoint = { sequenceNumber?: string; finished?: boolean };

/**
 * Per-shard positions of one event source mapping (`mappingId`: function and stream ARN), so that a
 * restarted runner resumes after what it already delivered. A recreated table has a new stream ARN and
 * therefore starts clean.
 */
export interface CheckpointStore {
  load(mappingId: string): Promise<Record<string, ShardCheckpoint>>;
  save(mappingId: string, shardId: string, checkpoint: ShardCheckpoint): Promise<void>;
}

/** Checkpoints that live as long as the process (tests, or a runner that should always start over). */
export class MemoryCheckpointStore implements CheckpointStore {
  private readonly mappings = new Map<string, Record<string, ShardCheckpoint>>();

  async load(mappingId: string): Promise<Record<string, ShardCheckpoint>> {
    return structuredClone(this.mappings.get(mappingId) ?? {});
  }

  async save(mappingId: string, shardId: string, checkpoint: ShardCheckpoint): Promise<void> {
    const shards = this.mappings.get(mappingId) ?? {};
    shards[shardId] = { ...checkpoint };
    this.mappings.set(mappingId, shards);
  }
}

type CheckpointFile = { version: 1; mappings: Record<string, Record<string, ShardCheckpoint>> };

/**
 * Checkpoints in one JSON file. Every save rewrites the file through a temporary file and a rename, so a
 * crash leaves the previous version or the new one, never half of one. Saves are serialised; one process
 * should own the file.
 */
export class FileCheckpointStore implements CheckpointStore {
  private state: CheckpointFile | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  private async read(): Promise<CheckpointFile> {
    if (this.state !== undefined) return this.state;
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as Partial<CheckpointFile>;
      this.state = { version: 1, mappings: parsed.mappings ?? {} };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new ConfigError(`Cannot read the checkpoint file ${this.path}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      this.state = { version: 1, mappings: {} };
    }
    return this.state;
  }

  async load(mappingId: string): Promise<Record<string, ShardCheckpoint>> {
    const state = await this.read();
    return structuredClone(state.mappings[mappingId] ?? {});
  }

  save(mappingId: string, shardId: string, checkpoint: ShardCheckpoint): Promise<void> {
    const write = async () => {
      const state = await this.read();
      const shards = state.mappings[mappingId] ?? {};
      shards[shardId] = { ...checkpoint };
      state.mappings[mappingId] = shards;
      await mkdir(dirname(this.path), { recursive: true });
      const temporary = `${this.path}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, 'utf8');
      await rename(temporary, this.path);
    };
    const result = this.queue.then(write);
    this.queue = result.catch(() => {});
    return result;
  }
}
