/**
 * The error classes of the stream contract and the coded errors for misuse. They live in the
 * core so that every driver, and code that embeds the core directly, reports failures with the
 * same classes and the same stable `code`s (the message may change; the code does not).
 */

/**
 * Every `code` on an error this library makes: the stream errors, misuse, deadlines and the
 * server; and the Node-style codes it gives the causes it makes itself (a pipe end used the
 * wrong way `EBADF`, a dead child `EPIPE`, a socket closed before it connected `ECONNABORTED`,
 * a simulated or pre-handshake reset `ECONNRESET`, writes after `endWrite()`
 * `ERR_STREAM_WRITE_AFTER_END`, a TLS handshake Node refused without an error
 * `ERR_TLS_HANDSHAKE` or Node's `authorizationError`). Errors that come from the transport
 * (`ECONNREFUSED`, `ECONNRESET`, TLS certificate errors...) keep the transport's own code.
 */
export type ErrorCode =
  | 'ERR_STREAM_CLOSED' | 'ERR_STREAM_BUFFER_FULL' | 'ERR_UNSATISFIABLE_READ'
  | 'ERR_ALREADY_READING' | 'ERR_ALREADY_WAITING' | 'ERR_ALREADY_CONNECTED' | 'ERR_NOT_CONNECTED'
  | 'ERR_STREAM_NOT_IDLE' | 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE'
  | 'ERR_INVALID_STATE' | 'ERR_SERVER_CLOSED' | 'ETIMEDOUT'
  | 'ABORT_ERR' | 'ERR_SERVER_NOT_LISTENING' | 'ERR_SERVER_ALREADY_LISTENING' | 'ERR_HANDLER_THREW'
  | 'ERR_SERVER_ONERROR_THREW' | 'ERR_DRIVER_CONTRACT'
  | 'EBADF' | 'EPIPE' | 'ECONNABORTED' | 'ECONNRESET' | 'ERR_STREAM_WRITE_AFTER_END' | 'ERR_TLS_HANDSHAKE';

/** An `Error` (or subclass) with a stable {@link ErrorCode}. */
export interface CodedError extends Error {
  /** The stable code: test it, not the message. */
  readonly code: string;
}

/**
 * Raised (as a rejection) by every pending or later operation on a closed stream.
 *
 * `realError` is what closed the stream, when something did: an `ECONNRESET`, a TLS error,
 * a {@link StreamBufferFullError}... It is also set as the standard `cause`.
 */
export class StreamClosedError extends Error implements CodedError {
  /** Stable code for programmatic checks. */
  readonly code = 'ERR_STREAM_CLOSED';
  /** What closed the stream; `undefined` after a clean close (peer EOF or user `close()`). */
  readonly realError: Error | undefined;

  /**
   * A rejection for an operation on a stream closed by `realError` (or cleanly).
   * @param realError - what closed the stream (also set as `cause`), or nothing for a clean close
   * @param message - replaces the default message, which names `realError`
   */
  constructor(realError?: Error | null, message?: string) {
    super(
      message ?? (realError ? `Stream is closed: ${realError.message}` : 'Stream is closed'),
      realError ? { cause: realError } : undefined,
    );
    this.name = 'StreamClosedError';
    this.realError = realError ?? undefined;
  }
}

/** The two buffer limits a {@link StreamBufferFullError} can name. */
export type BufferLimit = 'maxBufferSize' | 'maxWriteBufferSize';

/** What a {@link StreamBufferFullError} reports: the limit that was hit and the bytes that hit it. */
export interface BufferFullDetails {
  /** Which option's limit: `maxBufferSize` (reads) or `maxWriteBufferSize` (writes). */
  option: BufferLimit;
  /** That option's value, in bytes. */
  limit: number;
  /** Bytes the read needed buffered, or the bytes a write would have left unflushed (more than `limit`). */
  bytes: number;
}

/**
 * A read needed more than `maxBufferSize` bytes buffered (the stream is closed with this as its
 * `error`), or a write would take the unflushed bytes past `maxWriteBufferSize` (that write is
 * refused, the stream stays open). `option`, `limit` and `bytes` say which limit and by how much.
 */
export class StreamBufferFullError extends Error implements CodedError {
  /** Stable code for programmatic checks. */
  readonly code = 'ERR_STREAM_BUFFER_FULL';
  /** Which limit was hit (`undefined` only when made without details). */
  readonly option: BufferLimit | undefined;
  /** The limit's value in bytes (`undefined` only when made without details). */
  readonly limit: number | undefined;
  /** Bytes the read needed buffered, or a write would have left unflushed (`undefined` only when made without details). */
  readonly bytes: number | undefined;
  /**
   * A buffer limit was reached.
   * @param message - what was too large, and the limit
   * @param details - the limit and the byte count (every error the library makes has them)
   */
  constructor(message = 'Reached maximum buffer size', details?: BufferFullDetails) {
    super(message);
    this.name = 'StreamBufferFullError';
    this.option = details?.option;
    this.limit = details?.limit;
    this.bytes = details?.bytes;
  }
}

/**
 * `readUntil`/`readUntilRegex` saw more than `maxBytes` bytes without a match. The stream is
 * closed with this as its `error`.
 */
export class UnsatisfiableReadError extends Error implements CodedError {
  /** Stable code for programmatic checks. */
  readonly code = 'ERR_UNSATISFIABLE_READ';
  /**
   * A `maxBytes` limit was passed without a match.
   * @param message - the limit and what was buffered
   */
  constructor(message = 'Read cannot be satisfied within maxBytes') {
    super(message);
    this.name = 'UnsatisfiableReadError';
  }
}

/**
 * A read was started while another is pending (only one read may be pending at a time).
 * Thrown synchronously; nothing changes.
 */
export class AlreadyReadingError extends Error implements CodedError {
  /** Stable code for programmatic checks. */
  readonly code = 'ERR_ALREADY_READING';
  /**
   * A second read was started while one is pending.
   * @param message - always contains "Already reading"
   */
  constructor(message = 'Already reading: only one read may be pending at a time') {
    super(message);
    this.name = 'AlreadyReadingError';
  }
}

/** An `Error` of class `Ctor` with `code` set, and `cause` when given. */
function coded<E extends Error>(Ctor: new (message: string, options?: { cause: unknown }) => E,
  code: ErrorCode, message: string, cause: unknown): E & { readonly code: ErrorCode } {
  const err = cause === undefined ? new Ctor(message) : new Ctor(message, { cause });
  return Object.assign(err, { code });
}

/** A misuse that is not about one argument (`ERR_ALREADY_WAITING`, `ERR_NOT_CONNECTED`, ...): a plain `Error` with `code`. */
export function stateError(code: ErrorCode, message: string): Error & { readonly code: ErrorCode } {
  return coded(Error, code, message, undefined);
}

/** An argument of the wrong type: `TypeError`, `code: 'ERR_INVALID_ARG_TYPE'`. */
export function invalidArgType(message: string, cause?: unknown): TypeError & { readonly code: ErrorCode } {
  return coded(TypeError, 'ERR_INVALID_ARG_TYPE', message, cause);
}

/** An argument of the right type with a value that cannot work: `TypeError`, `code: 'ERR_INVALID_ARG_VALUE'`. */
export function invalidArgValue(message: string, cause?: unknown): TypeError & { readonly code: ErrorCode } {
  return coded(TypeError, 'ERR_INVALID_ARG_VALUE', message, cause);
}

/** A number (size, limit, port...) outside its range: `RangeError`, `code: 'ERR_OUT_OF_RANGE'`. */
export function outOfRange(message: string): RangeError & { readonly code: ErrorCode } {
  return coded(RangeError, 'ERR_OUT_OF_RANGE', message, undefined);
}

/** A thrown value as an Error (user code may throw anything). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
