/**
 * What the Node drivers share besides their transports (`stream-transport.ts`,
 * `socket-transport.ts`): the Node {@link DriverHooks} (reads resolve with `Buffer`), the
 * 'error' guard, addresses and connection waits. Internal to the Node drivers; not re-exported.
 */
import type * as net from 'node:net';
import type { DriverHooks } from '../facade/base-iostream.js';
import { rethrowLater } from '../facade/transport.js';
import { invalidArgType, outOfRange } from '../../core/errors.js';
import { describe } from '../../core/validate.js';

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

/** Where errors that escaped user code of a stream go instead of `rethrowLater` (see {@link routeUserErrors}). */
const userErrorRoutes = new WeakMap<object, (error: unknown) => void>();

/**
 * Sends what `stream`'s close callback throws to `report` (a `TCPServer` passes its `onError`)
 * instead of throwing it again as an uncaught exception.
 */
export function routeUserErrors(stream: object, report: (error: unknown) => void): void {
  userErrorRoutes.set(stream, report);
}

/**
 * Node hooks: results are `Buffer`s, regex scans decode latin1 natively, what a close callback
 * throws goes to the stream's route or is thrown again from a fresh task.
 */
export const nodeHooks: DriverHooks = {
  alloc: (size: number) => (size === 0 ? EMPTY_BUFFER : Buffer.allocUnsafe(size)),
  view: (buffer: ArrayBufferLike, byteOffset: number, length: number) => new FastBuffer(buffer, byteOffset, length),
  latin1: (bytes: Uint8Array) =>
    (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString('latin1'),
  reportError: (error: unknown, stream: object) => { (userErrorRoutes.get(stream) ?? rethrowLater)(error); },
};

const noop = (): void => {};
const guarded = new WeakSet<object>();

/**
 * Gives `stream` (a socket, or either stream of a pipe) a permanent no-op 'error' listener, so
 * no error it ever emits (including after close or after STARTTLS hand-off) is an uncaught
 * exception. The real listeners report errors; this one only keeps Node from throwing when
 * none of them is attached.
 */
export function guardStream(stream: { on(event: 'error', fn: () => void): unknown }): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', noop);
}

/** {@link guardStream} for a socket. */
export const guardSocket: (socket: net.Socket) => void = guardStream;

/** An Error carrying a Node-style `code`. */
export function codedError(message: string, code: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

/** Where to connect: TCP (`host` defaults to `localhost`) or a Unix socket / named pipe path. */
export type SocketAddress =
  | {
    /** Host name or IP address; default `localhost`. */
    host?: string;
    /** TCP port, 0..65535. */
    port: number;
  }
  | {
    /** A Unix socket (or Windows named pipe) path. */
    path: string;
  };

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
  if (typeof a.port !== 'number') throw invalidArgType(`address.port must be a number (got ${describe(a.port)})`);
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) {
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
