/**
 * Peer "raw net": Node `net` with hand-written scanning — the limit. `'data'` events, a
 * numeric `indexOf` per line, views where possible, one join for the big message. W1 also as
 * `onread` into one reused 64 KiB buffer, counting bytes and nothing else (the receive path's
 * limit): `w1cinto` with the public option on the socket it connects, `w1into` on the accepted
 * socket, switched the way `IOStream` switches one at its first `readInto` (the library's
 * `reused-receive.ts`, the only way onto `onread` for a socket `net.Server` made).
 */
import * as net from 'node:net';
import { acceptedOnread, connectOnread } from '../lib/onread.js';
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

/** Counts `onread` deliveries until `bytes` came; `start` puts the socket on onread with `count`. */
function countReads(bytes: number, start: (count: (n: number) => boolean) => net.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let total = 0;
    const socket = start((n) => {
      if ((total += n) >= bytes) { socket.destroy(); resolve(total); }
      return true;
    });
    socket.on('end', () => reject(new Error(`peer closed after ${total} bytes`)));
    socket.on('error', reject);
  });
}

runReceiver({
  async w1(socket, p) {
    let total = 0;
    await onData(socket, (c) => (total += c.length) >= p.bytes);
    expect('bytes', total, p.bytes);
    return total;
  },
  async w1into(socket, p) {
    const total = await countReads(p.bytes, (count) => acceptedOnread(socket, count));
    expect('bytes', total, p.bytes);
    return total;
  },
  async w1c(port, p) {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let total = 0;
    await onData(socket, (c) => (total += c.length) >= p.bytes);
    expect('bytes', total, p.bytes);
    return total;
  },
  async w1cinto(port, p) {
    const total = await countReads(p.bytes, (count) => connectOnread(port, count));
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
