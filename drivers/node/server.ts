/**
 * `TCPServer` and `serve`: the accept loop every user of the Node drivers writes, after
 * Tornado's `tornado.tcpserver.TCPServer`. Each accepted socket becomes an {@link IOStream}
 * (or, with `tls`, a server-side {@link SSLIOStream} whose handshake is done before the
 * handler runs); handler failures are contained per connection; shutdown is bounded.
 */
import { setMaxListeners } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { StreamClosedError, invalidArgType, outOfRange, stateError } from '../../core/errors.js';
import type { StreamOptions } from '../../core/options.js';
import { checkFunction, checkObject, checkOptions, describe } from '../../core/validate.js';
import { checkMillis, isSecureContext } from './connect-options.js';
import { checkAddress, routeUserErrors } from './node-hooks.js';
import { IOStream } from './net.js';
import { SSLIOStream, type SSLOptions } from './tls.js';
import type {
  ConnectionHandler, ConnectionInfo, ListenOptions, ServeOptions, ServerStream, ShutdownOptions, TCPServerOptions,
} from './server-options.js';

export type {
  ConnectionHandler, ConnectionInfo, ListenOptions, ServeOptions, ServerStream, ShutdownOptions, TCPServerOptions,
} from './server-options.js';

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 120_000;
const DEFAULT_GRACE_MS = 5000;
const EMPTY = new Uint8Array(0);
const noop = (): void => {};

interface Connection {
  readonly socket: net.Socket;
  readonly stream: ServerStream;
  /** closeAll/shutdown closed it: whatever its handler does next is a consequence, not reported. */
  closedByServer: boolean;
  /** Resolves when the socket is closed (its handle released). */
  readonly gone: Promise<void>;
}

type State = 'idle' | 'listening' | 'closed';

/**
 * A TCP (or TLS) server that hands every accepted connection to a handler as a stream.
 *
 * ```ts
 * const server = new TCPServer(async (stream) => {
 *   const line = await stream.readUntil('\n', { maxBytes: 1024 });
 *   await stream.write(line);
 * });
 * await server.listen({ port: 8000 });
 * // ...
 * await server.shutdown({ timeout: 2000 });
 * ```
 *
 * A handler's throw or rejection closes that connection only (`stream.close(err)`: the socket
 * is destroyed at once, unsent bytes dropped) and goes to `onError`; no failure of one
 * connection reaches another, the listener, or the process.
 */
export class TCPServer implements AsyncDisposable {
  private readonly handler: ConnectionHandler;
  private readonly onError: ((error: Error, stream: ServerStream | null) => void) | undefined;
  private readonly sslOptions: SSLOptions | undefined;
  private readonly streamOptions: StreamOptions;
  private readonly handshakeTimeout: number;
  private readonly noDelay: boolean;
  private listener: net.Server | null = null;
  private state: State = 'idle';
  private readonly live = new Set<Connection>();
  private readonly shutdownSignal: AbortController;
  private closing: Promise<void> | null = null;
  private shuttingDown: Promise<void> | null = null;

  /** Validates everything synchronously (TypeError/RangeError); listens only on {@link listen}. */
  constructor(handler: ConnectionHandler, options: TCPServerOptions = {}) {
    if (typeof handler !== 'function') throw invalidArgType(`handler must be a function, got ${describe(handler)}`);
    checkObject(options, 'TCPServer options', false);
    const { tls: given, handshakeTimeout, streamOptions, noDelay, onError } = options;
    if (given !== undefined && (typeof given !== 'object' || given === null)) {
      throw invalidArgType(`tls must be an object or a tls.SecureContext, got ${describe(given)}`);
    }
    checkMillis(handshakeTimeout, 'handshakeTimeout', 1);
    checkObject(streamOptions, 'streamOptions');
    if (streamOptions !== undefined) checkOptions(streamOptions);
    if (noDelay !== undefined && typeof noDelay !== 'boolean') throw invalidArgType(`noDelay must be a boolean, got ${describe(noDelay)}`);
    checkFunction(onError, 'onError');
    this.handler = handler;
    this.onError = onError;
    this.streamOptions = { ...streamOptions };
    this.handshakeTimeout = handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.noDelay = noDelay !== false;
    // One context for every connection: parsing the key and certificate per accept would cost
    // more than the handshake. A bad key or certificate throws here, synchronously.
    this.sslOptions = given === undefined || isSecureContext(given) || (given as tls.TlsOptions).secureContext !== undefined
      ? given
      : { ...given, secureContext: tls.createSecureContext(given as tls.SecureContextOptions) };
    this.shutdownSignal = new AbortController();
    // Every pending handler read may listen on it: not a leak, so no MaxListeners warning.
    setMaxListeners(0, this.shutdownSignal.signal);
  }

  /**
   * Starts listening (default `127.0.0.1`, an ephemeral port) and resolves with this server.
   * A bind failure (`EADDRINUSE`, `EACCES`...) rejects with Node's error and leaves the server
   * idle, so `listen` may be tried again. Throws if already listening or closed.
   */
  listen(opts: ListenOptions = {}): Promise<this> {
    checkObject(opts, 'listen options', false);
    const { port = 0, host = '127.0.0.1', backlog } = opts;
    checkAddress({ port, host });
    if (backlog !== undefined) {
      if (typeof backlog !== 'number') throw invalidArgType(`backlog must be a number, got ${describe(backlog)}`);
      if (!Number.isSafeInteger(backlog) || backlog < 0) throw outOfRange(`backlog must be a non-negative integer, got ${String(backlog)}`);
    }
    if (this.state === 'closed') throw stateError('ERR_SERVER_CLOSED', 'TCPServer is closed; make a new one');
    if (this.listener !== null) throw stateError('ERR_SERVER_ALREADY_LISTENING', 'TCPServer is already listening');
    const listener = net.createServer();
    this.listener = listener;
    return new Promise<this>((resolve, reject) => {
      const onListenError = (err: Error): void => {
        this.listener = null;
        reject(err);
      };
      listener.once('error', onListenError);
      listener.listen({ port, host, ...(backlog !== undefined ? { backlog } : {}) }, () => {
        listener.off('error', onListenError);
        // From now on listener errors (EMFILE/ENFILE on accept...) are reported, never thrown.
        listener.on('error', (err: Error) => { this.report(err, null); });
        listener.on('connection', (socket: net.Socket) => { this.accept(socket); });
        if (this.state === 'closed') {
          // close() ran while the bind was in flight.
          listener.close();
          reject(stateError('ERR_SERVER_CLOSED', 'TCPServer was closed before it started listening'));
          return;
        }
        this.state = 'listening';
        resolve(this);
      });
    });
  }

  /** The bound address, or `null` when not listening. */
  address(): net.AddressInfo | null {
    if (this.state !== 'listening' || this.listener === null) return null;
    return this.listener.address() as net.AddressInfo | null;
  }

  /** The bound port. Throws `ERR_SERVER_NOT_LISTENING` when not listening. */
  get port(): number {
    const a = this.address();
    if (a === null) throw stateError('ERR_SERVER_NOT_LISTENING', 'TCPServer is not listening');
    return a.port;
  }

  /** Whether the server accepts connections. */
  get listening(): boolean {
    return this.state === 'listening';
  }

  /**
   * Accepted connections whose socket is not closed yet, TLS handshakes in progress included
   * (a connection counts until its socket is released, so after a clean close until the FIN
   * exchange ends, at most 2 s).
   */
  get connections(): number {
    return this.live.size;
  }

  /**
   * Stops accepting new connections at once and resolves when the listening socket is
   * released. Live connections are neither closed nor waited for (Tornado's `stop()`; unlike
   * `net.Server#close`, whose callback waits for them): see {@link closeAll} and
   * {@link shutdown}. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    const listener = this.state === 'listening' ? this.listener : null;
    this.state = 'closed';
    if (listener === null) {
      this.closing = Promise.resolve();
      return this.closing;
    }
    // net.Server#close closes the listening fd synchronously; libuv releases the handle in
    // the close phase of the loop iteration. The check phase of the next iteration comes
    // after that phase, wherever close() was called from: two setImmediate hops reach it.
    listener.close();
    this.closing = new Promise<void>((resolve) => { setImmediate(() => { setImmediate(resolve); }); });
    return this.closing;
  }

  /**
   * Closes every open connection now, cleanly (`stream.close()`: queued bytes are flushed, FIN
   * sent, the FIN exchange bounded by 2 s), without touching the listener, and resolves when
   * their sockets are released. TLS handshakes in progress are aborted. What the handlers of
   * these connections do next (typically reject with `StreamClosedError`) is not reported.
   */
  closeAll(): Promise<void> {
    const waits: Array<Promise<void>> = [];
    for (const c of this.live) {
      if (c.stream.closed()) continue; // closing already (or handed off by startTls)
      c.closedByServer = true;
      c.stream.close();
      waits.push(c.gone);
    }
    return Promise.all(waits).then(noop);
  }

  /**
   * Graceful shutdown: stops accepting ({@link close}), aborts every handler's
   * {@link ConnectionInfo.signal}, waits up to `timeout` ms (default 5000) for the live
   * connections to end on their own, then destroys the rest (`stream.close(err)` with an
   * `ERR_SERVER_CLOSED` error, and their sockets). Resolves when the listener and every socket
   * it accepted are released. Idempotent: later calls return the same promise.
   */
  shutdown(opts?: ShutdownOptions): Promise<void> {
    checkObject(opts, 'shutdown options');
    checkMillis(opts?.timeout, 'timeout', 0);
    if (this.shuttingDown === null) this.shuttingDown = this.runShutdown(opts?.timeout ?? DEFAULT_GRACE_MS);
    return this.shuttingDown;
  }

  /** `await using server = await serve(...)`: {@link shutdown} with the default grace period. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  private async runShutdown(grace: number): Promise<void> {
    const closed = this.close();
    this.shutdownSignal.abort(stateError('ERR_SERVER_CLOSED', 'TCPServer is shutting down'));
    if (this.live.size > 0 && grace > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<void>((resolve) => { timer = setTimeout(resolve, grace); });
      await Promise.race([this.allGone(), expired]);
      clearTimeout(timer);
    }
    if (this.live.size > 0) {
      const forced = stateError('ERR_SERVER_CLOSED', `TCPServer shut down: connection still open after the ${grace} ms grace period`);
      for (const c of this.live) {
        c.closedByServer = true;
        c.stream.close(forced);
        c.socket.destroy(); // also ends a clean close still waiting for the peer's FIN
      }
      await this.allGone();
    }
    await closed;
  }

  private allGone(): Promise<void> {
    return Promise.all(Array.from(this.live, (c) => c.gone)).then(noop);
  }

  private accept(socket: net.Socket): void {
    if (this.state !== 'listening') {
      socket.destroy();
      return;
    }
    let stream: ServerStream;
    try {
      stream = this.sslOptions === undefined
        ? new IOStream(socket, this.streamOptions)
        : new SSLIOStream(socket, { ...this.streamOptions, serverSide: true, sslOptions: this.sslOptions });
    } catch (err) {
      socket.destroy();
      this.report(toError(err), null);
      return;
    }
    let released!: () => void;
    const conn: Connection = {
      socket, stream, closedByServer: false, gone: new Promise<void>((resolve) => { released = resolve; }),
    };
    this.live.add(conn);
    // A throwing close callback is this connection's failure too: onError, not the process.
    routeUserErrors(stream, (err: unknown) => { this.report(toError(err, 'A close callback'), stream); });
    socket.once('close', () => {
      this.live.delete(conn);
      released();
    });
    if (!this.noDelay) stream.setNodelay(false);
    const signal = this.shutdownSignal.signal;
    const info: ConnectionInfo = Object.freeze({ remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, signal });
    if (stream instanceof SSLIOStream) {
      const secured = stream;
      secured.waitForHandshake({ signal, timeout: this.handshakeTimeout }).then(
        () => { this.run(conn, info); },
        (err: unknown) => { if (!this.causedByServer(conn, err)) this.report(toError(err), secured); },
      );
    } else {
      this.run(conn, info);
    }
  }

  private run(conn: Connection, info: ConnectionInfo): void {
    let result: unknown;
    try {
      result = this.handler(conn.stream, info);
    } catch (err) {
      this.failed(conn, err);
      return;
    }
    if (typeof (result as PromiseLike<void> | undefined)?.then === 'function') {
      Promise.resolve(result as PromiseLike<void>).then(() => { this.finished(conn); }, (err: unknown) => { this.failed(conn, err); });
    }
  }

  /** The handler resolved: close the stream cleanly once everything it wrote is flushed. */
  private finished(conn: Connection): void {
    const stream = conn.stream;
    if (stream.closed()) return;
    // A write settles only after every earlier one: an empty one marks "all flushed".
    stream.write(EMPTY).then(() => { stream.close(); }, noop);
  }

  private failed(conn: Connection, err: unknown): void {
    if (this.causedByServer(conn, err)) {
      this.finished(conn);
      return;
    }
    const error = toError(err);
    conn.stream.close(error);
    this.report(error, conn.stream);
  }

  /** Whether `err` is the server's own doing: shutdown's abort reason, or a close by closeAll/shutdown. */
  private causedByServer(conn: Connection, err: unknown): boolean {
    if (conn.closedByServer) return true;
    const signal = this.shutdownSignal.signal;
    if (!signal.aborted) return false;
    const reason: unknown = signal.reason;
    return err === reason || (err instanceof StreamClosedError && err.realError === reason);
  }

  private report(error: Error, stream: ServerStream | null): void {
    const onError = this.onError;
    if (onError === undefined) return;
    try {
      onError(error, stream);
    } catch (thrown) {
      process.emitWarning(`TCPServer onError threw: ${toError(thrown).message}`, {
        code: 'ERR_SERVER_ONERROR_THREW', detail: `while reporting: ${error.message}`,
      });
    }
  }
}

/**
 * Creates a {@link TCPServer} and starts it listening: `serve(handler, { port, host, tls,
 * onError, ... })` resolves with the listening server. Bad options throw synchronously.
 *
 * ```ts
 * await using server = await serve(async (stream) => {
 *   await stream.write(await stream.readUntil('\n', { maxBytes: 1024 }));
 * }, { port: 0 });
 * console.log('listening on', server.port);
 * ```
 */
export function serve(handler: ConnectionHandler, options: ServeOptions = {}): Promise<TCPServer> {
  checkObject(options, 'serve options', false);
  const { port, host, backlog, ...serverOptions } = options;
  const server = new TCPServer(handler, serverOptions);
  return server.listen({
    ...(port !== undefined ? { port } : {}),
    ...(host !== undefined ? { host } : {}),
    ...(backlog !== undefined ? { backlog } : {}),
  });
}

/** A thrown value as an Error (handlers, and the close callbacks they set, may throw anything). */
function toError(err: unknown, who = 'Handler'): Error {
  return err instanceof Error ? err : Object.assign(new Error(`${who} threw a non-Error: ${String(err)}`, { cause: err }), { code: 'ERR_HANDLER_THREW' });
}
