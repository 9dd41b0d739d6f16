/**
 * How a Node socket (`net.Socket` or `tls.TLSSocket`) plugs into the facade: the Node
 * {@link DriverHooks} (reads resolve with `Buffer`) and the {@link Transport} over a socket that
 * the `net` and `tls` drivers share. Internal to the Node drivers; not re-exported.
 */
import type * as net from 'node:net';
import type { DriverHooks } from './base.js';
import type { Transport, TransportSink } from './transport.js';
import { invalidArgType, outOfRange } from '../core/errors.js';

/**
 * Node's own Buffer class (what `Buffer.from` and `subarray` build). Constructing it directly
 * makes a view in a third of the time of `Buffer#subarray`, which goes through a species lookup.
 */
type BufferCtor = new (ab: ArrayBufferLike, offset: number, length: number) => Buffer;
const FastBuffer: BufferCtor = (Buffer as unknown as { [Symbol.species]?: BufferCtor })[Symbol.species]
  ?? (function SlowBuffer(ab: ArrayBufferLike, offset: number, length: number) {
    return Buffer.from(ab as ArrayBuffer, offset, length);
  } as unknown as BufferCtor);

/** Zero-length results share one Buffer: it has no bytes anyone could change. */
const EMPTY_BUFFER = Buffer.alloc(0);

/** Node hooks: results are `Buffer`s, regex scans decode latin1 natively. */
export const nodeHooks: DriverHooks = {
  alloc: (size: number) => (size === 0 ? EMPTY_BUFFER : Buffer.allocUnsafe(size)),
  view: (buffer: ArrayBufferLike, byteOffset: number, length: number) => new FastBuffer(buffer, byteOffset, length),
  latin1: (bytes: Uint8Array) =>
    (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('latin1'),
};

/**
 * How long a clean close waits for the peer's FIN (while discarding input) before it
 * destroys the socket anyway. Keeps `close()` bounded when the peer never answers.
 */
export const LINGER_MS = 2000;

const noop = (): void => {};
const guarded = new WeakSet<net.Socket>();

/**
 * Gives `socket` a permanent no-op 'error' listener, so no error it ever emits (including
 * after close or after STARTTLS hand-off) is an uncaught exception. The real listeners report
 * errors; this one only keeps Node from throwing when none of them is attached.
 */
export function guardSocket(socket: net.Socket): void {
  if (guarded.has(socket)) return;
  guarded.add(socket);
  socket.on('error', noop);
}

/** An Error carrying a Node-style `code`. */
export function codedError(message: string, code: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/**
 * The {@link Transport} over a connected Node socket. Reads come from 'data' events with the
 * socket paused whenever the stream doesn't want bytes, so Node buffers at most its
 * high-water mark; writes are corked per batch and acknowledged from the write callback.
 */
export class SocketTransport implements Transport {
  private closed = false;
  private detached = false;
  /** Byte counts of the writes whose callbacks are still due, oldest first (made on first write). */
  private writeSizes: number[] | null = null;
  private onWritten: ((err?: Error | null) => void) | null = null;

  constructor(readonly socket: net.Socket, private readonly sink: TransportSink) {
    guardSocket(socket);
    // Explicitly paused first: adding a 'data' listener would otherwise start the flow.
    socket.pause();
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  resume(): void {
    if (!this.closed) this.socket.resume();
  }

  pause(): void {
    if (!this.closed) this.socket.pause();
  }

  write(chunks: readonly Uint8Array[], byteLength: number): void {
    if (this.closed) return;
    const socket = this.socket;
    // Node runs write callbacks in order and never inside write(): one bound callback serves
    // every write, taking its byte count from this queue (no closure per write).
    (this.writeSizes ??= []).push(byteLength);
    const last = chunks.length - 1;
    if (last === 0) {
      socket.write(chunks[0] as Uint8Array, this.writeCallback());
      return;
    }
    socket.cork();
    for (let i = 0; i < last; i++) socket.write(chunks[i] as Uint8Array);
    socket.write(chunks[last] as Uint8Array, this.writeCallback());
    socket.uncork();
  }

  close(error: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    const socket = this.socket;
    if (error !== null || socket.destroyed) {
      socket.destroy();
      return;
    }
    // Lingering close: send our FIN after the queued bytes, then keep reading (and dropping)
    // until the peer's FIN, so unread input doesn't turn the close into a reset that could
    // discard our last bytes. Bounded by LINGER_MS.
    socket.on('finish', () => { if (!this.detached) this.destroyIfDone(); });
    socket.end();
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    this.destroyIfDone();
  }

  setNoDelay(value: boolean): void {
    if (!this.closed) this.socket.setNoDelay(value);
  }

  /**
   * Stops reporting to the sink and removes this transport's listeners, leaving the socket
   * open and paused for a new owner (STARTTLS). The no-op 'error' guard stays.
   */
  detach(): net.Socket {
    this.detached = true;
    this.closed = true;
    const socket = this.socket;
    socket.pause();
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('error', this.onError);
    socket.off('close', this.onClose);
    return socket;
  }

  private destroyIfDone(): void {
    const s = this.socket;
    if (s.readableEnded && s.writableFinished) s.destroy();
  }

  /** The one write callback, made on first write (10,000 idle streams need none). */
  private writeCallback(): (err?: Error | null) => void {
    return (this.onWritten ??= (err?: Error | null): void => {
      const n = (this.writeSizes as number[]).shift() as number;
      // A failed write also emits 'error' on the socket, which reports it.
      if (err == null && !this.closed) this.sink.written(n);
    });
  }

  private readonly onData = (data: Buffer): void => {
    if (!this.closed) this.sink.receive(data);
  };

  private readonly onEnd = (): void => {
    if (this.closed) this.destroyIfDone();
    else this.sink.eof();
  };

  private readonly onError = (err: Error): void => {
    if (!this.closed) this.sink.error(err);
  };

  // Closed without 'end' or 'error': someone destroyed the socket locally; a clean close.
  private readonly onClose = (): void => {
    if (!this.closed) this.sink.eof();
  };
}

/** Where to connect: TCP (`host` defaults to `localhost`) or a Unix socket / named pipe path. */
export type SocketAddress = { host?: string; port: number } | { path: string };

/** Throws a TypeError/RangeError unless `address` is a valid {@link SocketAddress}. */
export function checkAddress(address: unknown): asserts address is SocketAddress {
  if (typeof address !== 'object' || address === null) {
    throw invalidArgType('address must be an object: { host?, port } or { path }');
  }
  const a = address as { host?: unknown; port?: unknown; path?: unknown };
  if (a.path !== undefined) {
    if (typeof a.path !== 'string' || a.path === '') throw invalidArgType('address.path must be a non-empty string');
    return;
  }
  if (typeof a.port !== 'number' || !Number.isInteger(a.port) || a.port < 0 || a.port > 65535) {
    throw outOfRange(`address.port must be an integer in 0..65535 (got ${String(a.port)})`);
  }
  if (a.host !== undefined && (typeof a.host !== 'string' || a.host === '')) {
    throw invalidArgType('address.host must be a non-empty string');
  }
}

/** Whether `socket` is connected (not pending, not destroyed). */
export function isConnected(socket: net.Socket): boolean {
  return !socket.pending && !socket.destroyed;
}

/**
 * Waits until `socket` (connecting, or connected now by this call when `address` is given)
 * is connected: `done(null)` on 'connect', `done(err)` on a failure. Returns a function that
 * removes the listeners (call it when giving up).
 */
export function whenConnected(
  socket: net.Socket, address: SocketAddress | null, done: (err: Error | null) => void,
): () => void {
  guardSocket(socket);
  const off = (): void => {
    socket.off('connect', onConnect);
    socket.off('error', onError);
    socket.off('close', onClose);
  };
  const onConnect = (): void => { off(); done(null); };
  const onError = (err: Error): void => { off(); done(err); };
  const onClose = (): void => { off(); done(codedError('Socket closed before it connected', 'ECONNABORTED')); };
  socket.on('connect', onConnect);
  socket.on('error', onError);
  socket.on('close', onClose);
  if (address !== null) socket.connect(address);
  return off;
}
