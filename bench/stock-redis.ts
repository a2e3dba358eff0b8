import { type ChildProcess, spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { findFreePort } from '../src/local/stack';

/** A redis-server the bench started itself, without src/local/stack.ts's MALLOC_CONF. */
export type StockRedis = { url: string; stop(): Promise<void> };

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/**
 * Starts redis-server with jemalloc's stock settings (MALLOC_CONF removed from its environment), no
 * persistence, on a free port: the configuration most installations run, to show what (c) costs there.
 */
export async function startStockRedis(): Promise<StockRedis> {
  const port = await findFreePort();
  const env = { ...process.env };
  delete env.MALLOC_CONF;
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore', env },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 15_000;
  while (!(await answersPing(port))) {
    if (child.exitCode !== null) throw new Error(`stock redis-server exited with code ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('stock redis-server did not answer within 15 s');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
