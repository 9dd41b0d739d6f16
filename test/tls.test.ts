/**
 * `SSLIOStream` and `IOStream.startTls` over real loopback TLS, with certificates generated at
 * test time. Ports of Tornado's `TestIOStreamStartTLS`, `WaitForHandshakeTest` and
 * `TestIOStreamCheckHostname` (iostream_test6.py), named after their twins, plus the error
 * codes of the common verification failures.
 *
 * Tornado's test certificate is self-signed; here the server presents a leaf signed by a test
 * CA (SANs localhost, foo.example.com, 127.0.0.1), and the client trusts that CA via `ca`.
 * Not ported: test_typed_memoryview (API.md's write() takes Uint8Array | string only).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { test, withTimeout, type Test } from './_support/harness.js';
import { testCerts } from './_support/certs.js';
import { acceptOnce, closedPort, tcpPair, until, waitBuffered } from './_support/net-pair.js';
import { IOStream } from '../drivers/node/net.js';
import { SSLIOStream } from '../drivers/node/tls.js';
import { StreamClosedError } from '../core/errors.js';

const WAIT_MS = 10_000;
const certs = testCerts();
const serverOptions = (): tls.TlsOptions => ({ key: certs.serverKey, cert: certs.serverCert });

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  return withTimeout(p.then(
    () => { throw new Error('expected a rejection'); },
    (e: unknown) => e as Error & { code?: string },
  ), WAIT_MS, 'rejection');
}

// ---------------------------------------------------------------- TestIOStreamStartTLS

async function sendLine(t: Test, from: IOStream | SSLIOStream, to: IOStream | SSLIOStream, line: string): Promise<void> {
  const [, got] = await Promise.all([from.write(line), to.readUntil('\r\n')]);
  t.equal(got.toString(), line);
}

test('test_start_tls_smtp', async (t) => {
  // Simplified from RFC 3207 section 5: realistic back-and-forth before and after the upgrade.
  const [client, server] = await tcpPair();
  await sendLine(t, server, client, '220 mail.example.com ready\r\n');
  await sendLine(t, client, server, 'EHLO mail.example.com\r\n');
  await sendLine(t, server, client, '250-mail.example.com welcome\r\n');
  await sendLine(t, server, client, '250 STARTTLS\r\n');
  await sendLine(t, client, server, 'STARTTLS\r\n');
  await sendLine(t, server, client, '220 Go ahead\r\n');
  const clientTls = client.startTls(false, { rejectUnauthorized: false });
  const serverTls = server.startTls(true, serverOptions());
  t.ok(client.closed() && server.closed(), 'the plain streams are detached');
  // A write on the detached stream rejects and is never sent: no plaintext enters the TLS session.
  const late = await client.write('PLAINTEXT\r\n').then(() => null, (e: unknown) => e);
  t.ok(late instanceof StreamClosedError, 'a write on the detached plain stream rejects');
  const [c, s] = await withTimeout(Promise.all([clientTls, serverTls]), WAIT_MS, 'handshake');
  t.ok(c instanceof SSLIOStream && s instanceof SSLIOStream);
  t.ok(c.socket?.encrypted && c.socket.getCipher() !== null, 'the client side is encrypted');
  await sendLine(t, c, s, 'EHLO mail.example.com\r\n');
  await sendLine(t, s, c, '250 mail.example.com welcome\r\n');
  c.close();
  t.equal((await s.readUntilClose()).length, 0);
});

test('test_handshake_fail', async (t) => {
  // Certificates are verified by default: the client doesn't trust the test CA.
  const [client, server] = await tcpPair();
  const serverTls = server.startTls(true, serverOptions());
  const clientTls = client.startTls(false, undefined, 'localhost');
  const err = await rejection(clientTls);
  t.equal(err.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'rejects with the TLS error itself');
  t.ok(!(err instanceof StreamClosedError));
  t.ok(await rejection(serverTls) instanceof Error, 'the server side fails too');
});

test('test_check_hostname', async (t) => {
  // serverHostname given to startTls is what the certificate is checked against.
  const [client, server] = await tcpPair();
  const serverTls = server.startTls(true, serverOptions());
  const clientTls = client.startTls(false, { ca: certs.ca }, 'bar.example.com');
  t.equal((await rejection(clientTls)).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  t.ok(await rejection(serverTls) instanceof Error, 'the server side fails too');

  const [client2, server2] = await tcpPair();
  const [c, s] = await withTimeout(Promise.all([
    client2.startTls(false, { ca: certs.ca }, 'foo.example.com'), server2.startTls(true, serverOptions()),
  ]), WAIT_MS, 'handshake');
  t.pass('a matching serverHostname verifies');
  c.close();
  s.close();
});

test('startTls: refused while not idle (buffered plaintext, pending read, pending write)', async (t) => {
  const [client, server] = await tcpPair();
  await server.write('220 Go ahead\r\nINJECTED');
  t.equal((await client.readUntil('\r\n')).toString(), '220 Go ahead\r\n');
  await withTimeout(waitBuffered(client, 8), WAIT_MS, 'buffering');
  t.throws(() => client.startTls(false), /not idle/, 'buffered bytes: refused');
  t.notOk(client.closed(), 'stream unchanged');
  t.equal((await client.readBytes(8)).toString(), 'INJECTED', 'the bytes are still there');
  const pending = client.readBytes(1);
  t.throws(() => client.startTls(false), /not idle/, 'pending read: refused');
  void server.write('x');
  t.equal((await pending).toString(), 'x');
  const w = client.write('y');
  t.throws(() => client.startTls(false), /not idle/, 'pending write: refused');
  await w;
  client.close();
  server.close();
});

// ---------------------------------------------------------------- WaitForHandshakeTest

/** Accepts one connection as a server-side SSLIOStream, runs `handle`, connects a client. */
async function connectToServer(handle: (stream: SSLIOStream) => Promise<void>): Promise<void> {
  let handled!: Promise<void>;
  const { port, accepted } = await acceptOnce((socket) => {
    handled = handle(new SSLIOStream(socket, { serverSide: true, sslOptions: serverOptions() }));
  });
  const client = new SSLIOStream(undefined, { sslOptions: { rejectUnauthorized: false } });
  try {
    await withTimeout(client.connect({ host: '127.0.0.1', port }), WAIT_MS, 'connect');
    if (client.socket?.getCipher() == null) throw new Error('no cipher after connect');
    await accepted;
    await withTimeout(handled, WAIT_MS, 'server handler');
  } finally {
    client.close();
  }
}

test('test_wait_for_handshake_future', async (t) => {
  await connectToServer(async (stream) => {
    t.notOk(stream.socket?.getFinished(), 'handshake not done when the stream is created');
    t.equal(await stream.waitForHandshake(), stream);
    stream.close();
  });
});

test('test_wait_for_handshake_already_waiting_error', async (t) => {
  await connectToServer(async (stream) => {
    const fut = stream.waitForHandshake();
    t.throws(() => stream.waitForHandshake(), /Already waiting/);
    await fut;
    stream.close();
  });
});

test('test_wait_for_handshake_already_connected', async (t) => {
  await connectToServer(async (stream) => {
    await stream.waitForHandshake();
    t.equal(await stream.waitForHandshake(), stream, 'resolves at once when done');
    stream.close();
  });
});

// ---------------------------------------------------------------- TestIOStreamCheckHostname

async function checkHostnameServer(): Promise<{ port: number; done: Promise<void> }> {
  let server: SSLIOStream | null = null;
  const { port, accepted } = await acceptOnce((socket) => {
    server = new SSLIOStream(socket, { serverSide: true, sslOptions: serverOptions() });
  });
  const done = accepted.then(async () => {
    const s = server as unknown as SSLIOStream;
    await s.readUntilClose().catch(() => {});
    s.close();
  });
  return { port, done };
}

test('test_match', async (t) => {
  const { port, done } = await checkHostnameServer();
  const stream = new SSLIOStream(undefined, { sslOptions: { ca: certs.ca } });
  await stream.connect({ host: '127.0.0.1', port }, { serverHostname: 'foo.example.com' });
  t.ok(stream.socket?.authorized, 'verified');
  stream.close();
  await withTimeout(done, WAIT_MS, 'server');
});

test('test_no_match', async (t) => {
  const { port, done } = await checkHostnameServer();
  const stream = new SSLIOStream(undefined, { sslOptions: { ca: certs.ca } });
  const closed = new Promise<void>((resolve) => stream.setCloseCallback(resolve));
  const err = await rejection(stream.connect({ host: '127.0.0.1', port }, { serverHostname: 'bar.example.com' }));
  t.equal(err.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  t.equal(stream.error, err, 'the stream is closed with the TLS error');
  await withTimeout(closed, WAIT_MS, 'close callback');
  await withTimeout(done, WAIT_MS, 'server');
});

test('test_check_disabled', async (t) => {
  const { port, done } = await checkHostnameServer();
  const stream = new SSLIOStream(undefined, { sslOptions: { ca: certs.ca, checkServerIdentity: () => undefined } });
  await stream.connect({ host: '127.0.0.1', port }, { serverHostname: 'bar.example.com' });
  t.pass('connected despite the name mismatch');
  stream.close();
  await withTimeout(done, WAIT_MS, 'server');
});

// ---------------------------------------------------------------- verification failures & more

for (const [label, serverCert, clientOpts, code] of [
  ['self-signed server certificate', { key: certs.selfSignedKey, cert: certs.selfSignedCert }, {}, 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  ['certificate from an unrelated CA', serverOptions(), { ca: certs.otherCa }, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
] as const) {
  test(`SSLIOStream: ${label} → ${code}; pending operations get StreamClosedError`, async (t) => {
    let server: SSLIOStream | null = null;
    const { port, accepted } = await acceptOnce((socket) => {
      server = new SSLIOStream(socket, { serverSide: true, sslOptions: serverCert });
    });
    const stream = new SSLIOStream(undefined, { sslOptions: clientOpts });
    const read = stream.readBytes(1);
    const write = stream.write('early');
    const connect = stream.connect({ host: 'localhost', port });
    const waited = stream.waitForHandshake();
    const err = await rejection(connect);
    t.equal(err.code, code);
    t.equal(await rejection(waited), err, 'waitForHandshake rejects with the TLS error');
    for (const p of [read, write]) {
      const e = await rejection(p);
      t.ok(e instanceof StreamClosedError && e.realError === err, 'pending op: StreamClosedError { realError }');
    }
    await accepted;
    t.ok(await rejection((server as unknown as SSLIOStream).waitForHandshake()) instanceof Error, 'server side fails');
  });
}

test('SSLIOStream: connection refused is StreamClosedError { realError }', async (t) => {
  const stream = new SSLIOStream();
  const err = await rejection(stream.connect({ host: '127.0.0.1', port: await closedPort() }));
  t.ok(err instanceof StreamClosedError);
  t.equal(((err as StreamClosedError).realError as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  t.equal(await rejection(stream.waitForHandshake()), err);
});

test('SSLIOStream: reads and writes issued before the handshake wait for it', async (t) => {
  const ctx = tls.createSecureContext(serverOptions());
  let server: SSLIOStream | null = null;
  let early!: Promise<Buffer>;
  const { port, accepted } = await acceptOnce((socket) => {
    server = new SSLIOStream(socket, { serverSide: true, sslOptions: ctx });
    early = server.readUntil('\n');
    void server.write('hello client\n');
  });
  const client = new SSLIOStream(undefined, { sslOptions: { ca: certs.ca } });
  const w = client.write('hello server\n');
  const r = client.readUntil('\n');
  await client.connect({ host: 'localhost', port });
  await accepted;
  t.equal((await r).toString(), 'hello client\n');
  await w;
  t.equal((await early).toString(), 'hello server\n');
  client.close();
  (server as unknown as SSLIOStream).close();
});

test('SSLIOStream: adopts a TLSSocket from tls.Server; close before handshake releases the socket', async (t) => {
  const streams: SSLIOStream[] = [];
  const srv = tls.createServer(serverOptions(), (socket) => { streams.push(new SSLIOStream(socket)); });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  const client = new SSLIOStream(undefined, { sslOptions: { ca: certs.ca } });
  await client.connect({ host: '127.0.0.1', port });
  await client.write('ping\n');
  await until(() => streams.length > 0, 'accepted');
  const s = streams[0] as SSLIOStream;
  t.equal(await s.waitForHandshake(), s, 'an already-secure socket is done at once');
  t.equal((await s.readUntil('\n')).toString(), 'ping\n');
  client.close();
  s.close();
  // A client closed mid-handshake: its handshake wait rejects with StreamClosedError.
  const c2 = new SSLIOStream(undefined, { sslOptions: { ca: certs.ca } });
  const p = c2.connect({ host: '127.0.0.1', port });
  c2.close();
  t.ok(await rejection(p) instanceof StreamClosedError);
  await new Promise<void>((resolve) => srv.close(() => resolve()));
});
