import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ChangeLog } from '../../ports';
import { batchGetAll } from './batch-calls';
import type { RetryPolicy } from './retry-unprocessed';

/**
 * The StreamClaims key of the chunk ids that counts write `version` of a bot changed. Claim buckets start
 * with `s` or `e` (domain/stream-claims.ts), so `v` keeps the two kinds of item apart.
 */
export const changeLogIdOf = (botId: string, version: number): string => `${botId}#v${version}`;

/**
 * The change log the stream handler writes into StreamClaims (bot-stats.ts, `recordChanges`): one item per
 * (bot, data_version) holding the chunk ids that version changed, expiring with the claims.
 */
export class DynamoChangeLog implements ChangeLog {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: { streamClaimsTable: string; retryPolicy?: RetryPolicy },
  ) {}

  async changedSince(botId: string, from: number, to: number): Promise<string[] | null> {
    if (to <= from) return [];
    const keys: Record<string, unknown>[] = [];
    for (let version = from + 1; version <= to; version++) {
      keys.push({ claim_id: changeLogIdOf(botId, version) });
    }
    const items = await batchGetAll(
      this.client,
      this.options.streamClaimsTable,
      keys,
      { consistent: true, projection: 'claim_id, chunk_ids' },
      { policy: this.options.retryPolicy },
    );
    if (items.length !== keys.length) return null;
    const changed = new Set<string>();
    for (const item of items) {
      if (!(item.chunk_ids instanceof Set)) return null;
      for (const id of item.chunk_ids as Set<unknown>) changed.add(String(id));
    }
    return [...changed];
  }
}
