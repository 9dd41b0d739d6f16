/**
 * Peer "floor" (W1 readInto and W2): not a library but the least each API shape costs here.
 *
 * W1 (row `floor-readInto`): `onread` into one reused 64 KiB buffer, each read copied into the
 * caller's one 64 KiB buffer and handed to an awaiting loop through one promise — what an
 * `await stream.readInto(buf, { partial: true })` loop cannot go below (raw `onread` with no
 * copy and no promise is the limit row; the promise alone costs 15-20 % there: Node runs a
 * microtask checkpoint after every read callback that queued one). `w1cinto`: the socket the
 * receiver connects, made with `onread`; `w1into`: the accepted socket, switched the way
 * `IOStream` switches one (the library's `reused-receive.ts`).
 *
 * W2:
 * Raw `net` 'data' events, the `indexOf` scan and a Buffer view per line (`LineSplitter` with
 * direct views: Node's Buffer class constructed directly, as cheaply as a real Buffer per line
 * can be made), then per line:
 * - `w2` (row `floor`): `await Promise.resolve(line)` — what an `await stream.readUntil()` loop
 *   cannot go below: one `Promise<Buffer>` per read. Resolving a promise with a typed array
 *   makes V8 look `then` up along its prototype chain; that lookup is most of its cost.
 * - `w2cb` (row `floor-cb`): a minimal pull-style reader: each callback calls `readLine(cb)`,
 *   which scans the current chunk from its position, makes the view and queues `cb`; one loop
 *   per chunk runs the queue — what Tornado-4.4 callback reads (one read call per record, no
 *   promise, never inside the read call, results run back to back) cannot go below.
 * - `w2push` (row `floor-push`, reference): no read calls at all: each chunk is split and the
 *   callback called per line from one microtask, as event APIs (`readline`'s 'line') work.
 * - `w2iter` (row `floor-iter`): `for await` over an iterator whose `next()` takes the line from
 *   the same minimal reader and returns `Promise.resolve({ value: line, done: false })` — what
 *   any async iterator of records cannot go below.
 */
import type * as net from 'node:net';
import { acceptedOnread, connectOnread } from '../lib/onread.js';
import { LineTally, expect, runReceiver } from '../lib/receiver.js';
import { LineSplitter } from '../lib/scan.js';

/** The socket's chunks, one `await` per chunk when none is waiting. */
function chunkQueue(socket: net.Socket): () => Promise<Buffer> {
  const chunks: Buffer[] = [];
  let wake: (() => void) | null = null;
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    if (wake !== null) { const w = wake; wake = null; w(); }
  });
  return async () => {
    while (chunks.length === 0) await new Promise<void>((r) => { wake = r; });
    return chunks.shift() as Buffer;
  };
}

/** Lines as they are split out of the socket's chunks, for a pull-style consumer. */
class LineSource {
  private readonly next: () => Promise<Buffer>;
  private readonly split = new LineSplitter(true);
  private lines: Buffer[] = [];
  private at = 0;
  private readonly collect = (line: Buffer): void => { this.lines.push(line); };

  constructor(socket: net.Socket) {
    this.next = chunkQueue(socket);
  }

  /** The next line if one is split out already, else undefined. */
  take(): Buffer | undefined {
    return this.at < this.lines.length ? this.lines[this.at++] : undefined;
  }

  async refill(): Promise<void> {
    this.lines = [];
    this.at = 0;
    while (this.lines.length === 0) this.split.feed(await this.next(), this.collect);
  }
}

type BufferCtor = new (ab: ArrayBufferLike, offset: number, length: number) => Buffer;
const FastBuffer = (Buffer as unknown as { [Symbol.species]: BufferCtor })[Symbol.species];
const CR = 13;
const LF = 10;

/**
 * The least a pull-style callback reader can do: the unread bytes as one Buffer (chunks are
 * appended with one copy only when a line straddles them), a scan per call, a view per line,
 * and callbacks queued for one runner per batch.
 */
class PullReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private waiting: ((line: Buffer) => void) | null = null;
  private wake: (() => void) | null = null;
  private readonly q: unknown[] = [];
  private readonly run = (): void => {
    const q = this.q;
    for (let i = 0; i < q.length; i += 2) (q[i] as (line: Buffer) => void)(q[i + 1] as Buffer);
    q.length = 0;
  };

  constructor(socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
      this.pos = 0;
      const wake = this.wake;
      this.wake = null;
      wake?.();
      const w = this.waiting;
      this.waiting = null;
      if (w !== null) this.readLine(w);
    });
  }

  /** The next line taken now, or undefined when no full line is buffered. */
  takeLine(): Buffer | undefined {
    const b = this.buf;
    let at = this.pos + 1;
    for (;;) {
      const hit = b.indexOf(LF, at);
      if (hit < 0) return undefined;
      if (b[hit - 1] === CR) {
        const line = new FastBuffer(b.buffer, b.byteOffset + this.pos, hit + 1 - this.pos);
        this.pos = hit + 1;
        return line;
      }
      at = hit + 1;
    }
  }

  /** Calls `cb` with the next line from the runner, now or when it has arrived. */
  readLine(cb: (line: Buffer) => void): void {
    const line = this.takeLine();
    if (line === undefined) {
      this.waiting = cb;
      return;
    }
    const q = this.q;
    q.push(cb, line);
    if (q.length === 2) queueMicrotask(this.run);
  }

  /** Resolves when the next chunk arrived. */
  whenMore(): Promise<void> {
    return new Promise((resolve) => { this.wake = resolve; });
  }
}

/**
 * The floor of an awaited `readInto` loop: `start` puts a socket on `onread` with the callback it
 * gets; each read is copied into `target` and resolves the loop's one pending promise.
 */
async function intoLoop(bytes: number, start: (callback: (n: number, buf: Buffer) => boolean) => net.Socket): Promise<number> {
  const target = new Uint8Array(65536);
  let wake: ((n: number) => void) | null = null;
  const early: Uint8Array[] = []; // a read while no promise waits (not expected): kept, not lost
  const socket = start((n, buf) => {
    const bytesRead = n === buf.length ? buf : buf.subarray(0, n);
    const w = wake;
    if (w === null) { early.push(bytesRead.slice()); return true; }
    wake = null;
    target.set(bytesRead);
    w(n);
    return true;
  });
  let total = 0;
  while (total < bytes) {
    const head = early.shift();
    if (head !== undefined) { target.set(head); total += head.length; continue; }
    total += await new Promise<number>((resolve) => { wake = resolve; });
  }
  socket.destroy();
  return total;
}

runReceiver({
  async w1into(socket, p) {
    const total = await intoLoop(p.bytes, (callback) => acceptedOnread(socket, callback));
    expect('bytes', total, p.bytes);
    return total;
  },
  async w1cinto(port, p) {
    const total = await intoLoop(p.bytes, (callback) => connectOnread(port, callback));
    expect('bytes', total, p.bytes);
    return total;
  },
  async w2(socket, p) {
    const src = new LineSource(socket);
    let n = 0;
    let bytes = 0;
    while (n < p.count) {
      const line = src.take();
      if (line === undefined) { await src.refill(); continue; }
      bytes += (await Promise.resolve(line)).length;
      n++;
    }
    expect('line bytes', bytes, p.count * 34);
    return n;
  },
  w2cb(socket, p) {
    return new Promise((resolve, reject) => {
      const reader = new PullReader(socket);
      const tally = new LineTally(p.count, resolve);
      const onLine = (line: Buffer): void => { if (tally.add(line)) reader.readLine(onLine); };
      reader.readLine(onLine);
      socket.on('error', reject);
      socket.on('end', () => { if (tally.lines < p.count) reject(new Error(`closed after ${tally.lines} lines`)); });
    });
  },
  w2push(socket, p) {
    return new Promise((resolve, reject) => {
      const split = new LineSplitter(true);
      const tally = new LineTally(p.count, resolve);
      const onLine = (line: Buffer): void => { tally.add(line); };
      socket.on('data', (chunk: Buffer) => {
        const lines: Buffer[] = [];
        split.feed(chunk, (line) => { lines.push(line); });
        queueMicrotask(() => { for (let i = 0; i < lines.length; i++) onLine(lines[i] as Buffer); });
      });
      socket.on('error', reject);
      socket.on('end', () => { if (tally.lines < p.count) reject(new Error(`closed after ${tally.lines} lines`)); });
    });
  },
  async w2iter(socket, p) {
    const reader = new PullReader(socket);
    const it: AsyncIterableIterator<Buffer> = {
      next() {
        const line = reader.takeLine();
        if (line !== undefined) return Promise.resolve({ value: line, done: false });
        return reader.whenMore().then(() => it.next());
      },
      [Symbol.asyncIterator]() { return this; },
    };
    let n = 0;
    let bytes = 0;
    for await (const line of it) {
      bytes += line.length;
      if (++n === p.count) break;
    }
    expect('line bytes', bytes, p.count * 34);
    return n;
  },
});
