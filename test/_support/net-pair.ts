/**
 * Connected stream pairs over real loopback sockets (127.0.0.1, ephemeral port) for tests.
 * The listener is closed as soon as the one connection is accepted, so a pair leaves nothing
 * behind once both streams are closed.
 */
import * as net from 'node:net';
import type { StreamOptions } from '../../core/options.js';
import { IOStream } from '../../drivers/node/net.js';
import { SSLIOStream } from '../../drivers/node/tls.js';
import { receiveMode, setReceiveMode, type ReceiveMode } from '../../drivers/node/reused-receive.js';
import { testCerts } from './certs.js';

/** Listens on 127.0.0.1:0, hands the first accepted socket to `onSocket`, then stops listening. */
export function acceptOnce(onSocket: (socket: net.Socket) => void): Promise<{ port: number; accepted: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let acceptedResolve!: () => void;
    const accepted = new Promise<void>((r) => { acceptedResolve = r; });
    const server = net.createServer((socket) => {
      server.close();
      onSocket(socket);
      acceptedResolve();
    });
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({ port: (server.address() as net.AddressInfo).port, accepted });
    });
  });
}

/** A port on 127.0.0.1 that nobody listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Runs `make` with sockets attached in receive `mode` (`'data'`: 'data' events, the fallback;
 * `'created'`: onread only on sockets the driver creates), restoring the mode after.
 */
export async function withReceiveMode<T>(mode: ReceiveMode, make: () => Promise<T>): Promise<T> {
  const before = receiveMode();
  setReceiveMode(mode);
  try {
    return await make();
  } finally {
    setReceiveMode(before);
  }
}

/** A connected `[client, server]` pair of plain TCP streams. */
export async function tcpPair(options: StreamOptions = {}): Promise<[IOStream, IOStream]> {
  let server: IOStream | null = null;
  const { port, accepted } = await acceptOnce((socket) => { server = new IOStream(socket, options); });
  const client = await new IOStream(undefined, options).connect({ host: '127.0.0.1', port });
  await accepted;
  return [client, server as unknown as IOStream];
}

/** A connected `[client, server]` pair over TLS, both handshakes done (client verifies `localhost`). */
export async function tlsPair(options: StreamOptions = {}): Promise<[SSLIOStream, SSLIOStream]> {
  const certs = testCerts();
  let server: SSLIOStream | null = null;
  const { port, accepted } = await acceptOnce((socket) => {
    server = new SSLIOStream(socket, {
      ...options, serverSide: true, sslOptions: { key: certs.serverKey, cert: certs.serverCert },
    });
  });
  const client = new SSLIOStream(undefined, { ...options, sslOptions: { ca: certs.ca } });
  await client.connect({ host: '127.0.0.1', port }, { serverHostname: 'localhost' });
  await accepted;
  const s = server as unknown as SSLIOStream;
  await s.waitForHandshake();
  return [client, s];
}

/** Which kind of pair a shared behaviour test runs over. */
export type PairKind = 'tcp' | 'tls';

/** A connected `[client, server]` pair of the given kind. */
export function makePair(kind: PairKind, options: StreamOptions = {}): Promise<[IOStream | SSLIOStream, IOStream | SSLIOStream]> {
  return kind === 'tcp' ? tcpPair(options) : tlsPair(options);
}

/** Bytes buffered in `stream` and not yet read (its protected core state; tests only). */
export function bufferedBytes(stream: IOStream | SSLIOStream): number {
  return (stream as unknown as { core: { readBufferSize: number } }).core.readBufferSize;
}

/** Polls `cond` until it holds; rejects with `label` after `ms` (the polling stops too). */
export async function until(cond: () => boolean, label: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${label}: not true after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Resolves once `stream` has at least `n` unread bytes buffered; rejects after `ms`. */
export function waitBuffered(stream: IOStream | SSLIOStream, n: number, ms = 10_000): Promise<void> {
  return until(() => bufferedBytes(stream) >= n, `${n} bytes buffered`, ms);
}
