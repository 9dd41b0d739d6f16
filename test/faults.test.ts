/**
 * Real transport faults over loopback TCP and TLS: every one must end in the documented error
 * (API.md: `StreamClosedError { realError }` for resets, a clean close for a peer FIN), lose no
 * byte that arrived, and raise no unhandled event (the harness fails the test if one does).
 *
 * Resets are injected only when nothing is in flight towards the stream under test: libuv
 * reports a RST that arrives together with unread data as EOF, which would make the test racy.
 */
import * as net from 'node:net';
import { test, withTimeout } from './_support/harness.js';
import { testCerts } from './_support/certs.js';
import { acceptOnce, closedPort, tcpPair, waitBuffered } from './_support/net-pair.js';
import { IOStream } from '../drivers/node/net.js';
import { SSLIOStream } from '../drivers/node/tls.js';
import { StreamClosedError } from '../core/errors.js';

const WAIT_MS = 10_000;

function codeOf(err: unknown): string | undefined {
  const real = err instanceof StreamClosedError ? err.realError : undefined;
  return (real as NodeJS.ErrnoException | undefined)?.code;
}

function settle(p: Promise<unknown>): Promise<unknown> {
  return withTimeout(p.then(() => 'resolved', (e: unknown) => e), WAIT_MS, 'settle');
}

/** A TLS pair that also hands out the server's raw TCP socket (to reset it under TLS). */
async function tlsPairWithRaw(): Promise<{ client: SSLIOStream; server: SSLIOStream; raw: net.Socket }> {
  const certs = testCerts();
  let server: SSLIOStream | null = null;
  let raw: net.Socket | null = null;
  const { port, accepted } = await acceptOnce((socket) => {
    raw = socket;
    server = new SSLIOStream(socket, { serverSide: true, sslOptions: { key: certs.serverKey, cert: certs.serverCert } });
  });
  const client = await new SSLIOStream(undefined, { sslOptions: { ca: certs.ca } })
    .connect({ host: '127.0.0.1', port }, { serverHostname: 'localhost' });
  await accepted;
  const s = server as unknown as SSLIOStream;
  await s.waitForHandshake();
  return { client, server: s, raw: raw as unknown as net.Socket };
}

for (const kind of ['tcp', 'tls'] as const) {
  test(`${kind}: peer resets mid-read → StreamClosedError(ECONNRESET), buffered bytes kept`, async (t) => {
    let client: IOStream | SSLIOStream;
    let server: IOStream | SSLIOStream;
    let raw: net.Socket;
    if (kind === 'tcp') {
      [client, server] = await tcpPair();
      raw = server.socket as net.Socket;
    } else {
      ({ client, server, raw } = await tlsPairWithRaw());
    }
    let closes = 0;
    const closed = new Promise<void>((resolve) => client.setCloseCallback(() => { closes++; resolve(); }));
    const read = client.readBytes(100);
    await server.write('abc');
    await withTimeout(waitBuffered(client, 3), WAIT_MS, 'delivery');
    raw.resetAndDestroy();
    const err = await settle(read);
    t.ok(err instanceof StreamClosedError, 'pending read rejects with StreamClosedError');
    t.equal(codeOf(err), 'ECONNRESET');
    t.equal(client.error, (err as StreamClosedError).realError, 'stream error is the reset');
    t.equal((await client.readBytes(3)).toString(), 'abc', 'bytes that arrived are still readable');
    await withTimeout(closed, WAIT_MS, 'close callback');
    t.equal(closes, 1, 'close callback ran once');
    server.close();
  });

  test(`${kind}: peer closes with a pending readUntil → StreamClosedError, bytes still readable`, async (t) => {
    const [client, server] = kind === 'tcp' ? await tcpPair() : await (async () => {
      const p = await tlsPairWithRaw();
      return [p.client, p.server] as const;
    })();
    const read = client.readUntil('\n');
    await server.write('no newline here');
    server.close();
    const err = await settle(read);
    t.ok(err instanceof StreamClosedError, 'readUntil rejects');
    t.equal((err as StreamClosedError).realError, undefined, 'a clean close has no realError');
    t.equal(client.error, null);
    t.equal((await client.readBytes(15)).toString(), 'no newline here', 'nothing lost');
    t.ok(await settle(client.readBytes(1)) instanceof StreamClosedError, 'then the stream is exhausted');
  });

  test(`${kind}: write to a peer that reset → StreamClosedError(ECONNRESET|EPIPE)`, async (t) => {
    let client: IOStream | SSLIOStream;
    let raw: net.Socket;
    if (kind === 'tcp') {
      let server: IOStream;
      [client, server] = await tcpPair();
      raw = server.socket as net.Socket;
    } else {
      ({ client, raw } = await tlsPairWithRaw());
    }
    raw.resetAndDestroy();
    const chunk = Buffer.alloc(64 * 1024, 'w');
    let failure: unknown = null;
    for (let i = 0; i < 2000 && failure === null; i++) {
      failure = await client.write(chunk).then(() => null, (e: unknown) => e);
    }
    t.ok(failure instanceof StreamClosedError, 'a write eventually rejects with StreamClosedError');
    t.ok(['ECONNRESET', 'EPIPE'].includes(codeOf(failure) ?? ''), `realError code ${String(codeOf(failure))}`);
    t.ok(client.closed());
    t.ok(await settle(client.write('more')) instanceof StreamClosedError, 'later writes reject too');
  });
}

test('connect to a closed port: IOStream and SSLIOStream', async (t) => {
  const port = await closedPort();
  for (const stream of [new IOStream(), new SSLIOStream()]) {
    const closed = new Promise<void>((resolve) => stream.setCloseCallback(resolve));
    const write = stream.write('never sent');
    const err = await settle(stream.connect({ host: '127.0.0.1', port }));
    t.equal(codeOf(err), 'ECONNREFUSED', `${stream.constructor.name}: connect → StreamClosedError(ECONNREFUSED)`);
    t.equal(codeOf(await settle(write)), 'ECONNREFUSED', 'a held write rejects with the same cause');
    await withTimeout(closed, WAIT_MS, 'close callback');
  }
});

test('close(error) tears the connection down; the peer sees a reset or EOF, never a crash', async (t) => {
  const [client, server] = await tcpPair();
  const peerRead = server.readUntilClose();
  client.close(new Error('local failure'));
  t.equal(client.error?.message, 'local failure');
  t.ok(client.socket?.destroyed, 'the socket is destroyed at once, not ended');
  const r = await settle(peerRead);
  t.ok(r === 'resolved' || r instanceof StreamClosedError, 'peer read settles');
  t.ok(server.closed(), 'the peer stream is closed');
});

test('TLS: a peer that is not TLS at all fails the handshake and closes the stream', async (t) => {
  const { port } = await acceptOnce((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end('HTTP/1.0 400 Bad Request\r\n\r\n'));
  });
  const stream = new SSLIOStream(undefined, { sslOptions: { ca: testCerts().ca } });
  const err = await settle(stream.connect({ host: '127.0.0.1', port }));
  t.ok(err instanceof Error, `connect rejects (${(err as Error).message})`);
  t.ok(stream.closed());
  t.ok(stream.socket === null || stream.socket.destroyed, 'socket released');
});
