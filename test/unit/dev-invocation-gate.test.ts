import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { functionKeyOf, type InvocationGate, startInvocationGate } from '../../tools/local/invocation-gate';

/**
 * The dev stack's front of serverless-offline: however many requests arrive at once, each function serves
 * at most its instances' worth, the rest wait (or, beyond the queue, get 503 with Retry-After), and every
 * request and answer passes unchanged.
 */
let upstream: Server;
let inFlight = 0;
let mostAtOnce = 0;
let release: () => void = () => {};
let held = Promise.resolve();
/** Lets the held requests go once this many are in flight at the upstream. */
let releaseAt = Number.POSITIVE_INFINITY;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    inFlight += 1;
    mostAtOnce = Math.max(mostAtOnce, inFlight);
    if (inFlight >= releaseAt) release();
    let body = '';
    req.on('data', (data) => {
      body += data;
    });
    req.on('end', async () => {
      await held;
      inFlight -= 1;
      res.writeHead(201, { 'content-type': 'application/json', 'x-echo': req.headers['x-test'] ?? '' });
      res.end(JSON.stringify({ method: req.method, url: req.url, body }));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => upstream.close(resolve));
});

let gate: InvocationGate | undefined;
afterEach(async () => {
  await gate?.stop();
  gate = undefined;
  mostAtOnce = 0;
  releaseAt = Number.POSITIVE_INFINITY;
});

const start = (instances: number, waiting: number) =>
  startInvocationGate({
    port: 0,
    target: { host: '127.0.0.1', port: (upstream.address() as AddressInfo).port },
    instances,
    waiting,
  });

describe('the dev invocation gate', () => {
  it('names the function of a request by method and route', () => {
    expect(functionKeyOf('POST', '/bots/b%2F1/search?x=1')).toBe('POST /bots/{botId}/search');
    expect(functionKeyOf('POST', '/bots/b1/search/batch')).toBe('POST /bots/{botId}/search/batch');
    expect(functionKeyOf('GET', '/bots/b1')).toBe('GET /bots/{botId}');
  });

  it('serves 100 concurrent requests of one function at most 4 at a time, every one answered unchanged', async () => {
    gate = await start(4, 1000);
    held = new Promise((resolve) => {
      release = resolve;
    });
    releaseAt = 4;
    const answers = Array.from({ length: 100 }, (_, i) =>
      fetch(`${gate?.url}/bots/b${i}/search?n=${i}`, {
        method: 'POST',
        headers: { 'x-test': `t${i}` },
        body: `body ${i}`,
      }).then(async (response) => ({
        status: response.status,
        echo: response.headers.get('x-echo'),
        json: await response.json(),
      })),
    );
    const got = await Promise.all(answers);
    got.forEach((answer, i) => {
      expect(answer).toEqual({
        status: 201,
        echo: `t${i}`,
        json: { method: 'POST', url: `/bots/b${i}/search?n=${i}`, body: `body ${i}` },
      });
    });
    expect(mostAtOnce).toBe(4);
    expect(gate.mostInFlight()).toBe(4);
  });

  it('sheds what exceeds the queue with 503 unavailable and Retry-After', async () => {
    gate = await start(2, 3);
    held = new Promise((resolve) => {
      release = resolve;
    });
    const answers = Array.from({ length: 10 }, (_, i) =>
      fetch(`${gate?.url}/bots/b${i}/search`, { method: 'POST', body: '{}' }).then(async (response) => ({
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        code: ((await response.json()) as { error?: { code: string } }).error?.code,
      })),
    );
    // Two requests are held upstream and three wait: the other five are answered without reaching it.
    let answered = 0;
    await new Promise<void>((resolve) => {
      for (const answer of answers) {
        void answer.then(() => {
          answered += 1;
          if (answered === 5) resolve();
        });
      }
    });
    release();
    const got = await Promise.all(answers);
    expect(got.filter((answer) => answer.status === 201)).toHaveLength(5);
    const shed = got.filter((answer) => answer.status === 503);
    expect(shed).toHaveLength(5);
    for (const answer of shed) expect(answer).toMatchObject({ retryAfter: '1', code: 'unavailable' });
  });
});
