/**
 * W6 client: opens N connections to the server (at most 256 connecting at once, so the
 * listen backlog never overflows), waits for `go` on stdin, then sends one line on each and
 * waits for every echo. Argument `{"port", "n"}`. Prints `{"connected": k}` and `{"done": seconds}`;
 * on a refused connection prints `{"error", "connected": k}` so the harness can retry smaller.
 */
import * as net from 'node:net';

const { port, n } = JSON.parse(process.argv[2] ?? '{}') as { port: number; n: number };
const print = (o: unknown): void => { process.stdout.write(`${JSON.stringify(o)}\n`); };
const LINE = Buffer.from('hello-w6\n');
const sockets: net.Socket[] = [];
let connected = 0;

function fail(err: Error): never {
  print({ error: String(err), connected });
  process.exit(1);
}

function connectOne(): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => { connected++; resolve(); });
    s.on('error', fail);
    sockets.push(s);
  });
}

async function main(): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) { next++; await connectOne(); }
  };
  await Promise.all(Array.from({ length: Math.min(256, n) }, worker));
  print({ connected });
  process.stdin.once('data', () => {
    const t0 = performance.now();
    let echoes = 0;
    for (const s of sockets) {
      s.once('data', () => {
        if (++echoes === n) {
          print({ done: (performance.now() - t0) / 1000 });
          process.exit(0);
        }
      });
      s.write(LINE);
    }
  });
}

void main();
