/**
 * `PendingRead`: the handle of a stream's one pending read — the resolvers of its promise, or
 * the Tornado-4.4 `callback` that takes its value instead, its `streamingCallback`, the record
 * handler of a `readUntilEach`, and its abort `signal` — and how a read result reaches the
 * caller: a promise, a queued callback, a record handed to its handler, or (completed from the
 * buffer) a resolved promise. {@link BaseIOStream} owns one; its public read methods validate,
 * ask the core, and hand the outcome here.
 *
 * A `readUntilEach` handler runs inside the stream's drain, from the delivery that completed
 * its record: while it runs, `holding` is set and a drain it causes (a write, a close) waits
 * for the loop already running, so records never nest and go out in order.
 *
 * Scalars on one object made with the stream (no object per read): 10,000 idle streams, each
 * with a read pending, should cost little.
 */
import { AlreadyReadingError, asError } from '../../core/errors.js';
import type { StreamCore } from '../../core/stream-core.js';
import type { ResolveRequestAction, StreamChunkAction } from '../../core/actions.js';
import { CallbackQueue } from './callback-queue.js';
import { newPromise, release, taken } from './promise-slots.js';
import type { ReadOptions } from './read-options.js';
import type { RecordPort } from './record-iterator.js';

/** What the read handle needs of its stream (`BaseIOStream`; its `drain` is protected). */
export interface ReadOwner {
  /** Carries out the core's queued actions. */
  drain(): void;
  /** Closes the stream with `error` (a user callback threw). */
  close(error: Error): void;
}

/** Where deferred drains start: a microtask, without `queueMicrotask`'s per-call resource on Node 20. */
const RESOLVED = Promise.resolve();

export class PendingRead {
  /** Id of the pending read, 0 when none. */
  id = 0;
  /**
   * The stream's drain must not run now: a record handler is running inside it, or a
   * `readUntilEach` was just started and its buffered records wait for their microtask.
   */
  holding = false;
  /**
   * The drain running now carries out a transport event from outside any other drain (so not
   * inside a user's call): a callback read it completes runs at once, as readline's `'line'`
   * handlers do, with no microtask in between, unless earlier callbacks still wait.
   */
  delivering = false;
  private resolve: ((v: never) => void) | null = null;
  private reject: ((e: unknown) => void) | null = null;
  private callback: ((v: never) => void) | null = null;
  // Typed over Uint8Array, not the stream's byte type: the handle is the same for every driver.
  private streaming: ((chunk: Uint8Array) => void) | null = null;
  /** The `onRecord` of a pending `readUntilEach`. */
  private each: ((record: Uint8Array) => unknown) | null = null;
  private signal: AbortSignal | null = null;
  /** Created on first use: an idle stream should cost little memory. */
  private abortListener: (() => void) | null = null;
  /** Tornado-style read callbacks waiting to run (made on first use). */
  private callbacks: CallbackQueue | null = null;

  constructor(private readonly core: StreamCore, private readonly owner: ReadOwner) {}

  /** A read the core registered as pending: a promise, or (with `callback`) nothing. */
  pending<T>(id: number, o: ReadOptions<T> | undefined, streaming: ((chunk: never) => void) | null): Promise<T> | undefined {
    const callback = o?.callback;
    let p: Promise<T> | undefined;
    if (callback === undefined) {
      p = newPromise<T>();
      this.pend(id, taken.resolve, taken.reject, null);
      release();
    } else {
      this.pend(id, null, null, callback as (v: never) => void);
    }
    this.streaming = streaming as ((chunk: Uint8Array) => void) | null;
    const signal = o?.signal;
    if (signal !== undefined) this.listen(signal);
    if (this.core.hasActions) this.owner.drain();
    return p;
  }

  /**
   * A `readUntilEach` the core registered: its promise. What the core queued (the records
   * already buffered first) is carried out from one microtask, never inside this call.
   */
  pendingEach(id: number, onRecord: (record: never) => unknown, signal: AbortSignal | undefined): Promise<void> {
    const p = newPromise<void>();
    this.pend(id, taken.resolve, taken.reject, null);
    release();
    this.each = onRecord as (record: Uint8Array) => unknown;
    if (signal !== undefined) this.listen(signal);
    if (this.core.hasActions) {
      this.holding = true;
      void RESOLVED.then(() => { this.resumeHeld(); }); // made here, not per stream: idle streams stay small
    }
    return p;
  }

  /** A read completed from the buffer: a resolved promise, or the callback queued. */
  done<T>(value: T, o: ReadOptions<T> | undefined): Promise<T> | undefined {
    if (this.core.hasActions) this.owner.drain(); // consuming may have resumed read-ahead
    if (o === undefined || o.callback === undefined) return Promise.resolve(value);
    this.queueCallback(o.callback as (v: never) => void, value);
    return undefined;
  }

  /** A read whose signal was aborted before it started: rejected with the reason (a callback read: nothing). */
  abortedEarly<T>(o: ReadOptions<T>): Promise<T> | undefined {
    if (this.core.reading) throw new AlreadyReadingError();
    if (o.callback !== undefined) return undefined;
    return Promise.reject((o.signal as AbortSignal).reason);
  }

  /** The pending read settled (`a.id === this.id`). */
  settle(a: ResolveRequestAction): void {
    const callback = this.callback;
    const resolve = this.resolve as (v: unknown) => void;
    const reject = this.reject as (e: unknown) => void;
    this.clear();
    if (callback !== null) {
      // A failure closed the stream, which reports it (error, close callback).
      if (a.error !== undefined) return;
      if (this.delivering && !this.holding && (this.callbacks === null || this.callbacks.idle)) this.runNow(callback, a.value);
      else this.queueCallback(callback, a.value);
    } else if (a.error !== undefined) {
      reject(a.error);
    } else {
      resolve(a.value);
    }
  }

  /** A chunk of the pending streaming read, or a record of the pending `readUntilEach`. */
  streamChunk(a: StreamChunkAction): void {
    if (a.id !== this.id) return;
    const each = this.each;
    if (each !== null) {
      this.record(each, a.data);
      return;
    }
    const cb = this.streaming;
    if (cb === null) return;
    const data = a.data;
    // Never inside the call that started the read, and in arrival order: a microtask per
    // chunk keeps both (the read's own settlement is queued after its chunks).
    void RESOLVED.then(() => { this.callUser(cb, data); });
  }

  /** Runs a user callback; one that throws closes the stream with what it threw. */
  callUser<T>(callback: (v: T) => void, value: T): void {
    try {
      callback(value);
    } catch (err) {
      this.owner.close(asError(err));
    }
  }

  /** The record iterator's view of the stream (made once per iterator). */
  recordPort(finish: () => void): RecordPort {
    return {
      pend: (id, onValue, onError) => {
        this.pend(id, onValue, onError, null);
        if (this.core.hasActions) this.owner.drain();
      },
      cancel: () => {
        this.core.cancel(this.id);
        this.clear();
        this.owner.drain();
      },
      drain: () => { this.owner.drain(); },
      finish,
    };
  }

  /**
   * Runs `onRecord(data)` now, inside the drain (nested drains wait for this one), then for
   * every further record the core has ready (`takeRecord`: no action, no drain turn per
   * record). `false` stops the read after that record; a throw stops it, closes the stream
   * with what was thrown and rejects with it. Either way the records not handed out yet stay
   * buffered. A close, an abort or a limit inside `onRecord` ends the loop as the core says.
   */
  private record(onRecord: (record: Uint8Array) => unknown, data: Uint8Array): void {
    const id = this.id;
    const core = this.core;
    let next: Uint8Array | undefined = data;
    this.holding = true;
    try {
      do {
        if (onRecord(next) === false) {
          this.holding = false;
          this.endEach(id, undefined, false);
          return;
        }
        if (this.id !== id) break;
        next = core.takeRecord();
      } while (next !== undefined);
    } catch (err) {
      this.holding = false;
      this.endEach(id, err, true);
      return;
    }
    this.holding = false;
  }

  /** Ends `readUntilEach` `id` (if it is still the pending read) after a `false` or a throw. */
  private endEach(id: number, err: unknown, threw: boolean): void {
    if (this.id !== id) return;
    const resolve = this.resolve as (v: unknown) => void;
    const reject = this.reject as (e: unknown) => void;
    this.core.cancel(id);
    this.clear();
    if (!threw) {
      resolve(undefined);
      return;
    }
    this.owner.close(asError(err));
    reject(err);
  }

  /**
   * Runs a read callback now, inside the delivery's drain: a drain it causes (a write, a
   * close, a read the buffer satisfies) waits for the loop already running, as for records.
   */
  private runNow(callback: (v: never) => void, value: unknown): void {
    this.holding = true;
    try {
      (callback as (v: unknown) => void)(value);
    } catch (err) {
      this.holding = false;
      this.owner.close(asError(err));
      return;
    }
    this.holding = false;
  }

  /** The microtask `pendingEach` scheduled: the drain it held back runs now. */
  private resumeHeld(): void {
    this.holding = false;
    this.owner.drain();
  }

  private listen(signal: AbortSignal): void {
    this.signal = signal;
    signal.addEventListener('abort', (this.abortListener ??= () => { this.abort(); }), { once: true });
  }

  private pend(id: number, resolve: ((v: never) => void) | null, reject: ((e: unknown) => void) | null,
    callback: ((v: never) => void) | null): void {
    this.id = id;
    this.resolve = resolve;
    this.reject = reject;
    this.callback = callback;
  }

  /** Queues a read callback with its value (the queue is made on first use). */
  private queueCallback(callback: (v: never) => void, value: unknown): void {
    (this.callbacks ??= new CallbackQueue((err) => { this.owner.close(asError(err)); })).push(callback, value);
  }

  private abort(): void {
    const signal = this.signal;
    if (signal === null || this.id === 0) return;
    const reject = this.reject;
    this.core.cancel(this.id);
    this.clear();
    reject?.(signal.reason);
    this.owner.drain();
  }

  private clear(): void {
    this.id = 0;
    this.resolve = null;
    this.reject = null;
    this.callback = null;
    this.streaming = null;
    this.each = null;
    if (this.signal !== null) {
      this.signal.removeEventListener('abort', this.abortListener as () => void);
      this.signal = null;
    }
  }
}
