/**
 * The three error classes of the stream contract. They live in the core so that every
 * driver, and code that embeds the core directly, reports failures with the same classes.
 */

/**
 * Raised (as a rejection) by every pending or later operation on a closed stream.
 *
 * `realError` is what closed the stream, when something did: an `ECONNRESET`, a TLS error,
 * a {@link StreamBufferFullError}... It is also set as the standard `cause`.
 */
export class StreamClosedError extends Error {
  /** Stable code for programmatic checks. */
  readonly code = 'ERR_STREAM_CLOSED';
  /** What closed the stream; `undefined` after a clean close (peer EOF or user `close()`). */
  readonly realError: Error | undefined;

  constructor(realError?: Error | null, message?: string) {
    super(
      message ?? (realError ? `Stream is closed: ${realError.message}` : 'Stream is closed'),
      realError ? { cause: realError } : undefined,
    );
    this.name = 'StreamClosedError';
    this.realError = realError ?? undefined;
  }
}

/**
 * A read needed more than `maxBufferSize` bytes buffered (the stream is closed with this as its
 * `error`), or a write would take the unflushed bytes past `maxWriteBufferSize` (that write is
 * refused, the stream stays open).
 */
export class StreamBufferFullError extends Error {
  readonly code = 'ERR_STREAM_BUFFER_FULL';
  constructor(message = 'Reached maximum buffer size') {
    super(message);
    this.name = 'StreamBufferFullError';
  }
}

/**
 * `readUntil`/`readUntilRegex` saw more than `maxBytes` bytes without a match. The stream is
 * closed with this as its `error`.
 */
export class UnsatisfiableReadError extends Error {
  readonly code = 'ERR_UNSATISFIABLE_READ';
  constructor(message = 'Read cannot be satisfied within maxBytes') {
    super(message);
    this.name = 'UnsatisfiableReadError';
  }
}
