/**
 * Listeners on 127.0.0.1 that never get anywhere, for tests of connect/handshake deadlines.
 *
 * A TCP connect to 127.0.0.1 completes at once, so a connect that stays pending needs a
 * listener whose accept queue is full: a child process listens with backlog 1 and then blocks
 * its event loop (Atomics.wait), so it never accepts. Linux completes backlog + 1 handshakes
 * into the queue and drops every SYN after that, so the next connect stays in SYN_SENT (the
 * kernel retransmits for minutes). We fill the queue and check that a probe connect really
 * stays pending before handing the port out.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';

const CHILD = `
const net = require('node:net');
const server = net.createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(server.address().port + '\\n', () => {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // never accept again
  });
});
`;

/** How long a probe connect must stay pending to count the queue as full. */
const PROBE_MS = 300;

export interface Unanswered {
  port: number;
  /** Destroys the sockets that fill the queue and kills the child. */
  close(): Promise<void>;
}

/** A port on 127.0.0.1 where a new TCP connect stays pending (see above). */
export async function pendingConnectPort(): Promise<Unanswered> {
  const child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const fillers: net.Socket[] = [];
  const close = async (): Promise<void> => {
    for (const s of fillers) s.destroy();
    child.kill('SIGKILL');
    await exited;
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`listener child exited (${String(code)})`)));
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
    });
    for (let i = 0; i < 8; i++) {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', () => {});
      fillers.push(s);
      const connected = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => { s.off('connect', onConnect); resolve(false); }, PROBE_MS);
        const onConnect = (): void => { clearTimeout(timer); resolve(true); };
        s.once('connect', onConnect);
      });
      if (!connected && s.connecting) return { port, close };
    }
    throw new Error('the accept queue never filled up');
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * A listener on 127.0.0.1 that accepts connections and never writes a byte (so a TLS client
 * waits for the ServerHello forever). `accepted` counts the sockets it took.
 */
export async function silentListener(): Promise<{ port: number; accepted: () => number; close(): Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => sockets.length,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
