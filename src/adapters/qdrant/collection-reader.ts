import { parse, stringify } from 'lossless-json';
import type { PointId, QdrantPoint } from '../../contracts/qdrant-point';
import { QdrantSourceError } from '../../errors';
import type { QdrantCollectionInfo, QdrantPage, QdrantSource, QdrantVectorParams } from '../../ports';

export type QdrantReaderOptions = {
  /** Base URL, e.g. http://localhost:6333 (a trailing slash is fine). */
  url: string;
  collection: string;
  apiKey?: string;
  /** Per request; default 60 s. */
  timeoutMs?: number;
};

/**
 * Integers past 2^53 as bigint (a point id must survive exactly); every other number as a double. Vectors
 * are floats and stay cheap; only the rare huge integer pays for a BigInt.
 */
function parseNumber(text: string): number | bigint {
  const n = Number(text);
  return Number.isInteger(n) && !Number.isSafeInteger(n) && /^-?\d+$/.test(text) ? BigInt(text) : n;
}

function toPointId(value: unknown): PointId {
  if (typeof value === 'string') return { kind: 'uuid', text: value };
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value))) {
    return { kind: 'integer', text: value.toString() };
  }
  throw new QdrantSourceError(`Qdrant returned a point id that is neither an integer nor a UUID: ${value}`);
}

/** The id as Qdrant takes it back in a request: integers as bare JSON numbers, however large. */
function toRequestId(id: PointId): bigint | string {
  return id.kind === 'integer' ? BigInt(id.text) : id.text;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Qdrant's REST API for one collection, over `fetch`. Written here rather than with
 * `@qdrant/js-client-rest` because that client parses responses with `JSON.parse`, which on Node 20 (no
 * `JSON.rawJSON`) rounds integer point ids above 2^53; this reader parses with `lossless-json`.
 */
export class QdrantCollectionReader implements QdrantSource {
  private readonly base: string;

  constructor(private readonly options: QdrantReaderOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  async info(): Promise<QdrantCollectionInfo> {
    const result = await this.request('GET', '');
    if (!isRecord(result)) throw this.malformed('collection info');
    const params = isRecord(result.config) && isRecord(result.config.params) ? result.config.params : {};
    const vectors: QdrantVectorParams[] = [];
    const config = params.vectors;
    const asParams = (name: string | undefined, value: unknown): QdrantVectorParams | undefined =>
      isRecord(value) && typeof value.size === 'number'
        ? { name, size: value.size, distance: String(value.distance ?? 'Cosine') }
        : undefined;
    const single = asParams(undefined, config);
    if (single !== undefined) vectors.push(single);
    else if (isRecord(config)) {
      for (const [name, value] of Object.entries(config)) {
        const named = asParams(name, value);
        if (named !== undefined) vectors.push(named);
      }
    }
    const pointsCount =
      typeof result.points_count === 'number' ? result.points_count : await this.count(undefined);
    return { pointsCount, vectors };
  }

  async scroll(offset: PointId | null, limit: number, options = { vectors: true }): Promise<QdrantPage> {
    const result = await this.request('POST', '/points/scroll', {
      limit,
      with_payload: true,
      with_vector: options.vectors,
      ...(offset === null ? {} : { offset: toRequestId(offset) }),
    });
    if (!isRecord(result) || !Array.isArray(result.points)) throw this.malformed('scroll');
    const points: QdrantPoint[] = result.points.map((point) => {
      if (!isRecord(point)) throw this.malformed('scroll');
      return {
        id: toPointId(point.id),
        payload: isRecord(point.payload) ? point.payload : null,
        vector: point.vector,
      };
    });
    const next = result.next_page_offset;
    return { points, next: next === null || next === undefined ? null : toPointId(next) };
  }

  async count(match?: { key: string; value: string | number }): Promise<number> {
    const result = await this.request('POST', '/points/count', {
      exact: true,
      ...(match === undefined
        ? {}
        : { filter: { must: [{ key: match.key, match: { value: match.value } }] } }),
    });
    if (!isRecord(result) || typeof result.count !== 'number') throw this.malformed('count');
    return result.count;
  }

  /**
   * `GET /aliases` finds the collection behind the name given (it may be an alias), then
   * `GET /collections/{name}/aliases` lists that collection's aliases.
   */
  async aliases(): Promise<string[]> {
    const descriptions = (result: unknown): { alias: string; collection: string }[] => {
      if (!isRecord(result) || !Array.isArray(result.aliases)) throw this.malformed('aliases');
      return result.aliases.map((entry) => {
        if (
          !isRecord(entry) ||
          typeof entry.alias_name !== 'string' ||
          typeof entry.collection_name !== 'string'
        ) {
          throw this.malformed('aliases');
        }
        return { alias: entry.alias_name, collection: entry.collection_name };
      });
    };
    const all = descriptions(await this.call('GET', '/aliases'));
    const { collection } = this.options;
    const actual = all.find((entry) => entry.alias === collection)?.collection ?? collection;
    const own = descriptions(await this.call('GET', `/collections/${encodeURIComponent(actual)}/aliases`));
    return own.map((entry) => entry.alias).sort();
  }

  private malformed(what: string): QdrantSourceError {
    return new QdrantSourceError(
      `Qdrant's ${what} answer at ${this.base} is not what Qdrant's API defines; is --url a Qdrant REST endpoint (port 6333)?`,
    );
  }

  /** One call about the collection (`path` after `/collections/{name}`); returns the envelope's `result`. */
  private request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    return this.call(method, `/collections/${encodeURIComponent(this.options.collection)}${path}`, body);
  }

  /** One call to `path` of the API; returns the envelope's `result`. */
  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const { collection, apiKey } = this.options;
    const url = `${this.base}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(apiKey === undefined ? {} : { 'api-key': apiKey }),
        },
        ...(body === undefined ? {} : { body: stringify(body) as string }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
      });
    } catch (error) {
      const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause : error) : undefined;
      throw new QdrantSourceError(
        `cannot reach Qdrant at ${this.base} (${cause?.message ?? String(error)}); check --url and that Qdrant is running`,
        { cause: error },
      );
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = parse(text, null, parseNumber);
    } catch {
      parsed = undefined;
    }
    const envelope = isRecord(parsed) ? parsed : {};
    const status = envelope.status;
    const serverMessage = isRecord(status) && typeof status.error === 'string' ? status.error : text.trim();
    if (response.status === 401 || response.status === 403) {
      throw new QdrantSourceError(
        `Qdrant refused the request (${response.status}: ${serverMessage}); pass a valid key with --api-key`,
      );
    }
    if (response.status === 404) {
      throw new QdrantSourceError(
        `Qdrant has no collection "${collection}" at ${this.base} (${serverMessage}); check --collection`,
      );
    }
    if (!response.ok || status !== 'ok' || !Object.hasOwn(envelope, 'result')) {
      throw new QdrantSourceError(
        `Qdrant answered ${method} ${url} with ${response.status}: ${serverMessage.slice(0, 300)}`,
      );
    }
    return envelope.result;
  }
}
