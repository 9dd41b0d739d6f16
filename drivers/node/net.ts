/**
 * `IOStream`: the stream over a Node `net.Socket` (TCP or a Unix socket), Tornado's
 * `tornado.iostream.IOStream`, with `startTls` to upgrade it in place.
 */
import * as net from 'node:net';
import { StreamClosedError, invalidArgType, stateError } from '../../core/errors.js';
import type { StreamOptions } from '../../core/options.js';
import { checkBoolean } from '../../core/validate.js';
import { BaseIOStream } from '../facade/base-iostream.js';
import {
  checkAddress, guardSocket, isConnected, nodeHooks, whenConnected, type SocketAddress,
} from './node-hooks.js';
import { SocketTransport } from './socket-transport.js';
import { createReceivingSocket } from './reused-receive.js';
import { SSLIOStream, type SSLOptions } from './tls.js';
import {
  abortReason, armDeadline, checkConnectOptions, type ConnectOptions, type StartTlsOptions,
} from './connect-options.js';

export type { SocketAddress } from './node-hooks.js';
export type { ConnectOptions, DeadlineOptions, StartTlsOptions } from './connect-options.js';

/**
 * A {@link BaseIOStream} over a Node `net.Socket`; reads resolve with `Buffer`.
 *
 * Wrap a connected socket (`new IOStream(socket)`, e.g. one a `net.Server` accepted), or create
 * the stream unconnected and call {@link IOStream.connect}. Reads and writes issued before the
 * connection is up wait for it. Resets and broken pipes close the stream with
 * `StreamClosedError { realError }`; the socket never emits an unhandled 'error'.
 */
export class IOStream extends BaseIOStream<Buffer> {
  private sock: net.Socket | null;
  private transportRef: SocketTransport | null = null;
  private readonly streamOptions: StreamOptions;
  private connectReject: ((err: Error) => void) | null = null;
  private stopWaiting: (() => void) | null = null;
  private disarm: (() => void) | null = null;
  private host: string | undefined;
  /** TCP_NODELAY, applied when the socket attaches: on unless `setNodelay(false)` (why: see there). */
  private noDelay = true;

  /**
   * Wraps `socket`, or makes an unconnected stream for {@link IOStream.connect}.
   * @param socket - a connected socket (attached at once), a connecting one (attached when it
   *   connects) or an unconnected one (connected by {@link IOStream.connect}); omitted, `connect`
   *   creates one.
   * @param options - the stream options; anything but an object throws a TypeError
   */
  constructor(socket?: net.Socket, options: StreamOptions = {}) {
    if (socket !== undefined && !(socket instanceof net.Socket)) {
      throw invalidArgType('socket must be a net.Socket');
    }
    super(options, nodeHooks);
    this.streamOptions = { ...options };
    this.sock = socket ?? null;
    if (socket === undefined) return;
    guardSocket(socket);
    if (socket.destroyed) {
      this.close(socket.errored ?? null);
    } else if (isConnected(socket)) {
      this.attachSocket(socket);
    } else if (socket.connecting) {
      this.waitConnect(socket, null).catch(() => {});
    }
  }

  /** The underlying socket (`null` before `connect` creates it). */
  get socket(): net.Socket | null {
    return this.sock;
  }

  /**
   * Connects to `address` and resolves with this stream. A failure (`ECONNREFUSED`, DNS, ...)
   * closes the stream and rejects with `StreamClosedError` whose `realError` is the cause.
   * Throws synchronously if the stream is already connected or connecting.
   *
   * `opts.signal` / `opts.timeout` (ms) bound the connect: aborting or running out of time
   * closes the stream, destroys the socket and rejects with `StreamClosedError` whose
   * `realError` is `signal.reason` / an `Error` with `code: 'ETIMEDOUT'`. An already aborted
   * signal rejects at once without creating a socket. Once connected, neither has any effect
   * (the timer is cleared and the abort listener removed).
   */
  connect(address: SocketAddress, opts?: ConnectOptions): Promise<this> {
    checkAddress(address);
    checkConnectOptions(opts, 'connect options');
    if (this.closed()) return Promise.reject(new StreamClosedError(this.error));
    if (this.attached || this.connectReject !== null || (this.sock !== null && !this.sock.pending)) {
      throw stateError('ERR_ALREADY_CONNECTED', 'IOStream is already connected or connecting');
    }
    if (opts?.signal?.aborted === true) return this.abortEarly(abortReason(opts.signal));
    if (opts?.serverHostname !== undefined) this.host = opts.serverHostname;
    else if ('port' in address) this.host = address.host ?? 'localhost';
    const socket = this.sock ?? createReceivingSocket();
    this.sock = socket;
    this.disarm = armDeadline(opts, 'IOStream.connect', (err) => { this.close(err); });
    return this.waitConnect(socket, address);
  }

  /**
   * Upgrades this connection to TLS and resolves with the new {@link SSLIOStream} once the
   * handshake is done. This stream is detached (closed, socket left open) and the new stream
   * owns the socket. Throws synchronously, changing nothing, unless the stream is connected
   * and idle: no pending read or write and no buffered byte (bytes read before the upgrade
   * would be plaintext injected into the TLS session). The client side verifies the
   * certificate and `serverHostname` (default: the host given to `connect`) unless
   * `sslOptions` says otherwise. A handshake failure rejects with the TLS error itself.
   *
   * The third argument is either the server hostname or a {@link StartTlsOptions} object
   * `{ serverHostname?, signal?, timeout? }`. `signal`/`timeout` bound the handshake as in
   * {@link SSLIOStream.waitForHandshake}: the new stream is closed, the socket destroyed, and
   * the call rejects with `StreamClosedError { realError }`. An already aborted signal closes
   * this stream (and its socket) and rejects at once; misuse still throws first.
   */
  startTls(serverSide: boolean, sslOptions?: SSLOptions, serverHostname?: string): Promise<SSLIOStream>;
  startTls(serverSide: boolean, sslOptions: SSLOptions | undefined, options: StartTlsOptions): Promise<SSLIOStream>;
  startTls(serverSide: boolean, sslOptions?: SSLOptions, hostOrOptions?: string | StartTlsOptions): Promise<SSLIOStream> {
    if (typeof serverSide !== 'boolean') throw invalidArgType('serverSide must be a boolean');
    // Checked here, not only by the SSLIOStream constructor: that runs after the hand-off.
    if (sslOptions !== undefined && (typeof sslOptions !== 'object' || sslOptions === null)) {
      throw invalidArgType('sslOptions must be an object or a tls.SecureContext');
    }
    if (hostOrOptions !== undefined && typeof hostOrOptions !== 'string'
      && (typeof hostOrOptions !== 'object' || hostOrOptions === null)) {
      throw invalidArgType('the third argument of startTls must be a server hostname or an options object');
    }
    const opts = typeof hostOrOptions === 'string' ? { serverHostname: hostOrOptions } : hostOrOptions;
    checkConnectOptions(opts, 'startTls options');
    if (this.closed()) return Promise.reject(new StreamClosedError(this.error));
    const transport = this.transportRef;
    if (transport === null) throw stateError('ERR_NOT_CONNECTED', 'IOStream is not connected; cannot start TLS');
    if (this.reading() || this.writing() || this.core.readBufferSize > 0 || transport.socket.readableLength > 0) {
      throw stateError('ERR_STREAM_NOT_IDLE', 'IOStream is not idle (pending read or write, or buffered data); cannot start TLS');
    }
    if (opts?.signal?.aborted === true) return this.abortEarly(abortReason(opts.signal));
    const serverHostname = opts?.serverHostname;
    const socket = transport.detach();
    this.transportRef = null;
    this.sock = null; // handed off: not ours to destroy any more
    this.detachTransport();
    const hostname = serverHostname ?? this.host ?? socket.remoteAddress;
    const ssl = new SSLIOStream(socket, {
      ...this.streamOptions,
      serverSide,
      ...(sslOptions !== undefined ? { sslOptions } : {}),
      ...(hostname !== undefined && !serverSide ? { serverHostname: hostname } : {}),
    });
    if (!this.noDelay) ssl.setNodelay(false);
    return ssl.waitForHandshake(opts);
  }

  /**
   * TCP_NODELAY, **on by default** (as Node's `http` server and Redis set it): this stream
   * sends a write at once and the writes issued meanwhile as one batch when the socket took it,
   * so two writes in a row (a header then a body, replies to pipelined requests) leave as two
   * segments. With Nagle's algorithm the kernel holds the second until the first is
   * acknowledged, and a peer that answers only after both delays that ACK (40 ms on Linux):
   * every such exchange stalls. `setNodelay(false)` turns Nagle back on, before or after the
   * socket is connected; `startTls` keeps the setting.
   */
  override setNodelay(value: boolean): void {
    checkBoolean(value, 'setNodelay(value)'); // before it is kept for the socket to come
    this.noDelay = value;
    super.setNodelay(value);
  }

  /** A stream closed before its socket was attached must not leak it. */
  protected override closedBeforeAttach(): void {
    // `sock` is undefined while the base constructor runs.
    if (this.sock != null) this.dropUnattached();
  }

  private waitConnect(socket: net.Socket, address: SocketAddress | null): Promise<this> {
    return new Promise<this>((resolve, reject) => {
      this.connectReject = reject;
      this.stopWaiting = whenConnected(socket, address, (err) => {
        this.stopWaiting = null;
        this.disarm?.();
        this.disarm = null;
        if (err !== null) {
          this.close(err); // rejects through dropUnattached, with the cause as realError
          return;
        }
        this.connectReject = null;
        this.attachSocket(socket);
        resolve(this);
      });
    });
  }

  private attachSocket(socket: net.Socket): void {
    const transport = new SocketTransport(socket, this.sink, true);
    this.transportRef = transport;
    transport.setNoDelay(this.noDelay);
    this.attachTransport(transport);
  }

  /** Gives up before connecting (an aborted signal): close with the reason, reject with it. */
  private abortEarly<T>(reason: Error): Promise<T> {
    this.close(reason);
    return Promise.reject(new StreamClosedError(reason));
  }

  private dropUnattached(): void {
    const socket = this.sock as net.Socket;
    this.disarm?.();
    this.disarm = null;
    this.stopWaiting?.();
    this.stopWaiting = null;
    if (!socket.destroyed) socket.destroy();
    const reject = this.connectReject;
    this.connectReject = null;
    reject?.(new StreamClosedError(this.error));
  }
}

