/**
 * What a {@link StreamCore} asks its driver to do. The core never performs I/O: after every
 * input the driver drains `nextAction()` until it returns `undefined` and carries each out.
 * The `type` names are the public contract; fields may grow.
 */
export type Action =
  /** Start (or resume) delivering transport bytes to `receive()`. */
  | WantReadAction
  /** Stop delivering bytes for now: the buffer holds about `readChunkSize` and no read needs more. */
  | PauseReadAction
  /** Hand these chunks, in order, to the transport; report progress with `written(n)`. */
  | WriteTheseAction
  /** Settle request `id`: with `value` (bytes, or a count for `readInto`, or nothing for a write) or `error`. */
  | ResolveRequestAction
  /** Give a chunk of a streaming read to its callback, in arrival order. */
  | StreamChunkAction
  /** Close the transport (error `null` = clean close). Comes before `closed`. */
  | CloseWithErrorAction
  /** The stream's life is over: the last action, after every settlement of the close. */
  | ClosedAction;

/** Start (or resume) delivering transport bytes to `receive()`; it alternates with `pause-read`. */
export interface WantReadAction {
  /** Discriminant. */
  readonly type: 'want-read';
}

/**
 * Stop delivering transport bytes for now: about `readChunkSize` bytes are buffered and no
 * pending read needs more. A later `want-read` resumes.
 */
export interface PauseReadAction {
  /** Discriminant. */
  readonly type: 'pause-read';
}

/**
 * Hand `chunks`, in order, to the transport. The driver reports progress with
 * `written(n)` as the transport confirms bytes; the next batch comes only after this one
 * was confirmed in full.
 */
export interface WriteTheseAction {
  /** Discriminant. */
  readonly type: 'write-these';
  /** The bytes to send, in order. The driver must not modify them. */
  readonly chunks: Uint8Array[];
  /** Total length of `chunks`, so a driver need not add it up. */
  readonly byteLength: number;
}

/** Settle request `id` (a read or a write), with `value` on success or `error` on failure. */
export interface ResolveRequestAction {
  /** Discriminant. */
  readonly type: 'resolve-request';
  /** The id the core returned when the request was made. */
  readonly id: number;
  /**
   * The result on success: the bytes of a read, the byte count of a `readInto`, and nothing
   * for a write or a streaming read (whose data came as `stream-chunk` actions).
   */
  readonly value?: Uint8Array | number;
  /**
   * Set when the request failed: a `StreamClosedError` (its `realError` says why the stream
   * closed), or a `StreamBufferFullError` for a write refused past `maxWriteBufferSize`.
   */
  readonly error?: Error;
}

/** A chunk of streaming read `id`, for its `streamingCallback`, in arrival order. */
export interface StreamChunkAction {
  /** Discriminant. */
  readonly type: 'stream-chunk';
  /** The id of the streaming read. */
  readonly id: number;
  /** The bytes, removed from the buffer. */
  readonly data: Uint8Array;
}

/** Close the transport; comes before `closed`, and once per stream. */
export interface CloseWithErrorAction {
  /** Discriminant. */
  readonly type: 'close-with-error';
  /** Why the stream closed, or `null` for a clean close (flush what was handed over, then end). */
  readonly error: Error | null;
}

/**
 * The stream's life is over: the last action, after every request pending at the close has
 * been settled. A driver runs the close callback on it.
 */
export interface ClosedAction {
  /** Discriminant. */
  readonly type: 'closed';
  /** The close error (`StreamCore.error`), or `null` for a clean close. */
  readonly error: Error | null;
}

/** Shared immutable instances: these carry no data, so no allocation per transition. */
export const WANT_READ: WantReadAction = Object.freeze({ type: 'want-read' });
export const PAUSE_READ: PauseReadAction = Object.freeze({ type: 'pause-read' });
