/**
 * `signal` and `timeout` on the setup calls of the Node drivers: `IOStream.connect`,
 * `SSLIOStream.connect` (one deadline over TCP connect + handshake), `waitForHandshake` and
 * `startTls`. Over real loopback sockets: a connect that stays pending comes from a listener
 * whose accept queue is full (test/_support/unanswered.ts), a handshake that never completes
 * from a listener that accepts and never writes. Every case checks that the stream is closed,
 * the socket destroyed, and that no timer, socket or abort listener is left behind.
 */
import { getEventListeners } from 'node:events';
import * as net from 'node:net';
import { test, withTimeout, type Test } from './_support/harness.js';
import { testCerts } from './_support/certs.js';
import { acceptOnce, tcpPair } from './_support/net-pair.js';
import { leftOver, resources, timers, type Resources } from './_support/resources.js';
import { pendingConnectPort, silentListener } from './_support/unanswered.js';
import { IOStream } from '../drivers/node/net.js';
import { SSLIOStream } from '../drivers/node/tls.js';
import { StreamClosedError } from '../core/errors.js';

const WAIT_MS = 10_000;
const HOST = '127.0.0.1';

/** The rejection of `p` (fails the test if it resolves), bounded in time. */
async function rejection(t: Test, p: Promise<unknown>, label: string): Promise<StreamClosedError> {
  const err = await withTimeout(p.then(() => null, (e: unknown) => e), WAIT_MS, label);
  t.ok(err instanceof StreamClosedError, `${label}: rejects with StreamClosedError`);
  return err as StreamClosedError;
}

function isTimeout(t: Test, err: StreamClosedError, what: string, ms: number): void {
  const real = err.realError as (Error & { code?: string }) | undefined;
  t.equal(real?.code, 'ETIMEDOUT', 'realError.code is ETIMEDOUT');
  t.equal(real?.message, `${what} timed out after ${ms} ms`, `the message names the operation and the timeout: ${real?.message}`);
}

/** A signal's abort as realError: an Error with a string code (ABORT_ERR) and the reason as cause. */
function isAbort(t: Test, err: StreamClosedError, reason: unknown): void {
  const real = err.realError as (Error & { code?: unknown }) | undefined;
  t.equal(real?.code, 'ABORT_ERR', 'realError.code is the string ABORT_ERR');
  t.equal(real?.name, 'AbortError', 'realError.name is AbortError');
  t.equal(real?.cause, reason, 'realError.cause is signal.reason');
}

function noAbortListener(t: Test, signal: AbortSignal): void {
  t.equal(getEventListeners(signal, 'abort').length, 0, 'no abort listener left on the signal');
}

async function nothingLeft(t: Test, before: Resources): Promise<void> {
  const extra = await leftOver(before);
  t.deepEqual(extra, [], 'no timer, socket or server handle left over');
}

/** Runs `body` against a port where a TCP connect stays pending; then checks nothing is left. */
async function withPendingPort(t: Test, body: (port: number) => Promise<void>): Promise<void> {
  const before = resources();
  const target = await pendingConnectPort();
  try {
    await body(target.port);
  } finally {
    await target.close();
  }
  await nothingLeft(t, before);
}

const tlsClientOpts = (): { sslOptions: { ca: string } } => ({ sslOptions: { ca: testCerts().ca } });
const tlsServerOpts = (): { serverSide: true; sslOptions: { key: string; cert: string } } => {
  const c = testCerts();
  return { serverSide: true, sslOptions: { key: c.serverKey, cert: c.serverCert } };
};

test('deadline: bad signal/timeout/serverHostname throw synchronously with a code, creating nothing', async (t) => {
  const port = 9; // never reached: every call below throws first
  const bad: Array<[unknown, new (...a: never[]) => Error, string]> = [
    [{ timeout: 0 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ timeout: -5 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ timeout: 1.5 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ timeout: 2 ** 31 }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ timeout: Infinity }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ timeout: NaN }, RangeError, 'ERR_OUT_OF_RANGE'],
    [{ timeout: '100' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ signal: {} }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ signal: 'abort' }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ signal: null }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    [{ serverHostname: 5 }, TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['x', TypeError, 'ERR_INVALID_ARG_TYPE'],
  ];
  const check = (label: string, fn: () => unknown, Ctor: new (...a: never[]) => Error, code: string): void => {
    try {
      fn();
      t.fail(`${label}: should throw`);
    } catch (err) {
      t.ok(err instanceof Ctor && (err as { code?: string }).code === code, `${label}: ${(err as Error).message}`);
    }
  };
  const plain = new IOStream();
  const secure = new SSLIOStream(undefined, tlsClientOpts());
  for (const [opts, Ctor, code] of bad) {
    const o = opts as never;
    check(`IOStream.connect ${JSON.stringify(opts)}`, () => plain.connect({ host: HOST, port }, o), Ctor, code);
    check(`SSLIOStream.connect ${JSON.stringify(opts)}`, () => secure.connect({ host: HOST, port }, o), Ctor, code);
    if (typeof opts === 'object' && !('serverHostname' in (opts as object))) {
      check(`waitForHandshake ${JSON.stringify(opts)}`, () => secure.waitForHandshake(o), Ctor, code);
      check(`startTls ${JSON.stringify(opts)}`, () => plain.startTls(false, undefined, o), Ctor, code);
    }
  }
  check('startTls with sslOptions 5', () => plain.startTls(false, 5 as never), TypeError, 'ERR_INVALID_ARG_TYPE');
  t.equal(plain.socket, null, 'no socket was created');
  t.equal(secure.socket, null, 'no TLS socket was created');
  t.notOk(plain.closed() || secure.closed(), 'the streams are unchanged');
  plain.close();
  secure.close();
});

test('deadline: an already aborted signal rejects at once, with the reason, without creating a socket', async (t) => {
  const before = resources();
  const listener = await silentListener();
  const ac = new AbortController();
  ac.abort();
  const plain = new IOStream();
  const pendingRead = plain.readBytes(1);
  let err = await rejection(t, plain.connect({ host: HOST, port: listener.port }, { signal: ac.signal }), 'IOStream.connect');
  isAbort(t, err, ac.signal.reason);
  t.equal(plain.socket, null, 'IOStream: no socket created');
  t.ok(plain.closed(), 'the stream is closed');
  t.equal(plain.error, err.realError, 'with the same error as its error');
  const readErr = await rejection(t, pendingRead, 'a read issued before connect');
  t.equal(readErr.realError, err.realError, 'the read has the same realError too');

  const ac2 = new AbortController();
  ac2.abort('not an Error');
  const secure = new SSLIOStream(undefined, tlsClientOpts());
  err = await rejection(t, secure.connect({ host: HOST, port: listener.port }, { signal: ac2.signal }), 'SSLIOStream.connect');
  const real = err.realError as (Error & { code?: string }) | undefined;
  t.equal(real?.code, 'ABORT_ERR', 'a non-Error reason is wrapped in an Error with code ABORT_ERR');
  t.equal(real?.cause, 'not an Error', 'and the reason as cause');
  t.equal(secure.socket, null, 'SSLIOStream: no TLS socket created');
  t.ok(secure.closed(), 'the stream is closed');
  t.equal(listener.accepted(), 0, 'nothing ever connected to the listener');
  await listener.close();
  await nothingLeft(t, before);
});

test('deadline: IOStream.connect aborted while the TCP connect is pending (full accept queue)', (t) => withPendingPort(t, async (port) => {
  const ac = new AbortController();
  const stream = new IOStream();
  const p = stream.connect({ host: HOST, port }, { signal: ac.signal });
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.ok(stream.socket?.connecting, 'the connect is still pending after 50 ms');
  ac.abort();
  const err = await rejection(t, p, 'IOStream.connect');
  isAbort(t, err, ac.signal.reason);
  t.ok(stream.closed() && stream.socket?.destroyed, 'stream closed, socket destroyed');
  noAbortListener(t, ac.signal);
}));

test('deadline: a signal from AbortSignal.timeout() gives realError.code ETIMEDOUT (a string), the TimeoutError as cause', (t) => withPendingPort(t, async (port) => {
  const signal = AbortSignal.timeout(60);
  const stream = new IOStream();
  const err = await rejection(t, stream.connect({ host: HOST, port }, { signal }), 'IOStream.connect');
  const real = err.realError as (Error & { code?: unknown }) | undefined;
  t.equal(real?.code, 'ETIMEDOUT', 'realError.code is the string ETIMEDOUT, as with timeout:');
  t.equal(typeof real?.code, 'string', 'not the DOMException\'s number 23');
  t.equal(real?.cause, signal.reason, 'realError.cause is the signal\'s TimeoutError');
  t.equal((real?.cause as Error | undefined)?.name, 'TimeoutError');
  t.ok(stream.closed() && stream.socket?.destroyed, 'stream closed, socket destroyed');
  // And an already expired one, before any socket exists.
  await new Promise((resolve) => setTimeout(resolve, 10));
  const late = await rejection(t, new IOStream().connect({ host: HOST, port }, { signal }), 'IOStream.connect (signal already timed out)');
  t.equal((late.realError as { code?: unknown } | undefined)?.code, 'ETIMEDOUT', 'already timed out: ETIMEDOUT too');
}));

test('deadline: IOStream.connect aborted synchronously right after the call', async (t) => {
  const before = resources();
  const listener = await silentListener();
  const ac = new AbortController();
  const stream = new IOStream();
  const p = stream.connect({ host: HOST, port: listener.port }, { signal: ac.signal, timeout: 5000 });
  t.ok(stream.socket?.connecting, 'connecting when aborted');
  ac.abort(new Error('changed my mind'));
  const err = await rejection(t, p, 'IOStream.connect');
  t.equal((err.realError?.cause as Error | undefined)?.message, 'changed my mind', 'realError.cause is the reason given to abort()');
  t.equal((err.realError as { code?: unknown } | undefined)?.code, 'ABORT_ERR', 'with code ABORT_ERR');
  t.ok(stream.socket?.destroyed, 'socket destroyed');
  noAbortListener(t, ac.signal);
  await listener.close();
  await nothingLeft(t, before);
});

test('deadline: IOStream.connect times out on a connect that stays pending', (t) => withPendingPort(t, async (port) => {
  const stream = new IOStream();
  const started = Date.now();
  const err = await rejection(t, stream.connect({ host: HOST, port }, { timeout: 150 }), 'IOStream.connect');
  t.ok(Date.now() - started >= 140, 'not before the timeout');
  isTimeout(t, err, 'IOStream.connect', 150);
  t.equal(stream.error, err.realError, 'the stream error is the timeout');
  t.ok(stream.closed() && stream.socket?.destroyed, 'stream closed, socket destroyed');
}));

test('deadline: SSLIOStream.connect times out when the server never answers the handshake (timeout covers TCP + TLS)', async (t) => {
  const before = resources();
  const listener = await silentListener();
  const stream = new SSLIOStream(undefined, tlsClientOpts());
  const pendingWrite = stream.write('queued before the handshake');
  const err = await rejection(t, stream.connect({ host: HOST, port: listener.port }, { timeout: 200 }), 'SSLIOStream.connect');
  isTimeout(t, err, 'SSLIOStream.connect (TCP connect and TLS handshake)', 200);
  t.equal(listener.accepted(), 1, 'the TCP connect had succeeded: the handshake is what timed out');
  t.ok(stream.closed(), 'stream closed');
  t.ok(stream.socket?.destroyed, 'TLS socket destroyed');
  const wErr = await rejection(t, pendingWrite, 'a write queued before the handshake');
  t.equal(wErr.realError, err.realError, 'with the same realError');
  await listener.close();
  await nothingLeft(t, before);
});

test('deadline: SSLIOStream.connect times out on a pending TCP connect too', (t) => withPendingPort(t, async (port) => {
  const stream = new SSLIOStream(undefined, tlsClientOpts());
  const err = await rejection(t, stream.connect({ host: HOST, port }, { timeout: 150 }), 'SSLIOStream.connect');
  isTimeout(t, err, 'SSLIOStream.connect (TCP connect and TLS handshake)', 150);
  t.equal(stream.socket, null, 'TLS never started');
  t.ok(stream.closed(), 'stream closed');
}));

test('deadline: SSLIOStream.connect aborted during the handshake', async (t) => {
  const before = resources();
  const ac = new AbortController();
  const held: net.Socket[] = [];
  // Abort when the ClientHello arrives: the client is then waiting for the ServerHello.
  const { port, accepted } = await acceptOnce((socket) => {
    socket.on('error', () => {});
    held.push(socket);
    socket.once('data', () => ac.abort());
  });
  const stream = new SSLIOStream(undefined, tlsClientOpts());
  const err = await rejection(t, stream.connect({ host: HOST, port }, { signal: ac.signal, timeout: 5000 }), 'SSLIOStream.connect');
  await accepted;
  isAbort(t, err, ac.signal.reason);
  t.ok(stream.closed() && stream.socket?.destroyed, 'stream closed, TLS socket destroyed');
  noAbortListener(t, ac.signal);
  for (const s of held) s.destroy();
  await nothingLeft(t, before);
});

test('deadline: after a successful connect the timer is cleared, the listener removed, and abort does nothing', async (t) => {
  const before = resources();
  const timersBefore = timers();
  const { port, accepted } = await acceptOnce((socket) => {
    const server = new IOStream(socket);
    void server.readUntil('\n').then((line) => server.write(line)).finally(() => server.close());
  });
  const ac = new AbortController();
  const client = await new IOStream().connect({ host: HOST, port }, { signal: ac.signal, timeout: 100 });
  await accepted;
  t.equal(timers(), timersBefore, 'the connect timer is cleared');
  noAbortListener(t, ac.signal);
  ac.abort();
  await new Promise((resolve) => setTimeout(resolve, 150)); // past the timeout
  t.notOk(client.closed(), 'neither the abort nor the timeout closed the connected stream');
  await client.write('ping\n');
  t.equal((await withTimeout(client.readUntil('\n'), WAIT_MS, 'echo')).toString(), 'ping\n', 'the stream still works');
  client.close();
  await nothingLeft(t, before);
});

test('deadline: SSLIOStream.connect success clears its deadline; abort afterwards does nothing', async (t) => {
  const before = resources();
  const timersBefore = timers();
  let server: SSLIOStream | null = null;
  const { port, accepted } = await acceptOnce((socket) => { server = new SSLIOStream(socket, tlsServerOpts()); });
  const ac = new AbortController();
  const client = await new SSLIOStream(undefined, tlsClientOpts())
    .connect({ host: HOST, port }, { serverHostname: 'localhost', signal: ac.signal, timeout: 100 });
  await accepted;
  const s = server as unknown as SSLIOStream;
  await s.waitForHandshake({ timeout: 1000 });
  t.equal(timers(), timersBefore, 'both handshake timers are cleared');
  noAbortListener(t, ac.signal);
  ac.abort();
  await new Promise((resolve) => setTimeout(resolve, 150));
  t.notOk(client.closed() || s.closed(), 'still open');
  await client.write('hi');
  t.equal((await withTimeout(s.readBytes(2), WAIT_MS, 'read')).toString(), 'hi', 'data flows');
  client.close();
  s.close();
  await nothingLeft(t, before);
});

/** A server-side SSLIOStream over an accepted socket whose client is plain TCP and never sends a ClientHello. */
async function silentClientPair(): Promise<{ s: SSLIOStream; raw: net.Socket; rawClosed: Promise<void> }> {
  let server: SSLIOStream | null = null;
  const { port, accepted } = await acceptOnce((socket) => { server = new SSLIOStream(socket, tlsServerOpts()); });
  const raw = net.connect({ host: HOST, port });
  raw.on('error', () => {});
  const rawClosed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
  raw.resume();
  await accepted;
  return { s: server as unknown as SSLIOStream, raw, rawClosed };
}

test('deadline: waitForHandshake times out on a client that never sends a ClientHello', async (t) => {
  const before = resources();
  const { s, raw, rawClosed } = await silentClientPair();
  const err = await rejection(t, s.waitForHandshake({ timeout: 150 }), 'waitForHandshake');
  isTimeout(t, err, 'TLS handshake', 150);
  t.ok(s.closed() && s.socket?.destroyed, 'server stream closed, TLS socket destroyed');
  t.equal(await s.waitForHandshake().then(() => null, (e: unknown) => e), err, 'a later waitForHandshake rejects the same way');
  raw.end();
  await withTimeout(rawClosed, WAIT_MS, 'the silent client sees the connection end');
  await nothingLeft(t, before);
});

test('deadline: waitForHandshake aborted (pending and already aborted)', async (t) => {
  const before = resources();
  for (const early of [false, true]) {
    const { s, raw, rawClosed } = await silentClientPair();
    const ac = new AbortController();
    if (early) ac.abort();
    const p = s.waitForHandshake({ signal: ac.signal });
    if (!early) setTimeout(() => ac.abort(), 30);
    const err = await rejection(t, p, early ? 'waitForHandshake (already aborted)' : 'waitForHandshake (aborted later)');
    isAbort(t, err, ac.signal.reason);
    t.ok(s.closed() && s.socket?.destroyed, 'server stream closed, socket destroyed');
    noAbortListener(t, ac.signal);
    raw.end();
    await withTimeout(rawClosed, WAIT_MS, 'client sees the end');
  }
  await nothingLeft(t, before);
});

test('deadline: startTls with { serverHostname, timeout } times out when the peer never starts TLS', async (t) => {
  const before = resources();
  const [client, server] = await tcpPair();
  const serverSawEnd = server.readUntilClose().then(() => 'clean', () => 'error');
  const p = client.startTls(false, { ca: testCerts().ca }, { serverHostname: 'localhost', timeout: 150 });
  t.ok(client.closed(), 'the plain stream is detached at once');
  const err = await rejection(t, p, 'startTls');
  isTimeout(t, err, 'TLS handshake', 150);
  t.ok(['clean', 'error'].includes(await withTimeout(serverSawEnd, WAIT_MS, 'server end')), 'the peer sees the connection end');
  server.close();
  await nothingLeft(t, before);
});

test('deadline: startTls with an already aborted signal closes the stream and its socket at once', async (t) => {
  const before = resources();
  const [client, server] = await tcpPair();
  const serverSawEnd = server.readUntilClose();
  const ac = new AbortController();
  ac.abort();
  const socket = client.socket as net.Socket;
  const err = await rejection(t, client.startTls(false, undefined, { signal: ac.signal }), 'startTls');
  isAbort(t, err, ac.signal.reason);
  t.ok(client.closed() && socket.destroyed, 'stream closed, socket destroyed');
  t.equal(client.error, err.realError, 'the stream error is the realError');
  await withTimeout(serverSawEnd, WAIT_MS, 'the peer sees the end');
  // Misuse still throws first: not connected any more.
  t.throws(() => new IOStream().startTls(false, undefined, { signal: ac.signal }), /not connected/);
  server.close();
  await nothingLeft(t, before);
});

test('deadline: startTls aborted during the handshake; and a startTls that succeeds leaves nothing armed', async (t) => {
  const before = resources();
  {
    const [client, server] = await tcpPair();
    const ac = new AbortController();
    const p = client.startTls(false, { ca: testCerts().ca }, { serverHostname: 'localhost', signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    const err = await rejection(t, p, 'startTls (aborted)');
    isAbort(t, err, ac.signal.reason);
    noAbortListener(t, ac.signal);
    server.close();
  }
  {
    const timersBefore = timers();
    const [client, server] = await tcpPair();
    const ac = new AbortController();
    const [c, s] = await withTimeout(Promise.all([
      client.startTls(false, { ca: testCerts().ca }, { serverHostname: 'localhost', signal: ac.signal, timeout: 100 }),
      server.startTls(true, tlsServerOpts().sslOptions, { timeout: 100 }),
    ]), WAIT_MS, 'startTls both sides');
    t.equal(timers(), timersBefore, 'no handshake timer left');
    noAbortListener(t, ac.signal);
    ac.abort();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await c.write('over tls');
    t.equal((await withTimeout(s.readBytes(8), WAIT_MS, 'read')).toString(), 'over tls', 'the upgraded streams work');
    c.close();
    s.close();
  }
  {
    // The positional form of API.md still works.
    const [client, server] = await tcpPair();
    const [c, s] = await withTimeout(Promise.all([
      client.startTls(false, { ca: testCerts().ca }, 'localhost'),
      server.startTls(true, tlsServerOpts().sslOptions),
    ]), WAIT_MS, 'positional startTls');
    t.ok(c instanceof SSLIOStream && s instanceof SSLIOStream, 'positional startTls(serverSide, sslOptions, hostname)');
    c.close();
    s.close();
  }
  await nothingLeft(t, before);
});

