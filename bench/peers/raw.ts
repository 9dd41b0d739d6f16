/**
 * Peer "raw net": Node `net` with hand-written scanning — the limit. `'data'` events, a
 * numeric `indexOf` per line, views where possible, one join for the big message.
 */
import type * as net from 'node:net';
import { expect, runReceiver } from '../lib/receiver.js';
import { LineLocator, LineSplitter, MessageAccumulator, NewlineSplitter } from '../lib/scan.js';

const CRLFCRLF = Buffer.from('\r\n\r\n');

function onData(socket: net.Socket, fn: (chunk: Buffer) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => { socket.removeAllListeners('data'); resolve(); };
    socket.on('data', (chunk: Buffer) => { if (fn(chunk)) done(); });
    socket.on('end', () => reject(new Error('peer closed early')));
    socket.on('error', reject);
  });
}

async function message(socket: net.Socket, size: number): Promise<number> {
  const acc = new MessageAccumulator(CRLFCRLF);
  let msg: Buffer | null = null;
  await onData(socket, (c) => (msg = acc.feed(c)) !== null);
  expect('message length', (msg as Buffer | null)?.length ?? -1, size + 4);
  return 1;
}

runReceiver({
  async w1(socket, p) {
    let total = 0;
    await onData(socket, (c) => (total += c.length) >= p.bytes);
    expect('bytes', total, p.bytes);
    return total;
  },
  async w2(socket, p) {
    const loc = new LineLocator();
    await onData(socket, (c) => { loc.feed(c); return loc.count >= p.count; });
    expect('lines', loc.count, p.count);
    return loc.count;
  },
  async w2sub(socket, p) {
    const split = new LineSplitter();
    await onData(socket, (c) => { split.feed(c); return split.count >= p.count; });
    expect('lines', split.count, p.count);
    expect('line bytes', split.bytes, p.count * 34);
    return split.count;
  },
  async w3(socket, p) {
    const split = new NewlineSplitter();
    let n = 0;
    await onData(socket, (c) => {
      split.feed(c, (m) => { socket.write(m); n++; });
      return n >= p.count;
    });
    return n;
  },
  w4: (socket, p) => message(socket, p.bytes),
  w4slow: (socket, p) => message(socket, p.bytes),
});
