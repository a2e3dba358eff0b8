import { readFile } from 'node:fs/promises';
import YAML, { type Tags } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../../src/errors';

/**
 * The DynamoDB stream event settings of one function, named as in serverless.yml
 * (`functions.<name>.events[].stream`), with Lambda's defaults filled in.
 */
export type StreamSettings = {
  /** Most records per invocation (Lambda: 1..10000, default 100). */
  batchSize: number;
  /**
   * Seconds to keep reading to fill a batch before invoking with what is there (0..300, default 0).
   * serverless.yml may write it as `batchWindow` (the framework's name) or `maximumBatchingWindow`.
   */
  maximumBatchingWindow: number;
  /** Split a batch whose invocation failed in two halves and retry each (default false). */
  bisectBatchOnFunctionError: boolean;
  /** Retries of a failed batch before it goes to the on-failure destination; -1 = until the record expires. */
  maximumRetryAttempts: number;
  /** A record older than this is not retried but sent to the on-failure destination; -1 = no limit. */
  maximumRecordAgeInSeconds: number;
  /** `ReportBatchItemFailures`: the handler's `batchItemFailures` are honoured; otherwise its return value is ignored. */
  functionResponseType: 'ReportBatchItemFailures' | undefined;
  /** Where a new mapping starts reading when it has no checkpoint. */
  startingPosition: 'TRIM_HORIZON' | 'LATEST';
  /** The on-failure destination as written (an ARN, or the CloudFormation reference), if any. */
  onFailureDestination: string | undefined;
  /** The function's timeout in seconds (what `context.getRemainingTimeInMillis()` counts down from). */
  functionTimeoutSeconds: number;
};

/** Lambda's values for anything serverless.yml leaves out. */
export const defaultStreamSettings: StreamSettings = {
  batchSize: 100,
  maximumBatchingWindow: 0,
  bisectBatchOnFunctionError: false,
  maximumRetryAttempts: -1,
  maximumRecordAgeInSeconds: -1,
  functionResponseType: undefined,
  startingPosition: 'TRIM_HORIZON',
  onFailureDestination: undefined,
  functionTimeoutSeconds: 6,
};

const settingsSchema = z.object({
  batchSize: z.number().int().min(1).max(10_000),
  maximumBatchingWindow: z.number().int().min(0).max(300),
  bisectBatchOnFunctionError: z.boolean(),
  maximumRetryAttempts: z.number().int().min(-1).max(10_000),
  maximumRecordAgeInSeconds: z
    .number()
    .int()
    .refine((v) => v === -1 || (v >= 60 && v <= 604_800), 'must be -1 or between 60 and 604800'),
  functionResponseType: z.literal('ReportBatchItemFailures').optional(),
  startingPosition: z.enum(['TRIM_HORIZON', 'LATEST']),
  onFailureDestination: z.string().optional(),
  functionTimeoutSeconds: z.number().positive().max(900),
});

/**
 * Lambda's defaults overlaid with `overrides`, validated.
 * @throws ConfigError naming the setting that is out of Lambda's range.
 */
export function resolveStreamSettings(overrides: Partial<StreamSettings> = {}, where = 'stream settings') {
  const merged: Record<string, unknown> = { ...defaultStreamSettings };
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) merged[key] = value;
  const parsed = settingsSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${where}.${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid stream settings: ${problems.join('; ')}`);
  }
  return parsed.data as StreamSettings;
}

const intrinsicFunctions = [
  'Ref',
  'GetAtt',
  'Sub',
  'Join',
  'Select',
  'Split',
  'ImportValue',
  'FindInMap',
  'GetAZs',
  'Base64',
  'Cidr',
  'If',
  'Equals',
  'And',
  'Or',
  'Not',
  'Condition',
];

/**
 * CloudFormation short-form tags (`!GetAtt X.Arn`) kept as their long form (`{ 'Fn::GetAtt': 'X.Arn' }`),
 * so the file parses and a destination still reads as what it refers to.
 */
const cloudFormationTags: Tags = intrinsicFunctions.flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  const identify = () => false;
  return [
    { tag: `!${name}`, identify, resolve: (value: string) => ({ [key]: value }) },
    {
      tag: `!${name}`,
      collection: 'seq' as const,
      identify,
      resolve: (value: unknown) => ({ [key]: (value as { toJSON(): unknown }).toJSON() }),
    },
    {
      tag: `!${name}`,
      collection: 'map' as const,
      identify,
      resolve: (value: unknown) => ({ [key]: (value as { toJSON(): unknown }).toJSON() }),
    },
  ];
});

function describeReference(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object') {
    const [entry] = Object.entries(value as Record<string, unknown>);
    if (entry !== undefined) {
      const [fn, arg] = entry;
      const shortName = fn.replace(/^Fn::/, '');
      return `!${shortName} ${Array.isArray(arg) ? arg.join('.') : String(arg)}`;
    }
  }
  return JSON.stringify(value);
}

type RawStreamEvent = Record<string, unknown>;

function isDynamoDbStream(stream: unknown): boolean {
  if (typeof stream === 'string') return stream.includes(':dynamodb:');
  if (typeof stream !== 'object' || stream === null) return false;
  const s = stream as RawStreamEvent;
  if (s.type !== undefined) return s.type === 'dynamodb';
  return typeof s.arn === 'string' ? s.arn.includes(':dynamodb:') : true;
}

/**
 * A plain value as serverless.yml may write it: "5" and "true" read as 5 and true; a value that is still a
 * `${...}` variable cannot be used locally, and the issue says so (the path names the setting).
 */
function plain<T extends z.ZodType>(kind: 'number' | 'boolean' | 'string', schema: T) {
  return z.preprocess((value, ctx) => {
    if (typeof value === 'string' && value.includes('${')) {
      ctx.addIssue({
        code: 'custom',
        message: `is the variable ${value}; the local stream runner reads plain values only (write the value, or pass settings explicitly)`,
      });
      return z.NEVER;
    }
    if (kind === 'number' && typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
    if (kind === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
    return value;
  }, schema.optional());
}

const yamlNumber = () => plain('number', z.number({ error: 'must be a number' }));

/** The settings of a DynamoDB stream event as serverless.yml writes them (ranges are checked after). */
const serverlessStreamSchema = z.object({
  batchSize: yamlNumber(),
  // The framework calls it `batchWindow` for stream events; `maximumBatchingWindow` is the API's name.
  batchWindow: yamlNumber(),
  maximumBatchingWindow: yamlNumber(),
  bisectBatchOnFunctionError: plain('boolean', z.boolean({ error: 'must be true or false' })),
  maximumRetryAttempts: yamlNumber(),
  maximumRecordAgeInSeconds: yamlNumber(),
  functionResponseType: plain(
    'string',
    z.literal('ReportBatchItemFailures', { error: 'must be ReportBatchItemFailures' }),
  ),
  startingPosition: plain(
    'string',
    z.enum(['TRIM_HORIZON', 'LATEST'], { error: 'must be TRIM_HORIZON or LATEST' }),
  ),
  destinations: z.object({ onFailure: z.unknown() }).partial().optional(),
  /** The function's timeout, else the provider's. */
  timeout: yamlNumber(),
});

/**
 * The stream settings of one function from a parsed serverless.yml object. Picks the function's first
 * DynamoDB stream event.
 * @throws ConfigError when the function or its DynamoDB stream event is missing, or a setting is invalid.
 */
export function streamSettingsFromServerless(serverless: unknown, functionName: string): StreamSettings {
  const root = (serverless ?? {}) as {
    provider?: { timeout?: unknown };
    functions?: Record<string, { events?: unknown; timeout?: unknown } | undefined>;
  };
  const fn = root.functions?.[functionName];
  if (fn === undefined) {
    const names = Object.keys(root.functions ?? {});
    throw new ConfigError(
      `serverless.yml has no function "${functionName}" (functions: ${names.join(', ') || 'none'})`,
    );
  }
  const events = Array.isArray(fn.events) ? (fn.events as unknown[]) : [];
  const index = events.findIndex(
    (e) => typeof e === 'object' && e !== null && isDynamoDbStream((e as { stream?: unknown }).stream),
  );
  if (index < 0) {
    throw new ConfigError(`functions.${functionName} has no DynamoDB stream event in serverless.yml`);
  }
  const stream = (events[index] as { stream: unknown }).stream;
  const where = `functions.${functionName}.events[${index}].stream`;
  const parsed = serverlessStreamSchema.safeParse({
    ...(typeof stream === 'object' && stream !== null ? stream : {}),
    timeout: fn.timeout ?? root.provider?.timeout,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const field = issue.path.join('.');
      return `${field === 'timeout' ? `functions.${functionName}` : where}.${field} ${issue.message}`;
    });
    throw new ConfigError(problems.join('; '));
  }
  const s = parsed.data;
  if (
    s.batchWindow !== undefined &&
    s.maximumBatchingWindow !== undefined &&
    s.batchWindow !== s.maximumBatchingWindow
  ) {
    throw new ConfigError(
      `${where} sets batchWindow: ${s.batchWindow} and maximumBatchingWindow: ${s.maximumBatchingWindow}; they must agree`,
    );
  }
  const onFailure = s.destinations?.onFailure;
  const onFailureArn =
    typeof onFailure === 'object' && onFailure !== null && 'arn' in onFailure
      ? (onFailure as { arn: unknown }).arn
      : onFailure;
  return resolveStreamSettings(
    {
      batchSize: s.batchSize,
      maximumBatchingWindow: s.batchWindow ?? s.maximumBatchingWindow,
      bisectBatchOnFunctionError: s.bisectBatchOnFunctionError,
      maximumRetryAttempts: s.maximumRetryAttempts,
      maximumRecordAgeInSeconds: s.maximumRecordAgeInSeconds,
      functionResponseType: s.functionResponseType,
      startingPosition: s.startingPosition,
      onFailureDestination: describeReference(onFailureArn),
      functionTimeoutSeconds: s.timeout,
    },
    where,
  );
}

/** Settings the runner does not emulate; they are reported so nobody believes they are applied. */
export function unsupportedStreamSettings(serverless: unknown, functionName: string): string[] {
  const root = (serverless ?? {}) as { functions?: Record<string, { events?: unknown } | undefined> };
  const events = root.functions?.[functionName]?.events;
  if (!Array.isArray(events)) return [];
  const stream = events
    .map((e) => (e as { stream?: unknown } | null)?.stream)
    .find((st) => isDynamoDbStream(st));
  if (typeof stream !== 'object' || stream === null) return [];
  const s = stream as RawStreamEvent;
  const found: string[] = [];
  if (s.filterPatterns !== undefined) found.push('filterPatterns');
  if (s.tumblingWindowInSeconds !== undefined) found.push('tumblingWindowInSeconds');
  if (s.parallelizationFactor !== undefined && Number(s.parallelizationFactor) !== 1) {
    found.push('parallelizationFactor');
  }
  if (s.enabled === false) found.push('enabled: false');
  return found;
}

/** Parses serverless.yml tolerantly: CloudFormation tags become long-form objects, `${...}` stay strings. */
export function parseServerlessYaml(text: string): unknown {
  return YAML.parse(text, { customTags: cloudFormationTags, logLevel: 'error' });
}

/**
 * Reads `functions.<functionName>.events[].stream` from serverless.yml.
 * @throws ConfigError when the file, the function or its stream event is missing, or a setting is invalid.
 */
export async function loadStreamSettings(
  serverlessYmlPath: string,
  functionName: string,
): Promise<StreamSettings> {
  let text: string;
  try {
    text = await readFile(serverlessYmlPath, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read ${serverlessYmlPath}: ${(error as Error).message}`, { cause: error });
  }
  return streamSettingsFromServerless(parseServerlessYaml(text), functionName);
}
