import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SearchMethod } from './method';

type StrategyOneResult = {
  chunk_id: string;
  text: string;
  score: number;
  metadata: { filename: unknown; chunk_index: unknown };
};

/** The design document's cosine_similarity: dot over the product of norms, per pair, from scratch. */
function cosineSimilarity(a: number[], b: number[]): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return dot / (Math.sqrt(normA) * Math.sqrt(normB));
}

/**
 * (a) The design document's Strategy 1 ("Scan and Compute"), translated to TypeScript as written:
 * Query every item of the bot (all attributes, List<Number> embeddings), a plain object per item
 * and per result, cosine per item, sort all, slice. Its one bug (no pagination: only the first MB)
 * is fixed, so that it returns the right answer and can be compared at all.
 */
export function strategyOne(documents: DynamoDBDocumentClient, table: string, botId: string): SearchMethod {
  return {
    async search(query, k) {
      const queryEmbedding = Array.from(query);
      const items: Record<string, unknown>[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: 'bot_id = :bot',
            ExpressionAttributeValues: { ':bot': botId },
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
      const results: StrategyOneResult[] = [];
      for (const item of items) {
        results.push({
          chunk_id: item.chunk_id as string,
          text: item.text as string,
          score: cosineSimilarity(queryEmbedding, item.embedding as number[]),
          metadata: { filename: item.filename, chunk_index: item.chunk_index },
        });
      }
      results.sort((x, y) => y.score - x.score);
      return results.slice(0, k).map((result) => result.chunk_id);
    },
  };
}
