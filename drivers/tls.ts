/**
 * `SSLIOStream`: the stream over a Node `tls.TLSSocket`, Tornado's
 * `tornado.iostream.SSLIOStream`. The transport is attached only once the handshake is done,
 * so reads and writes issued earlier simply wait for it.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { StreamClosedError } from '../core/errors.js';
import type { StreamOptions } from '../core/stream-core.js';
import { BaseIOStream } from './base.js';
import {
  SocketTransport, checkAddress, codedError, guardSocket, isConnected, nodeHooks, whenConnected,
  type SocketAddress,
} from './node-hooks.js';

/**
 * TLS settings: `tls.ConnectionOptions` on the client side (`ca`, `servername`,
 * `checkServerIdentity`, `rejectUnauthorized`...), `tls.TlsOptions` on the server side
 * (`key`, `cert`, `requestCert`...), or a ready `tls.SecureContext`.
 */
export type SSLOptions = tls.ConnectionOptions | tls.TlsOptions | tls.SecureContext;

/** Constructor options of {@link SSLIOStream}. */
export interface SSLIOStreamOptions extends StreamOptions {
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
  /** TCP_NODELAY, applied when the TLS socket attaches: on by default, as on `IOStream` (see its `setNodelay`). */
  private noDelay = true;

  constructor(socket?: net.Socket | tls.TLSSocket, options: SSLIOStreamOptions = {}) {
    if (socket !== undefined && !(socket instanceof net.Socket)) {
      throw new TypeError('socket must be a net.Socket or tls.TLSSocket');
    }
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const { sslOptions, serverSide, serverHostname, ...streamOptions } = options;
    if (serverSide !== undefined && typeof serverSide !== 'boolean') throw new TypeError('serverSide must be a boolean');
    if (sslOptions !== undefined && (typeof sslOptions !== 'object' || sslOptions === null)) {
      throw new TypeError('sslOptions must be an object or a tls.SecureContext');
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
   */
  connect(address: SocketAddress, opts?: { serverHostname?: string }): Promise<this> {
    checkAddress(address);
    if (opts !== undefined && (typeof opts !== 'object' || opts === null)) {
      throw new TypeError('options must be an object');
    }
    if (opts?.serverHostname !== undefined && typeof opts.serverHostname !== 'string') {
      throw new TypeError('serverHostname must be a string');
    }
    if (this.serverSide) throw new Error('connect() is for client-side streams');
    if (this.closed()) return Promise.reject(new StreamClosedError(this.error));
    if (this.connectStarted || this.tlsSock !== null || (this.raw !== null && !this.raw.pending)) {
      throw new Error('SSLIOStream is already connected or connecting');
    }
    this.connectStarted = true;
    if ('port' in address) this.host = address.host ?? 'localhost';
    if (opts?.serverHostname !== undefined) this.serverHostname = opts.serverHostname;
    const socket = this.raw ?? new net.Socket();
    this.raw = socket;
    this.waitTcp(socket, address);
    return this.settled.then(() => this);
  }

  /**
   * Resolves with this stream when the handshake is done (at once if it already is); rejects
   * with the TLS error if it failed. Throws `Error('Already waiting')` while an earlier call
   * is still pending.
   */
  waitForHandshake(): Promise<this> {
    if (this.state === 'done') return Promise.resolve(this);
    if (this.state === 'failed') return Promise.reject(this.failure);
    if (this.waiting) throw new Error('Already waiting');
    this.waiting = true;
    return this.settled.then(() => this);
  }

  /** TCP_NODELAY, on by default, for the reason given at `IOStream.setNodelay`. */
  override setNodelay(value: boolean): void {
    this.noDelay = value;
    super.setNodelay(value);
  }

  /** A stream closed before the handshake must not leak its socket. */
  protected override closedBeforeAttach(error: Error | null): void {
    // `state` is undefined while the base constructor runs.
    if (this.state === 'pending') this.fail(new StreamClosedError(error), error);
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

function isSecureContext(x: SSLOptions): x is tls.SecureContext {
  const proto = Object.getPrototypeOf(x) as { constructor?: { name?: string } } | null;
  return proto !== null && proto !== Object.prototype && proto.constructor?.name === 'SecureContext'
    && 'context' in x;
}
