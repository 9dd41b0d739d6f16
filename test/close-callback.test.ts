/**
 * A close callback that throws (issue 23): on a stream a `TCPServer` accepted, what it threw goes
 * to `onError` with that stream and the server goes on serving; on any other stream (Node
 * `IOStream`, `memoryPair`, a stepped `SimLoop`) it is thrown again from a fresh task, an
 * uncaught exception, after the stream has closed and settled, and the other close callbacks
 * of the same turn still run. The guard of the harness records that exception; each test takes
 * what it expects from the record, so anything else still fails it.
 */
import * as net from 'node:net';
import { test, nextImmediate, peekRecordedErrors, takeRecordedErrors, type Test } from './_support/harness.js';
import { leftOver, resources } from './_support/resources.js';
import { testCerts } from './_support/certs.js';
import { IOStream } from '../drivers/node/net.js';
import { SSLIOStream } from '../drivers/node/tls.js';
import { serve, type ServerStream } from '../drivers/node/server.js';
import { memoryPair, SimLoop } from '../drivers/memory/index.js';
import { StreamClosedError } from '../core/errors.js';

const HOST = '127.0.0.1';

/** Resolves once `cond()` holds, checked every turn of the event loop (rejects after `ms`). */
async function until(cond: () => boolean, ms: number, label: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${label}: not within ${ms} ms`);
    await nextImmediate();
  }
}

/** Waits for `error` to be recorded as an uncaught exception, takes it, and checks nothing else was. */
async function expectUncaught(t: Test, error: unknown, label: string): Promise<void> {
  await until(() => peekRecordedErrors().some((r) => r.error === error), 5000, label);
  const recorded = takeRecordedErrors();
  t.deepEqual(recorded.map((r) => r.kind), ['uncaughtException'], `${label}: thrown again as an uncaught exception, once`);
  t.equal(recorded[0]?.error, error, `${label}: the very value the close callback threw`);
}

test('close callback that throws, TCPServer: onError gets it with the stream, the server goes on', async (t) => {
  const before = resources();
  const reported: Array<{ error: Error; stream: ServerStream | null }> = [];
  const thrown = [new Error('close callback bug'), 'not an Error'];
  let n = 0;
  const server = await serve(async (s) => {
    const what = thrown[n++ % thrown.length];
    s.setCloseCallback(() => { throw what; });
    await s.write(await s.readUntil('\n'));
  }, { port: 0, onError: (error, stream) => { reported.push({ error, stream }); } });
  try {
    for (let round = 0; round < 2; round++) {
      const c = await new IOStream().connect({ host: HOST, port: server.port });
      await c.write('ping\n');
      t.equal((await c.readUntil('\n')).toString(), 'ping\n', `connection ${round + 1} served`);
      c.close();
      await until(() => reported.length > round, 5000, `onError for connection ${round + 1}`);
    }
    t.equal(reported[0]?.error, thrown[0], 'onError got what the first close callback threw');
    t.ok(reported[0]?.stream instanceof IOStream && reported[0].stream.closed(), 'with its (closed) stream');
    const second = reported[1]?.error as Error & { code?: string; cause?: unknown };
    t.equal(second.code, 'ERR_HANDLER_THREW', 'a thrown non-Error becomes an Error with code ERR_HANDLER_THREW');
    t.equal(second.cause, thrown[1], 'with the thrown value as cause');
    t.equal(reported.length, 2, 'nothing else reported');
    t.equal(server.listening, true, 'the server still listens');
    const again = await new IOStream().connect({ host: HOST, port: server.port });
    await again.write('after\n');
    t.equal((await again.readUntil('\n')).toString(), 'after\n', 'and serves the next connection');
    again.close();
  } finally {
    await server.shutdown({ timeout: 2000 });
  }
  t.deepEqual(peekRecordedErrors(), [], 'no uncaught exception');
  t.deepEqual(await leftOver(before, 5000), [], 'no handle left over');
});

test('close callback that throws, TLS TCPServer: onError too', async (t) => {
  const certs = testCerts();
  const reported: Error[] = [];
  const bug = new Error('tls close callback bug');
  const server = await serve(async (s) => {
    s.setCloseCallback(() => { throw bug; });
    await s.readUntil('\n');
  }, { port: 0, tls: { key: certs.serverKey, cert: certs.serverCert }, onError: (error) => { reported.push(error); } });
  try {
    const c = await new SSLIOStream(undefined, { sslOptions: { ca: certs.ca } })
      .connect({ host: HOST, port: server.port }, { serverHostname: 'localhost' });
    await c.write('x\n');
    c.close();
    await until(() => reported.length > 0, 5000, 'onError');
    t.deepEqual(reported, [bug], 'onError got what the close callback threw');
  } finally {
    await server.shutdown({ timeout: 2000 });
  }
  t.deepEqual(peekRecordedErrors(), [], 'no uncaught exception');
});

test('close callback that throws, standalone IOStream: thrown again from a fresh task after the close settled', async (t) => {
  const before = resources();
  const listener = net.createServer((sock) => { sock.end(); });
  await new Promise<void>((resolve) => { listener.listen(0, HOST, resolve); });
  const { port } = listener.address() as net.AddressInfo;
  try {
    const s = await new IOStream().connect({ host: HOST, port });
    const bug = new Error('standalone close callback bug');
    const log: string[] = [];
    const read = s.readUntil('\n').catch((err: unknown) => { log.push(err instanceof StreamClosedError ? 'read rejected' : 'other'); });
    s.setCloseCallback(() => { log.push('callback'); throw bug; });
    await read;
    await expectUncaught(t, bug, 'IOStream');
    t.deepEqual(log, ['read rejected', 'callback'], 'the pending read settled before the callback ran');
    t.equal(s.closed(), true, 'the stream is closed');
    s.setCloseCallback(() => { log.push('again'); });
    await nextImmediate();
    t.deepEqual(log, ['read rejected', 'callback'], 'no second close callback');
  } finally {
    await new Promise<void>((resolve) => { listener.close(() => { resolve(); }); });
  }
  t.deepEqual(await leftOver(before, 5000), [], 'no handle left over');
});

test('close callback that throws, memory driver: thrown again from a fresh task; the peer and other callbacks unaffected', async (t) => {
  const [a, b] = memoryPair();
  const [c, d] = memoryPair();
  const bug = new Error('memory close callback bug');
  const ran: string[] = [];
  a.setCloseCallback(() => { ran.push('a'); throw bug; });
  b.setCloseCallback(() => { ran.push('b'); });
  c.setCloseCallback(() => { ran.push('c'); });
  a.close();
  c.close();
  await expectUncaught(t, bug, 'memoryPair');
  await until(() => ran.length === 3, 5000, 'the other close callbacks');
  t.deepEqual([...ran].sort(), ['a', 'b', 'c'], 'the peer\'s and another stream\'s close callbacks ran too');
  d.close();

  // A stepped SimLoop: the throw does not escape `run()` (the loop goes on), it comes later.
  const loop = new SimLoop();
  const [e, f] = loop.pair();
  const simBug = new Error('SimLoop close callback bug');
  e.setCloseCallback(() => { throw simBug; });
  let peer = false;
  f.setCloseCallback(() => { peer = true; });
  e.close();
  await loop.run();
  t.equal(peer, true, 'the loop ran on to the peer\'s close callback');
  await expectUncaught(t, simBug, 'SimLoop');
});
