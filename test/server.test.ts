/**
 * `TCPServer` / `serve` over real loopback sockets: many concurrent clients with one failing
 * handler, TLS (handshake before the handler, handshake failures to onError), handler throws
 * and rejections, closeAll, graceful shutdown with a connection that stays open, and fd
 * exhaustion in a child process. Every test ends with no handle left above its start.
 *
 * Longer than ~400 lines, on purpose: the cases share the handle accounting and the server
 * fixtures above; split, each part would repeat them.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, withTimeout, type Test } from './_support/harness.js';
import { testCerts } from './_support/certs.js';
import { leftOver, resources, type Resources } from './_support/resources.js';
import { IOStream } from '../drivers/node/net.js';
import { SSLIOStream } from '../drivers/node/tls.js';
import { TCPServer, serve, type ServerStream } from '../drivers/node/server.js';
import { StreamClosedError } from '../core/errors.js';

const WAIT_MS = 15_000;
const HOST = '127.0.0.1';

type Reported = Array<{ error: Error; stream: ServerStream | null }>;

function recorder(): { reported: Reported; onError: (error: Error, stream: ServerStream | null) => void } {
  const reported: Reported = [];
  return { reported, onError: (error, stream) => { reported.push({ error, stream }); } };
}

async function nothingLeft(t: Test, before: Resources): Promise<void> {
  t.deepEqual(await leftOver(before, 5000), [], 'no timer, socket or server handle left over');
}

/** Connects, writes `line`, and returns the echoed line or 'closed' when the server closed instead. */
async function echoClient(port: number, line: string): Promise<string> {
  const c = await new IOStream().connect({ host: HOST, port });
  try {
    await c.write(line);
    return (await c.readUntil('\n', { maxBytes: 1024 })).toString();
  } catch (err) {
    if (err instanceof StreamClosedError) return 'closed';
    throw err;
  } finally {
    c.close();
  }
}

const echo = async (stream: ServerStream): Promise<void> => {
  await stream.write(await stream.readUntil('\n', { maxBytes: 1024 }));
};

test('server: bad arguments throw synchronously with a code', async (t) => {
  const h = (): void => {};
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error, string]> = [
    ['handler not a function', () => new TCPServer(5 as never), TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['options 5', () => new TCPServer(h, 5 as never), TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['tls 5', () => new TCPServer(h, { tls: 5 as never }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['handshakeTimeout 0', () => new TCPServer(h, { handshakeTimeout: 0 }), RangeError, 'ERR_OUT_OF_RANGE'],
    ['handshakeTimeout "1"', () => new TCPServer(h, { handshakeTimeout: '1' as never }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['streamOptions.maxBufferSize -1', () => new TCPServer(h, { streamOptions: { maxBufferSize: -1 } }), RangeError, 'ERR_OUT_OF_RANGE'],
    ['streamOptions 5', () => new TCPServer(h, { streamOptions: 5 as never }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['noDelay "yes"', () => new TCPServer(h, { noDelay: 'yes' as never }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['onError 5', () => new TCPServer(h, { onError: 5 as never }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['serve options 5', () => serve(h, 5 as never), TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['port -1', () => serve(h, { port: -1 }), RangeError, 'ERR_OUT_OF_RANGE'],
    ['port 70000', () => serve(h, { port: 70000 }), RangeError, 'ERR_OUT_OF_RANGE'],
    ['port "80"', () => serve(h, { port: '80' as never }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['host ""', () => serve(h, { host: '' }), TypeError, 'ERR_INVALID_ARG_TYPE'],
    ['backlog -1', () => serve(h, { backlog: -1 }), RangeError, 'ERR_OUT_OF_RANGE'],
    ['shutdown timeout -1', () => new TCPServer(h).shutdown({ timeout: -1 }), RangeError, 'ERR_OUT_OF_RANGE'],
    ['port before listen', () => new TCPServer(h).port, Error, 'ERR_SERVER_NOT_LISTENING'],
  ];
  for (const [label, fn, Ctor, code] of cases) {
    try {
      fn();
      t.fail(`${label}: should throw`);
    } catch (err) {
      t.ok(err instanceof Ctor && (err as { code?: string }).code === code, `${label}: ${(err as Error).message}`);
    }
  }
  t.throws(() => new TCPServer(h, { tls: { key: 'not a key', cert: 'not a cert' } }),
    (e: unknown) => typeof (e as { code?: unknown }).code === 'string' && (e as { code: string }).code.startsWith('ERR_OSSL'),
    'a bad TLS key throws in the constructor, with OpenSSL\'s code');
});

test('server: listen states: EADDRINUSE rejects and leaves it idle; listen twice / after close throws', async (t) => {
  const before = resources();
  const first = await serve(() => {});
  const firstPort = first.port;
  const second = new TCPServer(() => {});
  const err = await second.listen({ port: first.port }).then(() => null, (e: unknown) => e);
  t.equal((err as { code?: string } | null)?.code, 'EADDRINUSE', 'a port in use rejects with EADDRINUSE');
  t.notOk(second.listening, 'and the server is not listening');
  await second.listen();
  t.ok(second.listening && second.port > 0, 'listen can be tried again');
  t.throws(() => second.listen(), (e: unknown) => (e as { code?: string }).code === 'ERR_SERVER_ALREADY_LISTENING');
  await Promise.all([first.close(), second.close()]);
  t.equal(second.address(), null, 'no address after close');
  t.throws(() => second.listen(), (e: unknown) => (e as { code?: string }).code === 'ERR_SERVER_CLOSED');
  const refused = await new IOStream().connect({ host: HOST, port: firstPort }).then(() => null, (e: unknown) => e);
  t.ok(refused instanceof StreamClosedError, 'a closed server refuses connections');
  await nothingLeft(t, before);
});

test('server: 200 concurrent clients, one handler throws: 199 echoes, one close, one onError; then nothing left', async (t) => {
  const before = resources();
  const { reported, onError } = recorder();
  const boom = new Error('handler 137 failed');
  let handled = 0;
  const server = await serve(async (stream, info) => {
    handled++;
    t.equal(info.remoteAddress, HOST, 'info carries the peer address');
    const line = (await stream.readUntil('\n', { maxBytes: 1024 })).toString();
    if (line === 'hello 137\n') throw boom;
    await stream.write(line);
  }, { port: 0, onError, noDelay: true });
  const results = await withTimeout(
    Promise.all(Array.from({ length: 200 }, (_, i) => echoClient(server.port, `hello ${i}\n`))),
    WAIT_MS, '200 clients');
  t.equal(handled, 200, 'every connection reached the handler');
  t.equal(results.filter((r, i) => r === `hello ${i}\n`).length, 199, '199 clients got their echo');
  t.equal(results[137], 'closed', 'the thrower\'s client saw the connection close');
  t.equal(reported.length, 1, 'onError was called exactly once');
  t.equal(reported[0]?.error, boom, 'with the handler\'s error');
  t.ok(reported[0]?.stream?.closed() && reported[0].stream.error === boom, 'and its stream, closed with that error');
  await withTimeout((async () => { while (server.connections > 0) await new Promise((r) => setTimeout(r, 5)); })(), WAIT_MS, 'connections end');
  await server.close();
  await nothingLeft(t, before);
});

test('server: a synchronous throw, a non-Error rejection, and an onError that throws', async (t) => {
  const before = resources();
  const { reported, onError } = recorder();
  let n = 0;
  const server = await serve((stream) => {
    n++;
    if (n === 1) throw new TypeError('sync throw');
    if (n === 2) return Promise.reject('a string');
    void stream.write('ok\n');
    return undefined; // Tornado style: the stream is the handler's; it closes it later
  }, { onError });
  t.equal(await echoClient(server.port, 'x\n'), 'closed', 'a synchronous throw closes that connection');
  t.equal(await echoClient(server.port, 'x\n'), 'closed', 'a rejection closes that connection');
  t.equal(reported.length, 2, 'both reported');
  t.ok(reported[0]?.error instanceof TypeError, 'the thrown TypeError as is');
  const wrapped = reported[1]?.error as (Error & { code?: string }) | undefined;
  t.ok(wrapped?.code === 'ERR_HANDLER_THREW' && wrapped.cause === 'a string', 'a non-Error wrapped with code ERR_HANDLER_THREW, value as cause');
  t.equal(await echoClient(server.port, 'x\n'), 'ok\n', 'a handler returning undefined keeps its stream');
  t.equal(server.connections, 1, 'the server does not close a sync handler\'s stream');
  await server.closeAll();
  await server.close();

  // onError throwing must not crash the process: the server goes on and emits a warning.
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => { warnings.push(w); };
  process.on('warning', onWarning);
  try {
    let m = 0;
    const s2 = await serve(async (stream) => {
      if (m++ === 0) throw new Error('first');
      await echo(stream);
    }, { onError: () => { throw new Error('onError is broken'); } });
    t.equal(await echoClient(s2.port, 'a\n'), 'closed', 'the failing handler\'s client sees the close');
    t.equal(await echoClient(s2.port, 'b\n'), 'b\n', 'the server still serves');
    await new Promise((resolve) => setImmediate(resolve));
    t.ok(warnings.some((w) => (w as { code?: string }).code === 'ERR_SERVER_ONERROR_THREW'), 'a process warning says onError threw');
    await s2.shutdown({ timeout: 0 });
  } finally {
    process.off('warning', onWarning);
  }
  await nothingLeft(t, before);
});

test('server: an error on the listening socket (as for a failed accept) goes to onError, not uncaught', async (t) => {
  const before = resources();
  const { reported, onError } = recorder();
  const server = await serve(echo, { onError });
  // Node reports a failed accept (EMFILE, ENFILE...) as an 'error' event on the net.Server.
  const listener = (server as unknown as { listener: net.Server }).listener;
  const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' });
  listener.emit('error', emfile);
  t.equal(reported.length, 1, 'reported once');
  t.ok(reported[0]?.error === emfile && reported[0].stream === null, 'with the error and stream null');
  t.equal(await echoClient(server.port, 'still\n'), 'still\n', 'the server keeps serving');
  await server.close();
  await nothingLeft(t, before);
});

test('server: fd exhaustion in a child (ulimit -n 64): the server survives and serves again', async (t) => {
  const here = dirname(fileURLToPath(import.meta.url));
  const child = spawn('bash', ['-c', `ulimit -n 64 && exec "${process.execPath}" --import tsx "${join(here, '_support', 'server-child.ts')}"`], {
    cwd: join(here, '..'), stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines: string[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  const sockets: net.Socket[] = [];
  try {
    await withTimeout((async () => { while (!lines.some((l) => l.startsWith('port '))) await new Promise((r) => setTimeout(r, 10)); })(), WAIT_MS, 'child listening');
    const port = Number((lines.find((l) => l.startsWith('port ')) as string).slice(5));
    // Far more connections than the child has descriptors; each stays open (the handler waits for a line).
    for (let i = 0; i < 100; i++) {
      const s = net.connect({ host: HOST, port });
      s.on('error', () => {});
      sockets.push(s);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    t.equal(await withTimeout(echoClient(port, 'after\n'), WAIT_MS, 'echo after exhaustion'), 'after\n', 'the server serves again once descriptors are free');
    child.stdin.end();
    t.equal(await withTimeout(exited, WAIT_MS, 'child exit'), 0, 'the child shut down and exited 0');
    const handled = Number(lines.find((l) => l.startsWith('handled '))?.slice(8));
    t.ok(handled > 1 && handled < 100, `descriptors ran out: ${handled} of 101 connections reached the handler`);
    const codes = new Set(lines.filter((l) => l.startsWith('onError ')).map((l) => l.slice(8)));
    t.ok([...codes].every((c) => c === 'EMFILE' || c === 'ERR_STREAM_CLOSED' || c === 'ECONNRESET'), `onError saw only EMFILE / closed streams: ${[...codes].join(', ')}`);
    t.notOk(/Uncaught|unhandled/i.test(stderr), 'nothing uncaught in the child');
  } finally {
    for (const s of sockets) s.destroy();
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  }
});

test('server: TLS: handshake before the handler; a garbage client and a silent one go to onError, not the handler', async (t) => {
  const before = resources();
  const certs = testCerts();
  const { reported, onError } = recorder();
  let handled = 0;
  const server = await serve(async (stream) => {
    handled++;
    t.ok(stream instanceof SSLIOStream && stream.socket !== null && stream.socket.getFinished() !== undefined, 'the handler gets a stream whose handshake is done');
    await echo(stream);
  }, { tls: { key: certs.serverKey, cert: certs.serverCert }, handshakeTimeout: 300, onError });
  const clients = await withTimeout(Promise.all(Array.from({ length: 5 }, async (_, i) => {
    const c = await new SSLIOStream(undefined, { sslOptions: { ca: certs.ca } })
      .connect({ host: HOST, port: server.port }, { serverHostname: 'localhost' });
    await c.write(`tls ${i}\n`);
    const line = (await c.readUntil('\n')).toString();
    c.close();
    return line;
  })), WAIT_MS, 'TLS clients');
  t.deepEqual(clients, [0, 1, 2, 3, 4].map((i) => `tls ${i}\n`), 'every TLS client got its echo');

  const garbage = net.connect({ host: HOST, port: server.port });
  garbage.on('error', () => {});
  garbage.write('GET / HTTP/1.0\r\n\r\n');
  garbage.resume();
  const garbageGone = new Promise<void>((resolve) => garbage.once('close', () => resolve()));
  const silent = net.connect({ host: HOST, port: server.port });
  silent.on('error', () => {});
  silent.resume();
  const silentGone = new Promise<void>((resolve) => silent.once('close', () => resolve()));
  await withTimeout(Promise.all([garbageGone, silentGone]), WAIT_MS, 'the bad clients are dropped');
  await withTimeout((async () => { while (reported.length < 2) await new Promise((r) => setTimeout(r, 5)); })(), WAIT_MS, 'reports');
  t.equal(handled, 5, 'the handler saw only the good clients');
  t.equal(reported.length, 2, 'two handshake failures reported');
  const timedOut = reported.find((r) => r.error instanceof StreamClosedError);
  t.equal((timedOut?.error as StreamClosedError | undefined)?.realError?.message, 'TLS handshake timed out after 300 ms', 'the silent client: handshake timeout');
  t.ok(reported.some((r) => !(r.error instanceof StreamClosedError) && typeof (r.error as { code?: string }).code === 'string'), 'the garbage client: the TLS error with its code');
  t.ok(reported.every((r) => r.stream instanceof SSLIOStream && r.stream.closed()), 'each with its closed stream');
  await server.shutdown({ timeout: 1000 });
  await nothingLeft(t, before);
});

test('server: closeAll closes live streams cleanly, keeps listening, and reports nothing', async (t) => {
  const before = resources();
  const { reported, onError } = recorder();
  const serverStreams: ServerStream[] = [];
  const server = await serve(async (stream) => {
    serverStreams.push(stream);
    await echo(stream); // waits for a line that the first clients never send
  }, { onError });
  const idle = await Promise.all([1, 2, 3].map(() => new IOStream().connect({ host: HOST, port: server.port })));
  await withTimeout((async () => { while (serverStreams.length < 3) await new Promise((r) => setTimeout(r, 5)); })(), WAIT_MS, 'accepted');
  const ends = idle.map((c) => c.readUntilClose());
  await withTimeout(server.closeAll(), WAIT_MS, 'closeAll');
  t.equal(server.connections, 0, 'no live connection after closeAll');
  t.deepEqual((await withTimeout(Promise.all(ends), WAIT_MS, 'clients')).map((b) => b.length), [0, 0, 0], 'each client saw a clean EOF');
  t.ok(serverStreams.every((s) => s.closed() && s.error === null), 'server streams closed cleanly');
  t.equal(reported.length, 0, 'the handlers\' StreamClosedErrors were not reported');
  t.ok(server.listening, 'still listening');
  t.equal(await echoClient(server.port, 'next\n'), 'next\n', 'and still serving');
  for (const c of idle) c.close();
  await server.close();
  await nothingLeft(t, before);
});

test('server: graceful shutdown: a handler that honours the signal ends cleanly, one that ignores it is destroyed after the grace period', async (t) => {
  const before = resources();
  const { reported, onError } = recorder();
  const byName = new Map<string, ServerStream>();
  const server = await serve(async (stream, info) => {
    const name = (await stream.readUntil('\n')).toString().trim();
    byName.set(name, stream);
    if (name === 'polite') await stream.readUntil('\n', { signal: info.signal }); // ends when shutdown starts
    else if (name === 'stubborn') await stream.readUntil('\n'); // stays open
  }, { onError });
  const clients = await Promise.all(['polite', 'stubborn'].map(async (name) => {
    const c = await new IOStream().connect({ host: HOST, port: server.port });
    await c.write(`${name}\n`);
    return c;
  }));
  await withTimeout((async () => { while (byName.size < 2) await new Promise((r) => setTimeout(r, 5)); })(), WAIT_MS, 'both named');
  const ends = clients.map((c) => c.readUntilClose().then(() => 'eof', (e: unknown) => String(e)));
  const port = server.port;
  const started = Date.now();
  const done = server.shutdown({ timeout: 400 });
  t.equal(server.shutdown(), done, 'shutdown is idempotent (same promise)');
  t.notOk(server.listening, 'stops accepting at once');
  const refused = await new IOStream().connect({ host: HOST, port }).then(() => 'connected', () => 'refused');
  t.equal(refused, 'refused', 'new connections are refused during shutdown');
  await withTimeout(done, WAIT_MS, 'shutdown');
  t.ok(Date.now() - started >= 390, 'shutdown waited for the grace period (the stubborn connection)');
  t.equal(server.connections, 0, 'no live connection');
  const polite = byName.get('polite') as ServerStream;
  const stubborn = byName.get('stubborn') as ServerStream;
  t.ok(polite.closed() && polite.error === null, 'the polite handler\'s stream closed cleanly');
  t.equal((stubborn.error as { code?: string } | null)?.code, 'ERR_SERVER_CLOSED', 'the stubborn one was destroyed with ERR_SERVER_CLOSED');
  t.deepEqual(await withTimeout(Promise.all(ends), WAIT_MS, 'client ends'), ['eof', 'eof'], 'both clients saw the end');
  t.equal(reported.length, 0, 'nothing the server itself caused is reported');
  for (const c of clients) c.close();
  await nothingLeft(t, before);
});

test('server: await using disposes (shutdown) and a server that never listened closes at once', async (t) => {
  const before = resources();
  let port = 0;
  {
    await using server = await serve(echo);
    port = server.port;
    t.equal(await echoClient(port, 'using\n'), 'using\n', 'serves inside the block');
  }
  const refused = await new IOStream().connect({ host: HOST, port }).then(() => false, (e: unknown) => e instanceof StreamClosedError);
  t.ok(refused, 'disposed at the end of the block: the port refuses');
  await new TCPServer(echo).close();
  await nothingLeft(t, before);
});

test('server: the README example (a line echo loop ended by info.signal) shuts down at once and reports nothing', async (t) => {
  const before = resources();
  const errors: unknown[] = [];
  {
    await using server = await serve(async (stream, info) => {
      for (;;) {
        const line = await stream.readUntil('\n', { maxBytes: 4096, signal: info.signal });
        await stream.write(line);
      }
    }, { port: 0, onError: (err) => { if (!(err instanceof StreamClosedError)) errors.push(err); } });
    const c = await new IOStream().connect({ host: HOST, port: server.port });
    await c.write('a\nb\n');
    t.equal((await c.readUntil('\n')).toString(), 'a\n', 'first line echoed');
    t.equal((await c.readUntil('\n')).toString(), 'b\n', 'second line echoed');
    const end = c.readUntilClose();
    // Default grace period is 5 s; the handler ends on the signal, so this cannot need it.
    await withTimeout(server.shutdown(), 4000, 'shutdown ends with the handlers, not the grace period');
    t.equal((await end).length, 0, 'the client sees a clean EOF');
    c.close();
  }
  t.deepEqual(errors, [], 'onError saw nothing but StreamClosedErrors');
  await nothingLeft(t, before);
});

test('server: a handler that hands its stream to startTls: shutdown destroys that socket after the grace period', async (t) => {
  const before = resources();
  const certs = testCerts();
  let upgraded: SSLIOStream | null = null;
  const server = await serve(async (stream) => {
    await stream.readUntil('STARTTLS\n');
    await stream.write('GO\n');
    upgraded = await (stream as IOStream).startTls(true, { key: certs.serverKey, cert: certs.serverCert });
    await new Promise(() => {}); // holds the upgraded stream forever
  });
  const c = await new IOStream().connect({ host: HOST, port: server.port });
  await c.write('STARTTLS\n');
  await c.readUntil('GO\n');
  const secure = await withTimeout(c.startTls(false, { ca: certs.ca }, 'localhost'), WAIT_MS, 'client startTls');
  await withTimeout((async () => { while (upgraded === null) await new Promise((r) => setTimeout(r, 5)); })(), WAIT_MS, 'server upgraded');
  const end = secure.readUntilClose().then(() => 'eof', () => 'error');
  t.equal(server.connections, 1, 'the upgraded connection still counts');
  await withTimeout(server.shutdown({ timeout: 100 }), WAIT_MS, 'shutdown');
  t.equal(server.connections, 0, 'released');
  t.ok((upgraded as unknown as SSLIOStream).closed(), 'the handler\'s SSLIOStream is closed with its socket');
  t.ok(['eof', 'error'].includes(await withTimeout(end, WAIT_MS, 'client end')), 'the client sees the end');
  secure.close();
  await nothingLeft(t, before);
});

test('server: noDelay false turns Nagle back on for accepted streams; the default leaves TCP_NODELAY on', async (t) => {
  // Node has no getter for TCP_NODELAY: record what the streams ask their sockets for.
  const calls: boolean[] = [];
  const original = net.Socket.prototype.setNoDelay;
  net.Socket.prototype.setNoDelay = function patched(this: net.Socket, value?: boolean) {
    calls.push(value !== false);
    return original.call(this, value);
  };
  try {
    for (const [noDelay, want] of [[undefined, true], [false, false]] as const) {
      calls.length = 0;
      const seen = new Promise<void>((resolve) => {
        const server = new TCPServer(async (stream) => { await stream.readUntil('\n'); resolve(); },
          noDelay === undefined ? {} : { noDelay });
        void server.listen().then(async () => {
          const client = await new IOStream().connect({ host: '127.0.0.1', port: server.port });
          await client.write('x\n');
          await seen;
          client.close();
          await server.shutdown({ timeout: 1000 });
        });
      });
      await withTimeout(seen, 5000, 'handler');
      await new Promise((resolve) => setTimeout(resolve, 20));
      t.equal(calls.includes(false), !want, `noDelay ${String(noDelay)}: ${want ? 'no' : 'a'} setNoDelay(false)`);
      t.ok(calls.length > 0, 'the streams set TCP_NODELAY explicitly');
    }
  } finally {
    net.Socket.prototype.setNoDelay = original;
  }
});
