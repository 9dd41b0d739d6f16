/**
 * Peer "promise-floor" (W2 only): not a library but the least any API that settles one
 * `Promise<Buffer>` per line can cost here. Raw `net` 'data' events, the `indexOf` scan and a
 * Buffer view per line (`LineSplitter` with direct views), then per line:
 * - `w2`: `await Promise.resolve(line)` — what an `await stream.readUntil()` loop cannot go below;
 * - `w2cb`: `Promise.resolve(line)` returned and dropped, and the callback run from one
 *   microtask per chunk — what Tornado-4.4 callbacks that still return a promise per read
 *   (API.md) cannot go below.
 * Resolving a promise with a typed array makes V8 look `then` up along its prototype chain;
 * that lookup is most of the gap between this row and `raw`.
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

runReceiver({
  async w2(socket, p) {
    const next = chunkQueue(socket);
    const split = new LineSplitter(true);
    const lines: Buffer[] = [];
    const collect = (line: Buffer): void => { lines.push(line); };
    let n = 0;
    let bytes = 0;
    while (n < p.count) {
      lines.length = 0;
      split.feed(await next(), collect);
      for (let i = 0; i < lines.length; i++) {
        bytes += (await Promise.resolve(lines[i] as Buffer)).length;
        n++;
      }
    }
    expect('line bytes', bytes, p.count * 34);
    return n;
  },
  w2cb(socket, p) {
    return new Promise((resolve, reject) => {
      const split = new LineSplitter(true);
      const tally = new LineTally(p.count, resolve);
      socket.on('data', (chunk: Buffer) => {
        const lines: Buffer[] = [];
        split.feed(chunk, (line) => { lines.push(line); });
        for (let i = 0; i < lines.length; i++) void Promise.resolve(lines[i] as Buffer);
        queueMicrotask(() => { for (let i = 0; i < lines.length; i++) tally.add(lines[i] as Buffer); });
      });
      socket.on('error', reject);
      socket.on('end', () => { if (tally.lines < p.count) reject(new Error(`closed after ${tally.lines} lines`)); });
    });
  },
});
