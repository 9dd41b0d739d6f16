/**
 * W6 server: accepts N loopback connections, wraps each (`ours`: an `IOStream` with a pending
 * `readUntil('\n')`; `raw`: a `'data'` listener with a line scanner), reports heap per idle
 * connection after gc, then echoes one line per connection.
 *
 * Run with `--expose-gc`. Argument `{"mode": "raw"|"ours", "n": N}`. Prints `{"ready": port}`,
 * `{"idle": {acceptSeconds, heapPerConn}}` once all N wait idle, and `{"result": {echoSeconds}}`
 * once every connection echoed its line.
 */
import * as net from 'node:net';
import { IOStream } from '../../drivers/node/net.js';
import { NewlineSplitter } from '../lib/scan.js';

const { mode, n } = JSON.parse(process.argv[2] ?? '{}') as { mode: 'raw' | 'ours'; n: number };
const print = (o: unknown): void => { process.stdout.write(`${JSON.stringify(o)}\n`); };
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

function heap(): number {
  gc?.(); gc?.();
  return process.memoryUsage().heapUsed;
}

const keep: unknown[] = [];
let accepted = 0;
let echoed = 0;
let tFirst = 0;
let tIdle = 0;
let heap0 = 0;

function onEchoed(): void {
  if (++echoed === n) {
    print({ result: { echoSeconds: (performance.now() - tIdle) / 1000 } });
    process.stdout.write('', () => process.exit(0));
  }
}

function wrap(socket: net.Socket): void {
  if (mode === 'ours') {
    const stream = new IOStream(socket);
    keep.push(stream);
    stream.readUntil('\n').then((line) => stream.write(line)).then(onEchoed, (err: unknown) => {
      print({ error: String(err) });
      process.exit(1);
    });
  } else {
    keep.push(socket);
    const split = new NewlineSplitter();
    socket.on('data', (c: Buffer) => split.feed(c, (line) => { socket.write(line, onEchoed); }));
    socket.on('error', (err) => { print({ error: String(err) }); process.exit(1); });
  }
}

const server = net.createServer({ noDelay: true }, (socket) => {
  if (accepted === 0) tFirst = performance.now();
  wrap(socket);
  if (++accepted === n) {
    const acceptSeconds = (performance.now() - tFirst) / 1000;
    const heapPerConn = (heap() - heap0) / n;
    tIdle = performance.now();
    print({ idle: { acceptSeconds, heapPerConn } });
  }
});
heap0 = heap();
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  print({ ready: (server.address() as net.AddressInfo).port });
});
