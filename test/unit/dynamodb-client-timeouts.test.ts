import type { AddressInfo } from 'node:net';
import { createServer, type Socket } from 'node:net';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../src/clients';
import { loadConfig } from '../../src/config';

/** A server that takes connections and requests and never answers: a response lost on the way. */
async function silentServer() {
  const sockets: Socket[] = [];
  let requests = 0;
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (chunk) => {
      if (chunk.toString('latin1').startsWith('POST ')) requests += 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('the DynamoDB client', () => {
  it('gives up on a request whose answer never comes, with a TimeoutError after retrying it', async () => {
    const server = await silentServer();
    const client = createDynamoDbClient(loadConfig({ DYNAMODB_ENDPOINT: server.url }), {
      connectionTimeout: 1_000,
      requestTimeout: 50,
    });
    try {
      const error = await client
        .send(new GetItemCommand({ TableName: 'BotCollections', Key: { bot_id: { S: 'b1' } } }))
        .catch((e: unknown) => e);

      expect((error as Error).name).toBe('TimeoutError');
      // The SDK's retry strategy treats it as transient and sends the request again.
      expect(server.requests()).toBeGreaterThan(1);
    } finally {
      client.destroy();
      await server.close();
    }
  });
});
