/**
 * `SSLIOStream`: the stream over a Node `tls.TLSSocket`, Tornado's
 * `tornado.iostream.SSLIOStream`. The transport is attached only once the handshake is done,
 * so reads and writes issued earlier simply wait for it.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { StreamClosedError, invalidArgType, stateError } from '../../core/errors.js';
import type { StreamOptions } from '../../core/options.js';
import { BaseIOStream } from '../facade/base-iostream.js';
import {
  checkAddress, codedError, guardSocket, isConnected, nodeHooks, whenConnected, type SocketAddress,
} from './node-hooks.js';
import { SocketTransport } from './socket-transport.js';
import { checkBoolean, checkObject, describe } from '../../core/validate.js';
import {
  abortReason, armDeadline, checkConnectOptions, checkDeadline, isSecureContext, type ConnectOptions,
  type DeadlineOptions,
} from './connect-options.js';

/**
 * TLS settings: `tls.ConnectionOptions` on the client side (`ca`, `servername`,
 * `checkServerIdentity`, `rejectUnauthorized`...), `tls.TlsOptions` on the server side
 * (`key`, `cert`, `requestCert`...), or a ready `tls.SecureContext`.
 */
export type SSLOptions = tls.ConnectionOptions | tls.TlsOptions | tls.SecureContext;

/** Constructor options of {@link SSLIOStream}. */
export interface SSLIOStreamOptions extends StreamOptions {
  /** The TLS settings (see {@link SSLOptions}); the client side verifies certificates unless they say otherwise. */
  sslOptions?: SSLOptions;
  /** Act as the TLS server (default: client). */
  serverSide?: boolean;
  /** Client side, when wrapping an already connected socket: the name to send and verify. */
  serverHostname?: string;
}

type HandshakeState = 'pending' | 'done' | 'failed';

/**
 * A {@link BaseIOStream} over TLS; reads resolve with `Buffer`.
 *
 * `new SSLIOStream()` then {@link SSLIOStream.connect} for a client; `new SSLIOStream(socket,
 * { serverSide: true, sslOptions: { key, cert } })` for a socket a `net.Server` accepted (then
 * {@link SSLIOStream.waitForHandshake}); an already wrapped `tls.TLSSocket` is adopted as is.
 * Client side, certificate and hostname verification are on unless `sslOptions` turns them off.
 */
export class SSLIOStream extends BaseIOStream<Buffer> {
  private raw: net.Socket | null;
  private tlsSock: tls.TLSSocket | null = null;
  private transportRef: SocketTransport | null = null;
  private readonly sslOptions: SSLOptions | undefined;
  private readonly serverSide: boolean;
  private serverHostname: string | undefined;
  private host: string | undefined;
  private state: HandshakeState = 'pending';
  private failure: Error | null = null;
  private readonly settled: Promise<void>;
  private resolveHs!: () => void;
  private rejectHs!: (err: Error) => void;
  private waiting = false;
  private connectStarted = false;
  private stopWaiting: (() => void) | null = null;
  private offHandshake: (() => void) | null = null;
  /** Disarms the deadlines of `connect` and `waitForHandshake` (at most one each). */
  private disarms: Array<() => void> = [];
  /** TCP_NODELAY, applied when the TLS socket attaches: on by default, as on `IOStream` (see its `setNodelay`). */
  private noDelay = true;

  /**
   * Wraps `socket` (TLS is put over a plain socket, a `tls.TLSSocket` is adopted as is), or
   * makes an unconnected client for {@link SSLIOStream.connect}.
   * @param socket - a connected or connecting socket; omitted, `connect` creates one
   * @param options - stream options plus `sslOptions`, `serverSide` and `serverHostname`
   */
  constructor(socket?: net.Socket | tls.TLSSocket, options: SSLIOStreamOptions = {}) {
    if (socket !== undefined && !(socket instanceof net.Socket)) {
      throw invalidArgType('socket must be a net.Socket or tls.TLSSocket');
    }
    checkObject(options, 'options', false);
    const { sslOptions, serverSide, serverHostname, ...streamOptions } = options;
    if (serverHostname !== undefined && (typeof serverHostname !== 'string' || serverHostname === '')) {
      throw invalidArgType(`serverHostname must be a non-empty string, got ${describe(serverHostname)}`);
    }
    if (serverSide !== undefined && typeof serverSide !== 'boolean') throw invalidArgType('serverSide must be a boolean');
    if (sslOptions !== undefined && (typeof sslOptions !== 'object' || sslOptions === null)) {
      throw invalidArgType('sslOptions must be an object or a tls.SecureContext');
    }
    super(streamOptions, nodeHooks);
    this.sslOptions = sslOptions;
    this.serverSide = serverSide === true;
    this.serverHostname = serverHostname;
    this.settled = new Promise<void>((resolve, reject) => {
      this.resolveHs = resolve;
      this.rejectHs = reject;
    });
    this.settled.catch(() => {}); // observed through connect/waitForHandshake; never unhandled
    this.raw = socket ?? null;
    if (socket === undefined) return;
    guardSocket(socket);
    if (socket instanceof tls.TLSSocket) {
      this.adopt(socket);
    } else if (socket.destroyed) {
      this.fail(new StreamClosedError(socket.errored ?? null), socket.errored ?? null);
    } else if (isConnected(socket)) {
      this.wrap(socket);
    } else if (socket.connecting) {
      this.connectStarted = true;
      this.waitTcp(socket, null);
    }
  }

  /** The TLS socket (`null` until the TLS layer is set up). */
  get socket(): tls.TLSSocket | null {
    return this.tlsSock;
  }

  /**
   * Connects, performs the handshake, and resolves with this stream. The certificate is
   * verified against `serverHostname` (default: `address.host`). A TCP failure rejects with
   * `StreamClosedError { realError }`; a handshake failure with the TLS error itself (e.g.
   * `code: 'ERR_TLS_CERT_ALTNAME_INVALID'`). Either way the stream is closed.
   *
   * `opts.signal` / `opts.timeout` (ms) bound the TCP connect and the TLS handshake together
   * (one deadline, counted from this call): aborting or running out of time closes the stream,
   * destroys the socket and rejects with `StreamClosedError` whose `realError` is
   * `signal.reason` / an `Error` with `code: 'ETIMEDOUT'`. An already aborted signal rejects
   * at once without creating a socket. After the handshake neither has any effect.
   */
  connect(address: SocketAddress, opts?: ConnectOptions): Promise<this> {
    checkAddress(address);
    checkConnectOptions(opts, 'connect options');
    if (this.serverSide) throw stateError('ERR_INVALID_STATE', 'connect() is for client-side streams (this SSLIOStream has serverSide: true)');
    if (this.closed()) return Promise.reject(new StreamClosedError(this.error));
    if (this.connectStarted || this.tlsSock !== null || (this.raw !== null && !this.raw.pending)) {
      throw stateError('ERR_ALREADY_CONNECTED', 'SSLIOStream is already connected or connecting');
    }
    this.connectStarted = true;
    if (opts?.signal?.aborted === true) return this.giveUp(abortReason(opts.signal));
    if ('port' in address) this.host = address.host ?? 'localhost';
    if (opts?.serverHostname !== undefined) this.serverHostname = opts.serverHostname;
    const socket = this.raw ?? new net.Socket();
    this.raw = socket;
    this.arm(opts, 'SSLIOStream.connect (TCP connect and TLS handshake)');
    this.waitTcp(socket, address);
    return this.settled.then(() => this);
  }

  /**
   * Resolves with this stream when the handshake is done (at once if it already is); rejects
   * with the TLS error if it failed. Throws `Error('Already waiting')` while an earlier call
   * is still pending.
   *
   * `opts.signal` / `opts.timeout` (ms, counted from this call) bound the wait: aborting or
   * running out of time fails the handshake, closes the stream, destroys the socket and rejects
   * with `StreamClosedError` whose `realError` is `signal.reason` / an `Error` with
   * `code: 'ETIMEDOUT'` (an already aborted signal does so at once). A server that accepts
   * sockets should always give one, so a peer that never completes the handshake cannot hold
   * the connection open. Ignored once the handshake has settled.
   */
  waitForHandshake(opts?: DeadlineOptions): Promise<this> {
    checkObject(opts, 'waitForHandshake options');
    checkDeadline(opts);
    if (this.state === 'done') return Promise.resolve(this);
    if (this.state === 'failed') return Promise.reject(this.failure);
    if (this.waiting) throw stateError('ERR_ALREADY_WAITING', 'Already waiting');
    if (opts?.signal?.aborted === true) return this.giveUp(abortReason(opts.signal));
    this.waiting = true;
    this.arm(opts, 'TLS handshake');
    return this.settled.then(() => this);
  }

  /** TCP_NODELAY, on by default, for the reason given at `IOStream.setNodelay`. */
  override setNodelay(value: boolean): void {
    checkBoolean(value, 'setNodelay(value)'); // before it is kept for the socket to come
    this.noDelay = value;
    super.setNodelay(value);
  }

  /** A stream closed before the handshake must not leak its socket. */
  protected override closedBeforeAttach(error: Error | null): void {
    // `state` is undefined while the base constructor runs.
    if (this.state === 'pending') this.fail(new StreamClosedError(error), error);
  }

  /** Starts a deadline on the handshake: when it expires, the handshake fails with `StreamClosedError`. */
  private arm(opts: DeadlineOptions | undefined, what: string): void {
    const disarm = armDeadline(opts, what, (err) => { this.fail(new StreamClosedError(err), err); });
    this.disarms.push(disarm);
  }

  /** Fails the pending handshake at once with `reason` (an already aborted signal). */
  private giveUp(reason: Error): Promise<never> {
    this.fail(new StreamClosedError(reason), reason);
    return Promise.reject(this.failure);
  }

  private disarmAll(): void {
    const disarms = this.disarms;
    this.disarms = [];
    for (const disarm of disarms) disarm();
  }

  private waitTcp(socket: net.Socket, address: SocketAddress | null): void {
    this.stopWaiting = whenConnected(socket, address, (err) => {
      this.stopWaiting = null;
      if (this.state !== 'pending') return;
      // A TCP failure is not a TLS error: reject as any other transport failure.
      if (err !== null) this.fail(new StreamClosedError(err), err);
      else this.wrap(socket);
    });
  }

  /** Puts TLS over a connected plain socket. */
  private wrap(socket: net.Socket): void {
    const given = this.sslOptions;
    const isContext = given !== undefined && isSecureContext(given);
    if (this.serverSide) {
      const opts = (isContext ? {} : given ?? {}) as tls.TlsOptions;
      const secureContext = isContext ? given : opts.secureContext ?? tls.createSecureContext(opts);
      this.adopt(new tls.TLSSocket(socket, { ...opts, isServer: true, secureContext }));
      return;
    }
    const opts = (isContext ? { secureContext: given } : given ?? {}) as tls.ConnectionOptions;
    const name = this.serverHostname ?? opts.servername ?? this.host ?? socket.remoteAddress ?? 'localhost';
    const connectOpts: tls.ConnectionOptions = { ...opts, socket, host: name };
    // SNI must not carry an IP address (RFC 6066); the certificate is still checked against it.
    if (net.isIP(name) === 0) connectOpts.servername = name;
    else delete connectOpts.servername;
    this.adopt(tls.connect(connectOpts));
  }

  /** Takes a TLS socket and attaches it as the transport once its handshake is done. */
  private adopt(socket: tls.TLSSocket): void {
    this.tlsSock = socket;
    guardSocket(socket);
    if (socket.getFinished() !== undefined && !socket.destroyed) {
      this.secured();
      return;
    }
    const onSecure = (): void => {
      // Node's own server-side check may have destroyed the socket (requestCert + rejectUnauthorized).
      if (socket.destroyed) {
        const code = typeof socket.authorizationError === 'string' ? socket.authorizationError : 'ERR_TLS_HANDSHAKE';
        const err = codedError(`TLS handshake failed: ${code}`, code);
        this.fail(err, err);
      } else {
        this.secured();
      }
    };
    const onError = (err: Error): void => { this.fail(err, err); };
    const onClose = (): void => {
      const err = codedError('Socket disconnected before the TLS handshake completed', 'ECONNRESET');
      this.fail(err, err);
    };
    socket.once('secureConnect', onSecure);
    socket.once('secure', onSecure);
    socket.on('error', onError);
    socket.on('close', onClose);
    this.offHandshake = () => {
      socket.off('secureConnect', onSecure);
      socket.off('secure', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
  }

  private secured(): void {
    if (this.state !== 'pending') return;
    this.disarmAll();
    this.offHandshake?.();
    this.offHandshake = null;
    this.state = 'done';
    this.waiting = false;
    const socket = this.tlsSock as tls.TLSSocket;
    const transport = new SocketTransport(socket, this.sink);
    this.transportRef = transport;
    transport.setNoDelay(this.noDelay);
    this.attachTransport(transport);
    this.resolveHs();
  }

  /** The handshake (or the connection under it) failed: close, release the socket, reject. */
  private fail(reason: Error, closeError: Error | null): void {
    if (this.state !== 'pending') return;
    this.state = 'failed';
    this.failure = reason;
    this.waiting = false;
    this.disarmAll();
    this.offHandshake?.();
    this.offHandshake = null;
    this.stopWaiting?.();
    this.stopWaiting = null;
    this.close(closeError);
    this.tlsSock?.destroy();
    this.raw?.destroy();
    this.rejectHs(reason);
  }
}
