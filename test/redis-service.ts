// A real Redis for the bullmq tests and benchmark: Debian's redis-server on a free loopback port,
// in memory only (no RDB snapshots, no append-only file), stopped when the caller closes it.
import { spawn } from 'node:child_process';
import { freePort } from '../scripts/free-port';

export interface RedisService {
  url: string;
  port: number;
  /** The redis-server process, for the benchmark's CPU figures. */
  pid: number;
  close(): Promise<void>;
}

export const REDIS_SERVER = process.env.STACKYARD_REDIS_SERVER ?? '/usr/bin/redis-server';

export async function startRedis(): Promise<RedisService> {
  const port = await freePort();
  const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`cannot start ${REDIS_SERVER} (apt-get install redis-server): ${error.message}`)));
    void exited.then(() => reject(new Error(`redis-server exited before it was ready:\n${output}`)));
    // Ready once it accepts a connection: a PING over a plain socket answers +PONG.
    const tryPing = async () => {
      const { createConnection } = await import('node:net');
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        if (data.toString().startsWith('+PONG')) resolve();
        else setTimeout(() => void tryPing(), 50);
      });
      socket.once('error', () => {
        socket.destroy();
        setTimeout(() => void tryPing(), 50);
      });
    };
    void tryPing();
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
