/**
 * Writes at close over real loopback TCP (issue 21), the Node-specific parts: a peer's EOF
 * (a half-closing peer that still reads) flushes the writes issued before it, and the bound
 * on a clean close's flush when the peer stops reading (the writes not confirmed reject with
 * `ETIMEDOUT`, the socket is destroyed). The cases every driver shares are in the
 * conformance suite (`conformance/close-writes.ts`).
 */
import * as net from 'node:net';
import { StreamClosedError } from '../core/errors.js';
import { IOStream } from '../drivers/node/net.js';
import { LINGER_MS } from '../drivers/node/socket-transport.js';
import { test, withTimeout } from './_support/harness.js';

/** A raw peer on 127.0.0.1 (`allowHalfOpen`: it may end its side and keep reading). */
async function rawPeer(onSocket: (socket: net.Socket) => void): Promise<IOStream> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    server.close();
    socket.on('error', () => {}); // our side may destroy the connection: a reset here is expected
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return new IOStream().connect({ host: '127.0.0.1', port });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => { setTimeout(resolve, ms); });

test('TCP: the peer\'s EOF flushes the writes issued before it (a half-closing peer still gets them)', async (t) => {
  const size = 16 * 1024 * 1024;
  let received = 0;
  let peerEnded!: () => void;
  const peerDone = new Promise<void>((resolve) => { peerEnded = resolve; });
  let peer!: net.Socket;
  const stream = await rawPeer((socket) => {
    peer = socket;
    socket.pause(); // not reading yet: the write waits behind the kernel's buffers
    socket.on('data', (d: Buffer) => { received += d.length; });
    socket.on('end', () => { peerEnded(); socket.end(); });
  });
  await withTimeout(new Promise<void>((resolve) => { const iv = setInterval(() => { if (peer !== undefined) { clearInterval(iv); resolve(); } }, 5); }), 5000, 'accept');
  let resolved = false;
  const order: string[] = [];
  const w = stream.write(new Uint8Array(size).fill(7)).then(() => { resolved = true; order.push('write resolved'); });
  const closed = new Promise<void>((resolve) => { stream.setCloseCallback(() => { order.push('close callback'); resolve(); }); });
  await sleep(100);
  t.notOk(resolved, 'the write is queued behind the paused peer');
  peer.end(); // our stream sees EOF: a clean close
  await withTimeout(new Promise<void>((resolve) => { const iv = setInterval(() => { if (stream.closed()) { clearInterval(iv); resolve(); } }, 2); }), 5000, 'EOF seen');
  t.equal(stream.error, null, 'closed cleanly by the EOF');
  peer.resume();
  await withTimeout(Promise.all([w, closed, peerDone]), 20_000, 'flush');
  t.equal(resolved, true, 'the write resolved');
  t.equal(received, size, 'the peer got every byte');
  t.deepEqual(order, ['write resolved', 'close callback'], 'the close callback after the flushed write');
});

test('TCP: a clean close whose peer stops reading is bounded: the unconfirmed writes reject with ETIMEDOUT', { timeout: 30_000 }, async (t) => {
  let peer!: net.Socket;
  const stream = await rawPeer((socket) => { peer = socket; socket.pause(); });
  // Write until a write stays unconfirmed: every buffer between us and the peer is full.
  const chunk = 256 * 1024;
  const writes: Promise<void>[] = [];
  let stalled = false;
  for (let i = 0; i < 256 && !stalled; i++) {
    const w = stream.write(new Uint8Array(chunk).fill(i));
    writes.push(w);
    stalled = await Promise.race([w.then(() => false, () => false), sleep(150).then(() => true)]);
  }
  t.ok(stalled, `stalled after ${writes.length} writes`);
  const settled = writes.map((w) => w.then(() => 'ok', (e: unknown) => e));
  const t0 = Date.now();
  stream.close();
  const results = await withTimeout(Promise.all(settled), 20_000, 'writes settle');
  const waited = Date.now() - t0;
  const rejected = results.filter((r) => r !== 'ok');
  t.ok(rejected.length >= 1, `${rejected.length} writes rejected`);
  t.ok(rejected.every((e) => e instanceof StreamClosedError && (e.realError as { code?: unknown } | undefined)?.code === 'ETIMEDOUT'),
    'with StreamClosedError { realError.code: ETIMEDOUT }');
  t.equal((stream.error as { code?: unknown } | null)?.code, 'ETIMEDOUT', 'the stream error says the flush timed out');
  t.ok(waited >= LINGER_MS - 50, `it waited at least LINGER_MS (${waited} ms)`);
  t.equal(stream.socket?.destroyed, true, 'our socket was destroyed');
  peer.destroy();
});
