/**
 * Resource hygiene: streams release their sockets. After opening and closing many connections
 * (clean closes from either side, error closes, TLS), `process.getActiveResourcesInfo()` must
 * show no more TCPSocketWrap / TCPServerWrap than before the test. Closing is asynchronous
 * (FIN exchange), so the check waits, bounded, for the count to come back down. And a stream's
 * own bookkeeping stays bounded however many writes pass through it.
 */
import * as net from 'node:net';
import { test, withTimeout } from './_support/harness.js';
import { testCerts } from './_support/certs.js';
import { IOStream } from '../drivers/node/net.js';
import { SSLIOStream } from '../drivers/node/tls.js';
import { LINGER_MS } from '../drivers/node/socket-transport.js';
import { until } from './_support/net-pair.js';
import { memoryPair, type BaseIOStream } from '../drivers/index.js';

const WAIT_MS = 15_000;

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;
}

/** Polls until at most `max` TCP handles are active; gives up (without failing) after `ms`. */
async function waitForHandles(max: number, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (tcpHandles() > max && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

/**
 * The baseline: connections earlier tests closed may still be exchanging FINs, so first wait
 * (bounded) for them to go away, then count what is left.
 */
async function baseline(): Promise<number> {
  await waitForHandles(0, LINGER_MS + 1000);
  return tcpHandles();
}

type Make = (socket: net.Socket) => IOStream | SSLIOStream;

/** Opens `count` connections to one listener; returns [clients, servers] and a closer for the listener. */
async function openMany(count: number, tlsMode: boolean): Promise<[Array<IOStream | SSLIOStream>, Array<IOStream | SSLIOStream>, () => Promise<void>]> {
  const certs = testCerts();
  const servers: Array<IOStream | SSLIOStream> = [];
  const make: Make = tlsMode
    ? (s) => new SSLIOStream(s, { serverSide: true, sslOptions: { key: certs.serverKey, cert: certs.serverCert } })
    : (s) => new IOStream(s);
  const listener = net.createServer((socket) => { servers.push(make(socket)); });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as net.AddressInfo;
  const clients = await Promise.all(Array.from({ length: count }, () => (tlsMode
    ? new SSLIOStream(undefined, { sslOptions: { ca: certs.ca } }).connect({ host: '127.0.0.1', port }, { serverHostname: 'localhost' })
    : new IOStream().connect({ host: '127.0.0.1', port }))));
  await until(() => servers.length === count, 'all accepted');
  const stop = (): Promise<void> => new Promise((resolve) => listener.close(() => resolve()));
  return [clients, servers, stop];
}

test('hygiene: 200 TCP connections, closed from the client, leave no handle behind', async (t) => {
  const before = await baseline();
  const [clients, servers, stop] = await openMany(200, false);
  t.ok(tcpHandles() >= before + 400, 'the connections are open');
  await Promise.all(clients.map((c, i) => c.write(`hello ${i}\n`)));
  const echoed = servers.map(async (s) => {
    const line = await s.readUntil('\n');
    const rest = await s.readUntilClose(); // client FIN: clean close
    return line.length + rest.length;
  });
  for (const c of clients) c.close();
  const lens = await withTimeout(Promise.all(echoed), WAIT_MS, 'server reads');
  t.equal(lens.length, 200, 'every server stream saw the line and a clean close');
  t.ok(servers.every((s) => s.closed() && s.error === null), 'server streams closed cleanly');
  await stop();
  await waitForHandles(before);
  t.ok(tcpHandles() <= before, `no TCPSocketWrap/TCPServerWrap left over (${tcpHandles()} <= ${before})`);
});

test('hygiene: server-side closes and error closes leave no handle behind', async (t) => {
  const before = await baseline();
  const [clients, servers, stop] = await openMany(100, false);
  servers.forEach((s, i) => (i % 2 === 0 ? s.close() : s.close(new Error('abort'))));
  await withTimeout(Promise.all(clients.map((c) => c.readUntilClose().catch(() => Buffer.alloc(0)))), WAIT_MS, 'client reads');
  t.ok(clients.every((c) => c.closed()), 'every client noticed the close');
  await stop();
  await waitForHandles(before);
  t.ok(tcpHandles() <= before, `no TCPSocketWrap/TCPServerWrap left over (${tcpHandles()} <= ${before})`);
});

test('hygiene: 50 TLS connections leave no handle behind', async (t) => {
  const before = await baseline();
  const [clients, servers, stop] = await openMany(50, true);
  await Promise.all(servers.map((s) => (s as SSLIOStream).waitForHandshake()));
  for (const c of clients) c.close();
  await withTimeout(Promise.all(servers.map((s) => s.readUntilClose())), WAIT_MS, 'server reads');
  await stop();
  await waitForHandles(before);
  t.ok(tcpHandles() <= before, `no TCPSocketWrap/TCPServerWrap left over (${tcpHandles()} <= ${before})`);
});

test('hygiene: a clean close is bounded when the peer never closes its side', async (t) => {
  const before = await baseline();
  let peer: net.Socket | null = null;
  const listener = net.createServer({ allowHalfOpen: true }, (socket) => { peer = socket; socket.resume(); });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as net.AddressInfo;
  const stream = await new IOStream().connect({ host: '127.0.0.1', port });
  await until(() => peer !== null, 'accepted');
  const peerEnded = new Promise<void>((resolve) => (peer as unknown as net.Socket).once('end', resolve));
  stream.close();
  await withTimeout(peerEnded, WAIT_MS, 'peer sees our FIN');
  // The half-open peer never sends its FIN: our socket must still go away (after LINGER_MS).
  await withTimeout(new Promise<void>((resolve) => {
    const s = stream.socket as net.Socket;
    if (s.destroyed) resolve(); else s.once('close', () => resolve());
  }), LINGER_MS + WAIT_MS, 'lingering socket destroyed');
  (peer as unknown as net.Socket).destroy();
  await new Promise<void>((resolve) => listener.close(() => resolve()));
  await waitForHandles(before);
  t.ok(tcpHandles() <= before, `no TCPSocketWrap/TCPServerWrap left over (${tcpHandles()} <= ${before})`);
});

/** How many slots the facade's queue of pending write promises holds (settled ones not yet compacted included). */
function writeSlots(s: BaseIOStream): number {
  return (s as unknown as { writeHandles: { ids: unknown[] } | null }).writeHandles?.ids.length ?? 0;
}

// A writer that keeps a window of writes pending and refills it as each resolves never lets
// the queue empty (the memory link acknowledges on a later task, after the refill). Its
// bookkeeping must stay bounded by compaction, not grow with the number of writes.
test('hygiene: a write queue that never empties keeps its bookkeeping bounded', async (t) => {
  const [a, b] = memoryPair();
  try {
    const n = 6000;
    const window = 4;
    const reading = (async (): Promise<boolean> => {
      let inOrder = true;
      for (let i = 0; i < n; i++) if (new TextDecoder().decode(await b.readUntil('\n')) !== `${i}\n`) inOrder = false;
      return inOrder;
    })();
    const inFlight: Promise<void>[] = [];
    let most = 0;
    for (let i = 0; i < n; i++) {
      if (i >= window) await inFlight[i - window];
      most = Math.max(most, writeSlots(a));
      inFlight[i] = a.write(`${i}\n`);
    }
    await withTimeout(Promise.all(inFlight), WAIT_MS, 'writes');
    t.ok(await withTimeout(reading, WAIT_MS, 'reads'), `all ${n} writes arrived in order`);
    t.ok(most <= 2100, `at most ${most} slots held for ${n} writes whose queue never emptied`);
  } finally {
    a.close();
    b.close();
  }
});
