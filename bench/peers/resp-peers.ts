/**
 * Reference RESP servers for the RESP group (lib/resp.ts), to say what bounds the example
 * server: the same commands (examples/resp-commands.ts) and reply encoder (RespWriter), the
 * same one-write-per-batch policy, and TCP_NODELAY; only the reading differs.
 * - `--impl=raw`: raw `net`, requests parsed synchronously out of the received chunks: what
 *   Node allows a server written without a stream library (no promise per read).
 * - `--impl=promise-floor`: raw `net` and the same scan, but each of a request's reads (header
 *   line, bulk header, bulk payload) handed out as `await Promise.resolve(view)`: the least a
 *   server written with `await stream.readUntil()` / `readBytes()` per read can cost.
 * - `--impl=callback-floor`: raw `net` and the same scan, each read's result handed to a
 *   callback through a queue run back to back from one microtask (what the stream's callback
 *   reads do), parsed by the same state machine as the example: the least a server written
 *   with Tornado-4.4 callback reads per element can cost.
 * Usage: node resp-peers.mjs --impl=raw|promise-floor|callback-floor --port=N. Multibulk
 * requests only.
 */
import * as net from 'node:net';
import { commandName, execute, type RespStore } from '../../examples/resp-commands.js';
import { RespWriter } from '../../examples/resp.js';

type BufferCtor = new (ab: ArrayBufferLike, offset: number, length: number) => Buffer;
const FastBuffer = (Buffer as unknown as { [Symbol.species]: BufferCtor })[Symbol.species];

/** The decimal integer between `from` and `to` (exclusive) of `b`; NaN if it is not one. */
function integer(b: Uint8Array, from: number, to: number): number {
  let i = from;
  const neg = b[i] === 0x2d;
  if (neg) i++;
  if (i >= to) return NaN;
  let n = 0;
  for (; i < to; i++) {
    const d = (b[i] as number) - 0x30;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

/** The received bytes not yet parsed: one Buffer, joined only when a request straddles chunks. */
class Pending {
  buf: Buffer = Buffer.alloc(0);
  at = 0;
  add(chunk: Buffer): void {
    this.buf = this.at === this.buf.length ? chunk : Buffer.concat([this.buf.subarray(this.at), chunk]);
    this.at = 0;
  }
  get left(): number { return this.buf.length - this.at; }
  /** Run (once) after the next chunk is added: a read that waits for bytes. */
  waiter: (() => void) | null = null;
  /** Adds every chunk `socket` receives, then runs the waiter. */
  listen(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.add(chunk);
      const w = this.waiter;
      this.waiter = null;
      w?.();
    });
  }
  /** A view of `n` bytes at the parse position, which moves past them. */
  take(n: number): Buffer {
    const v = new FastBuffer(this.buf.buffer, this.buf.byteOffset + this.at, n);
    this.at += n;
    return v;
  }
}

function raw(socket: net.Socket, store: RespStore): void {
  const p = new Pending();
  const out = new RespWriter();
  socket.on('data', (chunk: Buffer) => {
    p.add(chunk);
    for (;;) {
      const start = p.at;
      const args = parseOne(p);
      if (args === null) { p.at = start; break; }
      out.value(execute(store, commandName(args), args));
    }
    if (out.length > 0) socket.write(out.take());
  });
}

/** One whole request from `p`, or null when it is not all there yet. */
function parseOne(p: Pending): Buffer[] | null {
  const b = p.buf;
  let nl = b.indexOf(0x0a, p.at);
  if (nl < 0) return null;
  const n = integer(b, p.at + 1, nl - 1);
  p.at = nl + 1;
  const args: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    nl = b.indexOf(0x0a, p.at);
    if (nl < 0) return null;
    const len = integer(b, p.at + 1, nl - 1);
    p.at = nl + 1;
    if (p.left < len + 2) return null;
    args.push(p.take(len));
    p.at += 2;
  }
  return args;
}

function promiseFloor(socket: net.Socket, store: RespStore): void {
  const p = new Pending();
  const out = new RespWriter();
  p.listen(socket);
  const flushAndWait = (): Promise<void> => {
    if (out.length > 0) socket.write(out.take());
    return new Promise<void>((resolve) => { p.waiter = resolve; });
  };
  // Not async functions: those would wrap each read's promise in one more.
  const line = (): Promise<Buffer> => {
    const nl = p.buf.indexOf(0x0a, p.at);
    return nl >= 0 ? Promise.resolve(p.take(nl + 1 - p.at)) : flushAndWait().then(line);
  };
  const bytes = (n: number): Promise<Buffer> =>
    (p.left >= n ? Promise.resolve(p.take(n)) : flushAndWait().then(() => bytes(n)));
  void (async () => {
    for (;;) {
      const head = await line();
      const n = integer(head, 1, head.length - 2);
      const args: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const h = await line();
        const len = integer(h, 1, h.length - 2);
        args.push((await bytes(len + 2)).subarray(0, len));
      }
      out.value(execute(store, commandName(args), args));
    }
  })();
}

function callbackFloor(socket: net.Socket, store: RespStore): void {
  const p = new Pending();
  const out = new RespWriter();
  // (callback, value) pairs run from one microtask; a callback's own reads append to the run.
  const queue: unknown[] = [];
  const run = (): void => {
    for (let i = 0; i < queue.length; i += 2) (queue[i] as (v: unknown) => void)(queue[i + 1]);
    queue.length = 0;
  };
  const deliver = (callback: (v: Buffer) => void, value: Buffer): void => {
    queue.push(callback, value);
    if (queue.length === 2) queueMicrotask(run);
  };
  p.listen(socket);
  const wait = (again: () => void): void => {
    if (out.length > 0) socket.write(out.take());
    p.waiter = again;
  };
  const line = (callback: (v: Buffer) => void): void => {
    const nl = p.buf.indexOf(0x0a, p.at);
    if (nl >= 0) deliver(callback, p.take(nl + 1 - p.at));
    else wait(() => { line(callback); });
  };
  const bytes = (n: number, callback: (v: Buffer) => void): void => {
    if (p.left >= n) deliver(callback, p.take(n));
    else wait(() => { bytes(n, callback); });
  };
  let args: Buffer[] = [];
  let argc = 0;
  const onRequestLine = (head: Buffer): void => {
    argc = integer(head, 1, head.length - 2);
    args = [];
    line(argc > 0 ? onBulkHeader : onRequestLine);
  };
  const onBulkHeader = (h: Buffer): void => { bytes(integer(h, 1, h.length - 2) + 2, onBulk); };
  const onBulk = (data: Buffer): void => {
    args.push(data.subarray(0, data.length - 2));
    if (args.length < argc) {
      line(onBulkHeader);
      return;
    }
    out.value(execute(store, commandName(args), args));
    line(onRequestLine);
  };
  line(onRequestLine);
}

const IMPLS: Record<string, (socket: net.Socket, store: RespStore) => void> = {
  raw, 'promise-floor': promiseFloor, 'callback-floor': callbackFloor,
};
const option = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const impl = IMPLS[option('impl') ?? ''];
if (impl === undefined) throw new Error(`--impl=${Object.keys(IMPLS).join('|')}`);
const store: RespStore = new Map();
net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => { socket.destroy(); });
  impl(socket, store);
}).listen(Number(option('port')), '127.0.0.1');
