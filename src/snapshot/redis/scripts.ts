/**
 * How the Redis adapters run their Lua scripts (lua.ts): as ioredis commands (`defineCommand`, so they
 * run by EVALSHA), the snapshot store's and the keyword index's alike; the snapshot store's script
 * table; and the deadline helper of the calls that must never land late.
 */
import type { Cluster, Redis } from 'ioredis';
import { withDeadline } from '../../machinery/deadline';
import {
  APPLY_CHANGES_LUA,
  BEGIN_REBUILD_LUA,
  COMMIT_REBUILD_LUA,
  DROP_ALL_LUA,
  DROP_IF_UNCHANGED_LUA,
  KEEP_REBUILD_LUA,
  KEEP_VISIBILITY_LUA,
  READ_HEAD_LUA,
  RELEASE_REBUILD_LUA,
  SNAPSHOT_VERSION_LUA,
  TAKE_DIRTY_LUA,
} from './lua';

/** What the scripts take as one argument. */
export type ScriptArg = string | Buffer | number;

const SCRIPTS = {
  vsSnapshotApply: { lua: APPLY_CHANGES_LUA, numberOfKeys: 8 },
  vsSnapshotVersion: { lua: SNAPSHOT_VERSION_LUA, numberOfKeys: 6 },
  vsSnapshotReadHead: { lua: READ_HEAD_LUA, numberOfKeys: 7 },
  vsSnapshotDropIfUnchanged: { lua: DROP_IF_UNCHANGED_LUA, numberOfKeys: 6 },
  vsSnapshotBeginRebuild: { lua: BEGIN_REBUILD_LUA, numberOfKeys: 2 },
  vsSnapshotTakeDirty: { lua: TAKE_DIRTY_LUA, numberOfKeys: 2 },
  vsSnapshotCommit: { lua: COMMIT_REBUILD_LUA, numberOfKeys: 14 },
  vsSnapshotKeepRebuild: { lua: KEEP_REBUILD_LUA, numberOfKeys: 8 },
  vsSnapshotRelease: { lua: RELEASE_REBUILD_LUA, numberOfKeys: 8 },
  vsSnapshotDropAll: { lua: DROP_ALL_LUA, numberOfKeys: 9 },
  vsSnapshotKeepVisibility: { lua: KEEP_VISIBILITY_LUA, numberOfKeys: 2 },
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** Runs one of the snapshot scripts by name with its keys and arguments. */
export type ScriptRunner = (name: ScriptName, ...args: ScriptArg[]) => Promise<unknown>;

type ScriptCall = (...args: ScriptArg[]) => Promise<unknown>;

/** A Lua script as ioredis's `defineCommand` takes it. */
export type ScriptDefinition = { lua: string; numberOfKeys: number };

/**
 * Defines `scripts` on the client (by name, so they run by EVALSHA and reload on NOSCRIPT) and returns a
 * runner for them: the one way the Redis adapters call their scripts.
 */
export function defineScripts<Name extends string>(
  client: Redis | Cluster,
  scripts: Record<Name, ScriptDefinition>,
): (name: Name, ...args: ScriptArg[]) => Promise<unknown> {
  for (const [name, definition] of Object.entries<ScriptDefinition>(scripts)) {
    client.defineCommand(name, definition);
  }
  return (name, ...args) => {
    const fn = (client as unknown as Record<Name, ScriptCall>)[name];
    return fn.apply(client, args);
  };
}

/**
 * The Buffer form of a script `defineScripts` defined on `client` (ioredis defines `<name>Buffer` beside
 * it): every bulk reply arrives as a Buffer, for scripts that return bytes.
 */
export function bufferReplies(
  client: Redis | Cluster,
  name: string,
): (...args: ScriptArg[]) => Promise<unknown> {
  const fn = (client as unknown as Record<string, ScriptCall | undefined>)[`${name}Buffer`];
  if (fn === undefined) throw new Error(`script ${name} is not defined on this client`);
  return (...args) => fn.apply(client, args);
}

/** Defines every snapshot script on the client and returns a runner for them. */
export function defineSnapshotScripts(client: Redis | Cluster): ScriptRunner {
  return defineScripts(client, SCRIPTS);
}

/** The promise's value, or a rejection with `message` once `deadline` (Unix ms) has passed. */
export function beforeDeadline<T>(promise: Promise<T>, deadline: number, message: string): Promise<T> {
  return withDeadline(promise, Math.max(0, deadline - Date.now()), () => {
    throw new Error(message);
  });
}
