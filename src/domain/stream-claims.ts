/**
 * Which claim item a stream record is counted under. Lambda may deliver any subset of a shard's records
 * again (whole-batch retries, bisected halves, a retry from a reported record, duplicates), so the item
 * must follow from the record alone, never from the batch it came in: records of one bot created in the
 * same second share one item (a set of their eventIDs' hashes), and a record without a creation time has
 * an item of its own. `ApproximateCreationDateTime` is part of the stored record, equal on every delivery.
 */
export function claimBucketOf(eventId: string, approximateCreationSeconds: number | undefined): string {
  return approximateCreationSeconds !== undefined && Number.isFinite(approximateCreationSeconds)
    ? `s${Math.floor(approximateCreationSeconds)}`
    : `e${eventId}`;
}

/** A record's claim: the record, and the claim item it belongs to. */
export type StreamClaim = { eventId: string; bucket: string };

/** The claim of a parsed record (a `StreamChange`). */
export const claimOf = (change: { eventId: string; claimBucket: string }): StreamClaim => ({
  eventId: change.eventId,
  bucket: change.claimBucket,
});

/** One claim item's part of a counts write: the records it adds to `bucket`. */
export type ClaimGroupWrite = { bucket: string; eventIds: string[] };

/**
 * The most records one write adds to one claim item. The write is conditioned on none of them being in
 * the item yet, one `contains` each (DynamoDB allows 300 operators and functions in an expression), and
 * the item stays under 1 KB (8-byte hashes) for a usual batch. A bot changing more records than this in
 * one second pays one more transaction per this many.
 */
export const MAX_CLAIMS_PER_GROUP = 100;

/** Groups the claims of one write by claim item, in first-seen order. */
export function groupClaims(claims: readonly StreamClaim[]): ClaimGroupWrite[] {
  const groups = new Map<string, ClaimGroupWrite>();
  for (const claim of claims) {
    let group = groups.get(claim.bucket);
    if (group === undefined) {
      group = { bucket: claim.bucket, eventIds: [] };
      groups.set(claim.bucket, group);
    }
    group.eventIds.push(claim.eventId);
  }
  return [...groups.values()];
}
