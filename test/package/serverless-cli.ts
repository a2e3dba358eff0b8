import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateRawSync } from 'node:zlib';

/** Running the serverless CLI offline from the repository, and reading what `serverless package` writes. */
export const run = promisify(execFile);
export const root = join(__dirname, '..', '..');
export const serverlessBin = require.resolve('serverless/bin/serverless.js');
export const PACKAGE_TIMEOUT_MS = 240_000;

export type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: unknown };
export type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/** Packaging must not depend on the network or on whoever runs it having AWS credentials. */
export const offlineEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries({
    ...process.env,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
  }).filter(([name]) => !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE)$/.test(name)),
);

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

export function resourcesOf(statement: Statement): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

export function statementsOf(role: Resource): Statement[] {
  const policies = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[];
  return policies.flatMap((p) => p.PolicyDocument.Statement);
}

/** The files of a zip archive (stored or deflated), read through its central directory. */
export async function zipFiles(path: string): Promise<Map<string, Buffer>> {
  const zip = await readFile(path);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const local = zip.readUInt32LE(offset + 42);
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    files.set(
      zip.toString('utf8', offset + 46, offset + 46 + nameLength),
      method === 0 ? data : inflateRawSync(data),
    );
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

/** File names in a zip archive. */
export async function zipEntries(path: string): Promise<string[]> {
  return [...(await zipFiles(path)).keys()];
}

/** The e_machine field of an ELF binary: 0x3e x86-64, 0xb7 AArch64. */
export function elfMachine(binary: Buffer): number {
  expect(binary.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  return binary.readUInt16LE(18);
}

/** Runs `serverless package` offline into a new temp dir; returns the dir. */
export async function packageInto(prefix: string, extraArgs: string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await run(process.execPath, [serverlessBin, 'package', '--stage', 'dev', '--package', dir, ...extraArgs], {
    cwd: root,
    env: offlineEnv,
    maxBuffer: 16 * 1024 * 1024,
  });
  return dir;
}

export const USEARCH_BINARY = /^node_modules\/usearch\/prebuilds\/linux-(arm64|x64)\/usearch\.node$/;
/** The functions that search, and so carry usearch's binary. */
export const SEARCH_FUNCTIONS = [
  'HttpSearchLambdaFunction',
  'HttpSearchBatchLambdaFunction',
  'HttpRecommendLambdaFunction',
];
