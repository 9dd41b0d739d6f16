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

export interface WantReadAction { readonly type: 'want-read' }
export interface PauseReadAction { readonly type: 'pause-read' }
export interface WriteTheseAction { readonly type: 'write-these'; readonly chunks: Uint8Array[]; readonly byteLength: number }
export interface ResolveRequestAction {
  readonly type: 'resolve-request';
  readonly id: number;
  readonly value?: Uint8Array | number;
  readonly error?: Error;
}
export interface StreamChunkAction { readonly type: 'stream-chunk'; readonly id: number; readonly data: Uint8Array }
export interface CloseWithErrorAction { readonly type: 'close-with-error'; readonly error: Error | null }
export interface ClosedAction { readonly type: 'closed'; readonly error: Error | null }

/** Shared immutable instances: these carry no data, so no allocation per transition. */
export const WANT_READ: WantReadAction = Object.freeze({ type: 'want-read' });
export const PAUSE_READ: PauseReadAction = Object.freeze({ type: 'pause-read' });
