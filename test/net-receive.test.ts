/**
 * `IOStream`'s receive path through the process's one reused receive buffer
 * (`drivers/node/reused-receive.ts`): which sockets take it (created by `connect`: the public
 * `onread` option, from the start; given ones, accepted by a server or `TCPServer`: adopted at
 * their first pending `readInto`, or at once in mode `eager`), which fall back to `'data'` and
 * stay correct, read-ahead and pause on it, STARTTLS over it, and that every socket shares one
 * buffer. The conformance suite runs over every path (`tcp`, `tcp/eager`, `tcp/data`).
 */
import * as net from 'node:net';
import { test, withTimeout } from './_support/harness.js';
import { acceptOnce, bufferedBytes, tcpPair, until, withReceiveMode } from './_support/net-pair.js';
import { IOStream } from '../drivers/node/net.js';
import { serve } from '../drivers/node/server.js';
import { testCerts } from './_support/certs.js';
import { RECEIVE_BUFFER_SIZE } from '../drivers/node/reused-receive.js';
import type { SocketTransport } from '../drivers/node/socket-transport.js';

const WAIT_MS = 10_000;

/** The stream's transport (tests only). */
const transportOf = (s: IOStream): SocketTransport => (s as unknown as { transportRef: SocketTransport }).transportRef;
/** Whether the stream reads into the shared receive buffer. */
const reused = (s: IOStream): boolean => transportOf(s).reusesMemory;

/** The buffer Node's `onread` fills for `socket` (its private kBuffer slot), or null. */
function onreadBuffer(socket: net.Socket): unknown {
  const k = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'kBuffer');
  return k === undefined ? undefined : (socket as unknown as Record<symbol, unknown>)[k];
}

/** `n` bytes of a pattern that a shifted or stale byte breaks. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >>> 9) + seed) & 0xff;
  return b;
}

test('reused receive: connect and accepted sockets read into one buffer shared by every stream', async (t) => {
  const pairs = await withReceiveMode('eager', () => Promise.all(Array.from({ length: 8 }, () => tcpPair())));
  try {
    const buffers = new Set<unknown>();
    for (const [c, s] of pairs) {
      t.ok(reused(c) && reused(s), 'client (connect) and server (accepted) side are on the reused path');
      buffers.add(onreadBuffer(c.socket as net.Socket));
      buffers.add(onreadBuffer(s.socket as net.Socket));
    }
    t.equal(buffers.size, 1, 'one receive buffer for all 16 sockets');
    const [only] = buffers;
    t.ok(Buffer.isBuffer(only) && (only as Buffer).length === RECEIVE_BUFFER_SIZE, '64 KiB');
    // Every stream reads at once through it; each result is its own memory.
    const got = await withTimeout(Promise.all(pairs.map(async ([c, s], i) => {
      const data = pattern(300_000, i);
      void c.write(data);
      const parts: Buffer[] = [];
      for (let n = 0; n < data.length;) {
        const part = await s.readBytes(70_000, { partial: true });
        parts.push(part);
        n += part.length;
      }
      return Buffer.concat(parts).equals(data) && parts.every((p) => p.buffer !== only);
    })), WAIT_MS, 'reads');
    t.deepEqual(got, pairs.map(() => true), 'every stream got its bytes, in results of its own');
  } finally {
    for (const [c, s] of pairs) { c.close(); s.close(); }
  }
});

test('reused receive: an accepted socket moves at its first readInto, mid-stream, losing nothing', async (t) => {
  const [c, s] = await tcpPair();
  try {
    t.ok(reused(c), 'the connect side reads into the shared buffer from the start');
    t.notOk(reused(s), "the accepted side starts on 'data'");
    const data = pattern(4 << 20, 3);
    void c.write(data);
    const out = Buffer.allocUnsafe(data.length);
    // Some bytes through 'data' first (readBytes), then readInto while the bytes keep coming.
    const head = await s.readBytes(100_000);
    out.set(head, 0);
    t.notOk(reused(s), "readBytes leaves it on 'data'");
    const into = new Uint8Array(65536);
    let at = head.length;
    for (let n = 0; at < data.length; n++) {
      const want = Math.min(into.length, data.length - at);
      const k = await s.readInto(into.subarray(0, want), { partial: n % 2 === 0 });
      out.set(into.subarray(0, k), at);
      at += k;
    }
    t.ok(reused(s), 'a pending readInto moved it to the shared buffer');
    t.ok(out.equals(data), '4 MiB intact across the switch, through readInto full and partial');
  } finally {
    c.close();
    s.close();
  }
});

test('reused receive: TCPServer streams take it; with mode data they stay on data events', async (t) => {
  for (const mode of ['auto', 'data'] as const) {
    let serverSide: IOStream | null = null;
    const server = await withReceiveMode(mode, () => serve(async (stream) => {
      serverSide = stream as IOStream;
      const buf = new Uint8Array(6);
      await stream.readInto(buf);
      await stream.write(buf);
    }, { port: 0 }));
    try {
      const client = await withReceiveMode(mode, () => new IOStream().connect({ host: '127.0.0.1', port: server.port }));
      await client.write('hello\n');
      t.equal(String(await withTimeout(client.readUntil('\n'), WAIT_MS, 'echo')), 'hello\n', `${mode}: echo`);
      t.equal(reused(client), mode === 'auto', `${mode}: client path`);
      t.equal(reused(serverSide as unknown as IOStream), mode === 'auto', `${mode}: accepted path after its readInto`);
      client.close();
    } finally {
      await server.shutdown({ timeout: 1000 });
    }
  }
});

test("reused receive: 'created' mode reads the connect side only; a socket with bytes already buffered stays on 'data'", async (t) => {
  const [c, s] = await withReceiveMode('created', () => tcpPair());
  t.ok(reused(c), 'created: the connect side is on it');
  void c.write('ab');
  const two = new Uint8Array(2);
  await withTimeout(withReceiveMode('created', () => s.readInto(two)), WAIT_MS, 'readInto');
  t.notOk(reused(s), 'created: the accepted side is not, even after a readInto');
  c.close();
  s.close();
  // A server socket that read before it was wrapped: its bytes sit in the socket, nothing to switch.
  let raw: net.Socket | null = null;
  const { port, accepted } = await acceptOnce((socket) => { raw = socket; });
  const client = net.connect(port, '127.0.0.1');
  await accepted;
  const socket = raw as unknown as net.Socket;
  client.write('early bytes\nlater\n');
  await until(() => socket.readableLength > 0, 'bytes buffered in the socket');
  const stream = await withReceiveMode('eager', async () => new IOStream(socket));
  try {
    t.notOk(reused(stream), "bytes already buffered by Node: stays on 'data' (even in mode eager)");
    t.equal(String(await withTimeout(stream.readUntil('\n'), WAIT_MS, 'early')), 'early bytes\n', 'the buffered bytes come first');
    t.equal(String(await withTimeout(stream.readUntil('\n'), WAIT_MS, 'later')), 'later\n');
  } finally {
    stream.close();
    client.destroy();
  }
});

test('reused receive: read-ahead stops near readChunkSize and the socket stops reading', async (t) => {
  const [s, c] = await tcpPair({ readChunkSize: 4096 }); // s: the connect side, on the shared buffer
  try {
    t.ok(reused(s));
    const data = pattern(8 << 20, 5);
    const w = c.write(data);
    await until(() => bufferedBytes(s) >= 4096, 'read-ahead');
    await new Promise((r) => setTimeout(r, 100));
    const held = bufferedBytes(s);
    t.ok(held >= 4096 && held <= 4096 + RECEIVE_BUFFER_SIZE, `read-ahead stopped within one read of readChunkSize (${held})`);
    const handle = (s.socket as unknown as { _handle: { reading: boolean } })._handle;
    t.equal(handle.reading, false, 'the socket handle stopped reading (backpressure reaches the sender)');
    const out = await withTimeout(s.readBytes(data.length), WAIT_MS, 'the rest');
    t.ok(out.equals(data), 'then every byte, in order');
    await w;
  } finally {
    c.close();
    s.close();
  }
});

test('reused receive: STARTTLS hands an onread socket to TLS on both sides', async (t) => {
  const certs = testCerts();
  const [c, s] = await withReceiveMode('eager', () => tcpPair());
  try {
    t.ok(reused(c) && reused(s));
    await c.write('STARTTLS\n');
    t.equal(String(await s.readUntil('\n')), 'STARTTLS\n');
    const [tc, ts] = await withTimeout(Promise.all([
      c.startTls(false, { ca: certs.ca }, 'localhost'),
      s.startTls(true, { key: certs.serverKey, cert: certs.serverCert }),
    ]), WAIT_MS, 'handshakes');
    const data = pattern(1 << 20, 9);
    void tc.write(data);
    t.ok((await withTimeout(ts.readBytes(data.length), WAIT_MS, 'tls read')).equals(data), '1 MiB over TLS after the upgrade');
    await ts.write('bye\n');
    t.equal(String(await tc.readUntil('\n')), 'bye\n');
    tc.close();
    ts.close();
  } finally {
    c.close();
    s.close();
  }
});

test('reused receive: a read delivered in a buffer other than the one given closes the stream, no garbage read', async (t) => {
  const [c, s] = await tcpPair();
  try {
    const pending = s.readBytes(4);
    transportOf(s).receivedInto(4, Buffer.from('evil'));
    const r = await withTimeout(pending.then(() => 'resolved', (e: unknown) => e), WAIT_MS, 'read');
    t.equal((r as { realError?: { code?: string } }).realError?.code, 'ERR_INVALID_STATE', 'closed with ERR_INVALID_STATE');
  } finally {
    c.close();
    s.close();
  }
});

test('reused receive: a clean close lingers on an onread socket until the peer FIN', async (t) => {
  const [c, s] = await withReceiveMode('eager', () => tcpPair());
  t.ok(reused(s));
  void c.write(pattern(1 << 20, 1)); // unread input on s: the close must not turn into a reset
  await until(() => bufferedBytes(s) > 0, 'input arrived');
  const closed = new Promise<void>((r) => { (s.socket as net.Socket).once('close', () => r()); });
  s.close();
  const tail = await withTimeout(c.readUntilClose(), WAIT_MS, 'the client sees a clean EOF');
  t.equal(tail.length, 0, 'clean EOF, no reset');
  c.close();
  await withTimeout(closed, WAIT_MS, 'server socket closed after the FIN exchange');
  t.pass('server socket released');
});
