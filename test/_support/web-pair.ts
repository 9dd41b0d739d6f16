/**
 * Connected pairs of WebIOStreams for tests: over in-memory TransformStreams, and over
 * `Duplex.toWeb` of both ends of a real loopback TCP connection.
 */
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { WebIOStream, type WebStreamPair } from '../../drivers/web/index.js';
import type { StreamOptions } from '../../core/options.js';

export { transformPair } from './transform-pair.js';

/**
 * Connected loopback sockets `[client, server]` (default `allowHalfOpen: false`: Node's
 * `Duplex.toWeb` readable only ends once the whole socket finished, so a half-open socket would
 * never report the peer's EOF). The listener closes after the one accept.
 */
export async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) => { server.once('connection', resolve); });
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => { client.once('connect', resolve); client.once('error', reject); });
  const srv = await accepted;
  server.close();
  return [client, srv];
}

export const toWeb = (s: net.Socket): WebStreamPair => Duplex.toWeb(s) as unknown as WebStreamPair;

/**
 * `Duplex.toWeb(socket).readable` with a minimal WritableStream over the socket instead of
 * `Duplex.toWeb`'s writable. Node 20's writable adapter has an uncatchable crash
 * (nodejs/node#64120: `writer.close()` after the socket auto-ended on the peer's FIN, before
 * 'finish', makes the adapter's eos callback call `controller.error` on undefined and throw
 * "Cannot read properties of undefined (reading 'error')" from a socket event). A close that
 * follows the peer's close quickly — routine in the conformance suite — hits that window.
 */
export function toWebSafe(s: net.Socket): WebStreamPair {
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => new Promise<void>((resolve, reject) => {
      s.write(chunk, (err) => { if (err) reject(err); else resolve(); });
    }),
    close: () => new Promise<void>((resolve) => { s.end(resolve); }),
    abort: (reason) => { s.destroy(reason instanceof Error ? reason : undefined); },
  });
  return { readable: toWeb(s).readable, writable } as unknown as WebStreamPair;
}

/**
 * A byte stream (`type: 'bytes'`) of `s`'s reads, as Deno's `conn.readable` is one: a BYOB read
 * gets the bytes copied into its own view (`enqueue` fills a pending BYOB request first). The
 * socket is read only while the stream pulls (its queue is empty), so backpressure reaches the peer.
 */
export function byteReadable(s: net.Socket): ReadableStream<Uint8Array> {
  s.pause();
  return new ReadableStream({
    type: 'bytes',
    start(c) {
      // A copy: enqueue transfers the chunk's ArrayBuffer, which may be Node's shared pool.
      s.on('data', (chunk: Buffer) => {
        c.enqueue(new Uint8Array(chunk));
        if ((c.desiredSize ?? 0) <= 0) s.pause();
      });
      s.on('end', () => { c.close(); c.byobRequest?.respond(0); });
      s.on('error', (err) => { c.error(err); });
    },
    pull() { s.resume(); },
    cancel() { s.destroy(); },
  });
}

/** Two WebIOStreams over byte streams of both ends of a real TCP connection (the BYOB path). */
export async function tcpByteWebPair(options: StreamOptions = {}): Promise<[WebIOStream, WebIOStream]> {
  const [c, s] = await socketPair();
  const pair = (x: net.Socket): WebStreamPair => ({ readable: byteReadable(x), writable: toWebSafe(x).writable }) as unknown as WebStreamPair;
  return [WebIOStream.fromStreams(pair(c), options), WebIOStream.fromStreams(pair(s), options)];
}

/** Two WebIOStreams over `Duplex.toWeb` of both ends of a real TCP connection. */
export async function tcpWebPair(options: StreamOptions = {}): Promise<[WebIOStream, WebIOStream]> {
  const [c, s] = await socketPair();
  return [WebIOStream.fromStreams(toWebSafe(c), options), WebIOStream.fromStreams(toWebSafe(s), options)];
}
