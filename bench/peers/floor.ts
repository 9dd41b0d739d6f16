/**
 * Peer "floor" (W2 only): not a library but the least each per-record API shape costs here.
 * Raw `net` 'data' events, the `indexOf` scan and a Buffer view per line (`LineSplitter` with
 * direct views: Node's Buffer class constructed directly, as cheaply as a real Buffer per line
 * can be made), then per line:
 * - `w2` (row `floor`): `await Promise.resolve(line)` — what an `await stream.readUntil()` loop
 *   cannot go below: one `Promise<Buffer>` per read. Resolving a promise with a typed array
 *   makes V8 look `then` up along its prototype chain; that lookup is most of its cost.
 * - `w2cb` (row `floor-cb`): the callback called with the line, the chunk's lines run from one
 *   microtask — what Tornado-4.4 callback reads (no promise, never inside the read call, results
 *   run back to back) cannot go below.
 * - `w2iter` (row `floor-iter`): `for await` over an iterator whose `next()` returns
 *   `Promise.resolve({ value: line, done: false })` — what any async iterator of records
 *   cannot go below.
 */
import type * as net from 'node:net';
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

runReceiver({
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
    const src = new LineSource(socket);
    const it: AsyncIterableIterator<Buffer> = {
      async next() {
        for (;;) {
          const line = src.take();
          if (line !== undefined) return { value: line, done: false };
          await src.refill();
        }
      },
      [Symbol.asyncIterator]() { return this; },
    };
    // `async next()` above would make the slow path's promise; the fast path must be the plain
    // Promise.resolve of a fresh result object, as a library's iterator can make it.
    const fast: AsyncIterableIterator<Buffer> = {
      next() {
        const line = src.take();
        return line !== undefined ? Promise.resolve({ value: line, done: false }) : it.next();
      },
      [Symbol.asyncIterator]() { return this; },
    };
    let n = 0;
    let bytes = 0;
    for await (const line of fast) {
      bytes += line.length;
      if (++n === p.count) break;
    }
    expect('line bytes', bytes, p.count * 34);
    return n;
  },
});
