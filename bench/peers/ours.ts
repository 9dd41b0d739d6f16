/**
 * Peer "ours": this library's `IOStream` over the accepted socket, used the way the README
 * shows — one read call per unit, `await` (or a Tornado-4.4 `callback` chaining the next read,
 * or `for await` over `readUntilIter`), or for W2's `ours-each` one `readUntilEach` that hands
 * every line to its callback (`false` after the last one stops it). W1 also as `readInto` one
 * reused 64 KiB buffer (`w1into`), and both W1 loops with the receiver connecting (`w1c`,
 * `w1cinto`: the stream creates its socket, with `onread`).
 */
import { IOStream } from '../../drivers/node/net.js';
import type { ChildParams } from '../lib/params.js';
import { LineTally, expect, runReceiver } from '../lib/receiver.js';

const CRLF = '\r\n';
const CRLFCRLF = '\r\n\r\n';

/** W1's loop: `readBytes(65536, { partial: true })` until every byte came. */
async function bulkBytes(stream: IOStream, p: ChildParams): Promise<number> {
  let total = 0;
  while (total < p.bytes) total += (await stream.readBytes(65536, { partial: true })).length;
  expect('bytes', total, p.bytes);
  return total;
}

/** W1 through `readInto` one 64 KiB buffer, reused for every read (partial). */
async function bulkInto(stream: IOStream, p: ChildParams): Promise<number> {
  const buf = new Uint8Array(65536);
  let total = 0;
  while (total < p.bytes) total += await stream.readInto(buf, { partial: true });
  expect('bytes', total, p.bytes);
  return total;
}

const connected = (port: number): Promise<IOStream> => new IOStream().connect({ host: '127.0.0.1', port });

async function message(stream: IOStream, size: number): Promise<number> {
  const msg = await stream.readUntil(CRLFCRLF);
  expect('message length', msg.length, size + 4);
  return 1;
}

runReceiver({
  w1: (socket, p) => bulkBytes(new IOStream(socket), p),
  w1into: (socket, p) => bulkInto(new IOStream(socket), p),
  w1c: async (port, p) => bulkBytes(await connected(port), p),
  w1cinto: async (port, p) => bulkInto(await connected(port), p),
  async w2(socket, p) {
    const stream = new IOStream(socket);
    let bytes = 0;
    for (let i = 0; i < p.count; i++) bytes += (await stream.readUntil(CRLF)).length;
    expect('line bytes', bytes, p.count * 34);
    return p.count;
  },
  w2cb(socket, p) {
    const stream = new IOStream(socket);
    return new Promise((resolve, reject) => {
      const tally = new LineTally(p.count, resolve);
      const onLine = (line: Buffer): void => {
        if (tally.add(line)) stream.readUntil(CRLF, { callback: onLine });
      };
      stream.setCloseCallback(() => {
        if (tally.lines < p.count) reject(stream.error ?? new Error(`closed after ${tally.lines} lines`));
      });
      stream.readUntil(CRLF, { callback: onLine });
    });
  },
  async w2iter(socket, p) {
    const stream = new IOStream(socket);
    let n = 0;
    let bytes = 0;
    for await (const line of stream.readUntilIter(CRLF)) {
      bytes += line.length;
      if (++n === p.count) break;
    }
    expect('line bytes', bytes, p.count * 34);
    return n;
  },
  w2each(socket, p) {
    const stream = new IOStream(socket);
    return new Promise((resolve, reject) => {
      const tally = new LineTally(p.count, resolve);
      stream.readUntilEach(CRLF, (line) => tally.add(line)).catch(reject);
      stream.setCloseCallback(() => {
        if (tally.lines < p.count) reject(stream.error ?? new Error(`closed after ${tally.lines} lines`));
      });
    });
  },
  async w3(socket, p) {
    const stream = new IOStream(socket);
    stream.setNodelay(true);
    for (let i = 0; i < p.count; i++) {
      const m = await stream.readUntil('\n');
      await stream.write(m);
    }
    return p.count;
  },
  w4: (socket, p) => message(new IOStream(socket), p.bytes),
  w4slow: (socket, p) => message(new IOStream(socket), p.bytes),
});
