import type { LocalService } from '../../tools/local/stack';
import { supervise } from '../../tools/local/supervisor';

/** A service whose death the test triggers. */
function fakeService(url: string) {
  let listener: ((how: string) => void) | undefined;
  const service: LocalService & { die(how: string): void; stopped: boolean } = {
    url,
    port: Number(new URL(url).port),
    owned: true,
    stopped: false,
    stop: async () => {
      service.stopped = true;
    },
    onUnexpectedExit: (l) => {
      listener = l;
    },
    die: (how) => listener?.(how),
  };
  return service;
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

function recorder() {
  const lines: string[] = [];
  const fatal: string[] = [];
  return {
    lines,
    fatal,
    events: { log: (m: string) => lines.push(m), giveUp: (m: string) => fatal.push(m) },
  };
}

describe('the dev stack supervisor', () => {
  it('says in one line that a service died, restarts it, and says it is back', async () => {
    const first = fakeService('redis://127.0.0.1:6400');
    const second = fakeService('redis://127.0.0.1:6400');
    const { lines, fatal, events } = recorder();
    const supervised = supervise('redis-server', first, events, { restart: async () => second });

    first.die('killed by SIGKILL');
    await settle();

    expect(lines).toEqual([
      'redis-server (redis://127.0.0.1:6400) died: killed by SIGKILL; restarting it on the same port',
      'redis-server is running again on redis://127.0.0.1:6400',
    ]);
    expect(fatal).toEqual([]);
    expect(supervised.current()).toBe(second);
    await supervised.stop();
    expect(second.stopped).toBe(true);
  });

  it('gives up naming what died when it cannot be restarted', async () => {
    const dynamo = fakeService('http://127.0.0.1:8000');
    const { fatal, events } = recorder();
    supervise('DynamoDB Local', dynamo, events, { restart: undefined, noRestartReason: 'it ran in memory' });
    dynamo.die('exit code 137');
    await settle();
    expect(fatal).toEqual([
      'DynamoDB Local (http://127.0.0.1:8000) died: exit code 137; it cannot be restarted (it ran in memory)',
    ]);
  });

  it('gives up when the restart fails, or when it keeps dying', async () => {
    const broken = fakeService('redis://127.0.0.1:6401');
    const a = recorder();
    supervise('redis-server', broken, a.events, {
      restart: async () => {
        throw new Error('redis-server exited with code 1 before it answered');
      },
    });
    broken.die('killed by SIGTERM');
    await settle();
    expect(a.fatal).toEqual([
      'redis-server (redis://127.0.0.1:6401) died: killed by SIGTERM, and restarting it failed: redis-server exited with code 1 before it answered',
    ]);

    let clock = 0;
    const flaky = [0, 1, 2, 3].map(() => fakeService('redis://127.0.0.1:6402'));
    const b = recorder();
    let next = 1;
    supervise('redis-server', flaky[0] as ReturnType<typeof fakeService>, b.events, {
      restart: async () => flaky[next++] as ReturnType<typeof fakeService>,
      maxRestarts: 2,
      windowMs: 60_000,
      now: () => clock,
    });
    for (const service of flaky.slice(0, 3)) {
      clock += 1000;
      service.die('killed by SIGKILL');
      await settle();
    }
    expect(b.fatal).toEqual([
      'redis-server (redis://127.0.0.1:6402) died: killed by SIGKILL, 3 times within 60 s; giving up',
    ]);
  });

  it('stays quiet about a process that was asked to stop', async () => {
    const service = fakeService('redis://127.0.0.1:6403');
    const { lines, fatal, events } = recorder();
    const supervised = supervise('redis-server', service, events, { restart: async () => service });
    await supervised.stop();
    service.die('killed by SIGTERM');
    await settle();
    expect([...lines, ...fatal]).toEqual([]);
  });
});
