/**
 * TCP_NODELAY is on by default on every socket IOStream and SSLIOStream attach (accepted,
 * connected by `connect`, upgraded by `startTls`), unless `setNodelay(false)` says otherwise.
 *
 * Why it must be: the write queue hands a write to the socket at once and queues the writes
 * behind it until the socket took it, so two writes in a row (a reply's head and body, replies
 * to pipelined requests) leave as two segments, the second while the first is not acknowledged
 * yet. With Nagle's algorithm on, the kernel holds that second segment until the ACK comes, and
 * a peer waiting for the whole reply before it sends anything delays its ACK (40 ms on Linux):
 * every round trip stalls. The stall tests below run such rounds over real sockets; with
 * Nagle on they take 40 ms a round, over 8 s in all, far past their bound.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { IOStream } from '../drivers/node/net.js';
import { SSLIOStream } from '../drivers/node/tls.js';
import type { BaseIOStream } from '../drivers/facade/base-iostream.js';
import { test, withTimeout } from './_support/harness.js';
import { testCerts } from './_support/certs.js';
import { acceptOnce } from './_support/net-pair.js';

const ROUNDS = 200;
/** Without the stall, 200 rounds take milliseconds; with it, about 200 × 40 ms. */
const BOUND_MS = 4000;

/** `work` within BOUND_MS, or a rejection saying how far it got. */
async function bounded(work: Promise<unknown>, what: string, progress: () => number): Promise<void> {
  try {
    await withTimeout(work, BOUND_MS, what);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)} with ${progress()} done: a Nagle/delayed-ACK stall?`);
  }
}

/** Resolves with the first `n` bytes `socket` receives from now on. */
function receive(socket: net.Socket, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      if (got.length >= n) { off(); resolve(got); }
    };
    const onEnd = (): void => { off(); reject(new Error(`connection ended after ${JSON.stringify(got)}`)); };
    const off = (): void => { socket.off('data', onData); socket.off('end', onEnd); socket.off('error', onEnd); };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onEnd);
  });
}

/**
 * `rounds` request/reply rounds: `peer` (a plain socket) sends `q\n`, `stream` answers with two
 * writes, `a` then `b\n`, and `peer` sends the next request only once it has both.
 */
async function twoWriteReplies(stream: BaseIOStream<Buffer>, peer: net.Socket, rounds: number): Promise<number> {
  let done = 0;
  const serving = (async () => {
    for (let i = 0; i < rounds; i++) {
      await stream.readUntil('\n');
      void stream.write('a');
      void stream.write('b\n');
    }
  })();
  const asking = (async () => {
    for (; done < rounds; done++) {
      const reply = receive(peer, 3);
      peer.write('q\n');
      if (await reply !== 'ab\n') throw new Error(`unexpected reply ${JSON.stringify(await reply)}`);
    }
  })();
  await bounded(Promise.all([serving, asking]), `${rounds} rounds of a two-write reply`, () => done);
  return done;
}

test('nodelay: an IOStream over an accepted socket answers with two writes per round without stalling', async (t) => {
  let server: IOStream | null = null;
  const { port, accepted } = await acceptOnce((socket) => { server = new IOStream(socket); });
  const client = net.connect(port, '127.0.0.1');
  try {
    await accepted;
    t.equal(await twoWriteReplies(server as unknown as IOStream, client, ROUNDS), ROUNDS, `${ROUNDS} rounds within ${BOUND_MS} ms`);
  } finally {
    client.destroy();
    (server as IOStream | null)?.close();
  }
});

test('nodelay: an IOStream that connect()ed sends a request in two writes without stalling', async (t) => {
  // Mirror image: the stream writes `a` then `b\n`; the plain server answers once it has both.
  let peer: net.Socket | null = null;
  const { port, accepted } = await acceptOnce((socket) => { peer = socket; });
  const stream = await new IOStream().connect({ host: '127.0.0.1', port });
  try {
    await accepted;
    const p = peer as unknown as net.Socket;
    let done = 0;
    const answering = (async () => {
      for (let i = 0; i < ROUNDS; i++) {
        if (await receive(p, 3) !== 'ab\n') throw new Error('unexpected request');
        p.write('ok\n');
      }
    })();
    const asking = (async () => {
      for (; done < ROUNDS; done++) {
        void stream.write('a');
        void stream.write('b\n');
        await stream.readUntil('\n');
      }
    })();
    await bounded(Promise.all([answering, asking]), `${ROUNDS} rounds of a two-write request`, () => done);
    t.equal(done, ROUNDS, `${ROUNDS} rounds within ${BOUND_MS} ms`);
  } finally {
    stream.close();
    (peer as net.Socket | null)?.destroy();
  }
});

test('nodelay: an SSLIOStream over an accepted socket answers with two writes per round without stalling', async (t) => {
  const certs = testCerts();
  let server: SSLIOStream | null = null;
  const { port, accepted } = await acceptOnce((socket) => {
    server = new SSLIOStream(socket, { serverSide: true, sslOptions: { key: certs.serverKey, cert: certs.serverCert } });
  });
  const client = tls.connect({ host: '127.0.0.1', port, ca: certs.ca, servername: 'localhost' });
  try {
    await withTimeout(new Promise<void>((resolve, reject) => {
      client.once('secureConnect', () => resolve());
      client.once('error', reject);
    }), 10_000, 'TLS handshake');
    await accepted;
    const s = server as unknown as SSLIOStream;
    await s.waitForHandshake();
    t.equal(await twoWriteReplies(s, client, ROUNDS), ROUNDS, `${ROUNDS} rounds within ${BOUND_MS} ms`);
  } finally {
    client.destroy();
    (server as SSLIOStream | null)?.close();
  }
});

/** Records every `setNoDelay` call on any socket (and makes it) until `restore()`. */
function spyNoDelay(): { on(socket: net.Socket | null): boolean[]; restore(): void } {
  const calls: [net.Socket, boolean][] = [];
  const proto = net.Socket.prototype;
  const real = Object.getOwnPropertyDescriptor(proto, 'setNoDelay') as PropertyDescriptor;
  proto.setNoDelay = function spied(this: net.Socket, value?: boolean) {
    calls.push([this, value !== false]);
    return (real.value as (v?: boolean) => net.Socket).call(this, value);
  };
  return {
    on: (socket) => calls.filter(([s]) => s === socket).map(([, v]) => v),
    restore: () => { Object.defineProperty(proto, 'setNoDelay', real); },
  };
}

test('nodelay: on by default on attach, and setNodelay(false) is kept (before attach, after, across startTls)', async (t) => {
  const spy = spyNoDelay();
  const streams: BaseIOStream<Buffer>[] = [];
  const sockets: net.Socket[] = [];
  try {
    let accepted1: net.Socket | null = null;
    const first = await acceptOnce((socket) => {
      accepted1 = socket;
      sockets.push(socket);
      streams.push(new IOStream(socket));
    });
    sockets.push(net.connect(first.port, '127.0.0.1'));
    await first.accepted;
    t.deepEqual(spy.on(accepted1), [true], 'an accepted socket: TCP_NODELAY set when the stream attaches');
    (streams[0] as IOStream).setNodelay(false);
    t.deepEqual(spy.on(accepted1), [true, false], 'setNodelay(false) afterwards turns it off');

    const second = await acceptOnce((socket) => { sockets.push(socket); });
    const client = new IOStream();
    streams.push(client);
    client.setNodelay(false);
    await client.connect({ host: '127.0.0.1', port: second.port });
    await second.accepted;
    t.deepEqual(spy.on(client.socket), [false], 'setNodelay(false) before connect() is all the connected socket gets');

    const fresh = new IOStream();
    streams.push(fresh);
    const third = await acceptOnce((socket) => { sockets.push(socket); });
    await fresh.connect({ host: '127.0.0.1', port: third.port });
    await third.accepted;
    t.deepEqual(spy.on(fresh.socket), [true], 'a socket connect() made: TCP_NODELAY set on connect');

    const certs = testCerts();
    let tlsServer: SSLIOStream | null = null;
    const fourth = await acceptOnce((socket) => {
      sockets.push(socket);
      tlsServer = new SSLIOStream(socket, { serverSide: true, sslOptions: { key: certs.serverKey, cert: certs.serverCert } });
      streams.push(tlsServer);
    });
    const before = new IOStream();
    streams.push(before);
    await before.connect({ host: '127.0.0.1', port: fourth.port });
    await fourth.accepted;
    before.setNodelay(false);
    const ssl = await withTimeout(before.startTls(false, { ca: certs.ca }, 'localhost'), 10_000, 'startTls');
    streams.push(ssl);
    await (tlsServer as unknown as SSLIOStream).waitForHandshake();
    t.deepEqual(spy.on(ssl.socket), [false], 'startTls keeps setNodelay(false) on the upgraded stream');
    t.deepEqual(spy.on((tlsServer as unknown as SSLIOStream).socket), [true], 'an SSLIOStream over an accepted socket: on by default');
  } finally {
    spy.restore();
    for (const s of streams) s.close();
    for (const s of sockets) s.destroy();
  }
});
