/**
 * The public types of {@link TCPServer} and {@link serve}: the handler, what it learns of its
 * connection, and the options of the server, of `listen` and of `shutdown`.
 */
import type { StreamOptions } from '../../core/options.js';
import type { IOStream } from './net.js';
import type { SSLIOStream, SSLOptions } from './tls.js';

/** The stream a handler gets: an {@link SSLIOStream} when the server has `tls`, else an {@link IOStream}. */
export type ServerStream = IOStream | SSLIOStream;

/** What a handler learns about its connection. */
export interface ConnectionInfo {
  /** The peer's address, as the accepted socket reports it (undefined once it is gone). */
  readonly remoteAddress: string | undefined;
  /** The peer's port. */
  readonly remotePort: number | undefined;
  /**
   * Aborted (reason: an `Error` with `code: 'ERR_SERVER_CLOSED'`) when {@link TCPServer.shutdown}
   * begins. Pass it to reads (`readUntil(d, { signal })`) so a handler waiting for its next
   * request ends at once; a handler that rejects with this reason ends normally (a clean
   * close, nothing reported).
   */
  readonly signal: AbortSignal;
}

/**
 * Serves one connection. A promise (an `async` function): the connection lasts until it
 * settles; then the server closes the stream, cleanly after the handler's queued writes on
 * resolution, with the error on rejection. A plain return (`undefined`): the stream is the
 * handler's to close, as in Tornado's `handle_stream`.
 */
export type ConnectionHandler = (stream: ServerStream, info: ConnectionInfo) => void | PromiseLike<void>;

/** Options of {@link TCPServer} (and of {@link serve}). */
export interface TCPServerOptions {
  /**
   * Serve TLS: `tls.TlsOptions` (`key`, `cert`, `requestCert`...) or a `tls.SecureContext`.
   * The secure context is made once, here, not per connection.
   */
  tls?: SSLOptions;
  /**
   * TLS only: ms a client has to complete the handshake (default 120000, as Node's
   * `tls.Server`); a slower one is closed and reported to `onError` with `ETIMEDOUT`.
   */
  handshakeTimeout?: number;
  /** Options of every accepted stream (`maxBufferSize`, `readChunkSize`, `maxWriteBufferSize`). */
  streamOptions?: StreamOptions;
  /**
   * TCP_NODELAY on every accepted stream: on by default, as on every `IOStream` and
   * `SSLIOStream` (see `IOStream.setNodelay` for why); `false` turns Nagle's algorithm back on.
   */
  noDelay?: boolean;
  /**
   * Called with every failure the server contains: a handler's throw or rejection (`stream`
   * is its stream, already closed with that error), a TLS handshake failure (`stream` is the
   * closed stream; the handler never saw it), and errors of the listening socket such as
   * `EMFILE` on accept (`stream` is `null`). Nothing is logged when it is not given. If it
   * throws, the server goes on and emits a process warning (code `ERR_SERVER_ONERROR_THREW`).
   */
  onError?: (error: Error, stream: ServerStream | null) => void;
}

/** Where {@link TCPServer.listen} listens. */
export interface ListenOptions {
  /** TCP port, 0 (the default) for an ephemeral one: read it back from {@link TCPServer.port}. */
  port?: number;
  /** Address to bind; default `'127.0.0.1'` (pass `'0.0.0.0'` or `'::'` to accept from other hosts). */
  host?: string;
  /** Length of the kernel's accept queue (Node's default when omitted). */
  backlog?: number;
}

/** Options of {@link serve}: the server's and where to listen. */
export interface ServeOptions extends TCPServerOptions, ListenOptions {}

/** Options of {@link TCPServer.shutdown}. */
export interface ShutdownOptions {
  /** Grace period in ms (default 5000; 0 = none) before live connections are destroyed. */
  timeout?: number;
}

