/**
 * `stream.readUntilIter(delimiter)` / `stream.lines()`: the records of a stream as an async
 * iterator, one per delimiter.
 *
 * The cost per record is what `for await` itself costs: a record already buffered is taken
 * from the core's buffer at once (no action queue, no socket) and `next()` returns
 * `Promise.resolve({ value, done: false })`. Resolving a promise with a fresh plain object is
 * V8's fast case (the `then` lookup is answered by the object's map), unlike resolving one
 * with a typed array, which walks `Uint8Array.prototype` for `then` — that lookup is most of
 * what one `Promise<Buffer>` per read costs. A record not buffered yet registers one pending
 * read with the stream and resolves `next()` from its settlement.
 */
import { AlreadyReadingError, StreamClosedError } from '../../core/errors.js';
import type { StreamCore } from '../../core/stream-core.js';
import { newPromise, release, taken } from './promise-slots.js';

/** What the iterator needs of its stream: given by `BaseIOStream.readUntilIter`, internal. */
export interface RecordPort {
  /** Waits for pending read `id`: its value goes to `onValue`, a rejection to `onError`. */
  pend(id: number, onValue: (v: never) => void, onError: (e: unknown) => void): void;
  /** Abandons the pending read (its bytes stay buffered). */
  cancel(): void;
  /** Carries out the core's queued actions (read-ahead resumed by a consumption, a settlement). */
  drain(): void;
  /** The iteration is over: the stream's reader slot is free again. */
  finish(): void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * The iterator {@link BaseIOStream.readUntilIter} returns. It holds the stream's reader slot
 * from creation until it ends (a clean close with no full record left, an error, `break` /
 * `return()`, or an abort): meanwhile other reads throw `AlreadyReadingError`.
 */
export class RecordIterator<B extends Uint8Array> implements AsyncIterableIterator<B> {
  private finished = false;
  /** Set when the iteration ended by an error or abort: later `next()` calls reject with it. */
  private failure: unknown = undefined;
  private resolveNext: ((r: IteratorResult<B>) => void) | null = null;
  private rejectNext: ((e: unknown) => void) | null = null;
  private readonly onAbort: (() => void) | null = null;

  constructor(
    private readonly core: StreamCore,
    private readonly delimiter: Uint8Array,
    private readonly maxBytes: number | undefined,
    private readonly signal: AbortSignal | undefined,
    private readonly port: RecordPort,
  ) {
    if (signal === undefined) return;
    if (signal.aborted) {
      this.end(signal.reason, true);
      return;
    }
    this.onAbort = () => { this.aborted(); };
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The next record (delimiter included), or `done` at a clean close with no full record left. */
  next(): Promise<IteratorResult<B>> {
    if (this.finished) return this.failure === undefined ? Promise.resolve(DONE) : Promise.reject(this.failure);
    if (this.resolveNext !== null) {
      return Promise.reject(new AlreadyReadingError('Already reading: next() called while the previous next() is pending'));
    }
    const core = this.core;
    const r = core.readUntilOrPending(this.delimiter, this.maxBytes);
    if (typeof r !== 'number') {
      if (core.hasActions) this.port.drain(); // taking the record may have resumed read-ahead
      return Promise.resolve({ value: r as B, done: false });
    }
    const p = newPromise<IteratorResult<B>>();
    this.resolveNext = taken.resolve as (r: IteratorResult<B>) => void;
    this.rejectNext = taken.reject;
    release();
    this.port.pend(r, this.onValue, this.onError);
    return p;
  }

  /** Ends the iteration (what `break` calls): the read slot is freed, no byte is lost. */
  return(): Promise<IteratorResult<B>> {
    if (this.resolveNext !== null) {
      this.port.cancel();
      this.settleNext(DONE, undefined);
    }
    this.end(undefined, false);
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Whether the iteration is over (it then holds no read slot). */
  get ended(): boolean {
    return this.finished;
  }

  private readonly onValue = (value: B): void => {
    this.settleNext({ value, done: false }, undefined);
  };

  private readonly onError = (err: unknown): void => {
    // A clean close with no full record left is the end of the records; the partial record
    // stays buffered (readUntilClose takes it). Anything else ends the iteration with the error.
    const clean = err instanceof StreamClosedError && err.realError === undefined;
    this.end(clean ? undefined : err, !clean);
    this.settleNext(clean ? DONE : null, clean ? undefined : err);
  };

  private aborted(): void {
    const reason = (this.signal as AbortSignal).reason;
    if (this.resolveNext !== null) {
      this.port.cancel();
      this.settleNext(null, reason);
    }
    this.end(reason, true);
  }

  private settleNext(result: IteratorResult<B> | null, err: unknown): void {
    const resolve = this.resolveNext;
    const reject = this.rejectNext;
    this.resolveNext = null;
    this.rejectNext = null;
    if (result !== null) resolve?.(result);
    else reject?.(err);
  }

  private end(failure: unknown, failed: boolean): void {
    if (this.finished) return;
    this.finished = true;
    if (failed) this.failure = failure;
    if (this.onAbort !== null) this.signal?.removeEventListener('abort', this.onAbort);
    this.port.finish();
  }
}
