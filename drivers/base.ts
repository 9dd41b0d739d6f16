/**
 * `BaseIOStream`: the promise/callback facade every driver returns. It owns a
 * {@link StreamCore}, turns user calls into core inputs, and carries out the core's actions on
 * a {@link Transport}. Drivers only adapt a transport; everything else lives here, once.
 *
 * No Node built-in is imported here: the memory and web drivers ship this file to browsers.
 */
import { AlreadyReadingError, StreamClosedError, invalidArgType } from '../core/errors.js';
import { StreamCore, type StreamCoreOptions, type StreamOptions } from '../core/stream-core.js';
import type { Action, ResolveRequestAction, StreamChunkAction } from '../core/actions.js';
import { checkDelimiter, checkMaxBytes, checkRegex, checkSize, checkBuffer, checkObject } from '../core/validate.js';
import { SettleQueue } from './settle-queue.js';
import { macrotask, type Scheduler, type Transport, type TransportSink } from './transport.js';

/** Options every read accepts. */
export interface ReadOptions<T> {
  /** Tornado-4.4 style: called with the result on a later tick; the promise is then marked handled. */
  callback?: (result: T) => void;
  /** Aborting rejects the pending read with `signal.reason`, frees the read slot, loses no byte. */
  signal?: AbortSignal;
}
export interface ReadBytesOptions<B> extends ReadOptions<B> {
  /** Resolve as soon as 1..n bytes are available. */
  partial?: boolean;
  /** Receive the bytes in arrival order as they come; the final result is then empty. */
  streamingCallback?: (chunk: B) => void;
}
export interface ReadUntilOptions<B> extends ReadOptions<B> {
  /** Close with `UnsatisfiableReadError` when more than this many bytes arrive without a match. */
  maxBytes?: number;
}
export interface ReadUntilCloseOptions<B> extends ReadOptions<B> {
  streamingCallback?: (chunk: B) => void;
}
export interface ReadIntoOptions extends ReadOptions<number> {
  partial?: boolean;
}

/** Platform hooks a driver passes to the facade (not user options). */
export interface DriverHooks {
  alloc?: StreamCoreOptions['alloc'];
  latin1?: StreamCoreOptions['latin1'];
  view?: StreamCoreOptions['view'];
  /** Where close callbacks run (default: `setImmediate`, or a zero timeout). */
  schedule?: Scheduler;
}

const noop = (): void => {};

// One executor for every promise the facade makes: it hands the resolving functions over
// through these two slots (executors run synchronously) instead of a closure per promise.
let takenResolve: (v: never) => void = noop;
let takenReject: (e: unknown) => void = noop;
function takeResolvers(resolve: (v: never) => void, reject: (e: unknown) => void): void {
  takenResolve = resolve;
  takenReject = reject;
}
/** Empties the slots, so they don't keep the last promise (and what it resolved with) alive. */
function releaseTaken(): void {
  takenResolve = noop;
  takenReject = noop;
}

/**
 * A buffered, promise-based byte stream with Tornado's `BaseIOStream` behaviour.
 *
 * Reads (`readBytes`, `readUntil`, `readUntilRegex`, `readUntilClose`, `readInto`) return
 * promises; only one may be pending at a time. Writes may be issued at any time and are sent
 * in order. Misuse throws synchronously and changes nothing; anything that happens on the
 * transport is reported through promises, `error` and the close callback — never as an
 * unhandled rejection or an uncaught exception.
 *
 * @typeParam B - the byte type reads resolve with (`Buffer` on Node drivers).
 */
export class BaseIOStream<B extends Uint8Array = Uint8Array> implements AsyncIterable<B> {
  /** The state machine behind this stream. For drivers and diagnostics. */
  protected readonly core: StreamCore;
  private transport: Transport | null = null;
  private readonly schedule: Scheduler;
  private wantRead = false;
  private heldWrites: Uint8Array[][] = [];
  private detached = false;

  // The pending read's handle (at most one; no per-read object).
  private readId = 0;
  private readResolve: ((v: never) => void) | null = null;
  private readReject: ((e: unknown) => void) | null = null;
  // Typed over Uint8Array, not B: a function-typed field would make BaseIOStream<Buffer> not
  // assignable to BaseIOStream (code written against the base type must accept every driver).
  private readStreaming: ((chunk: Uint8Array) => void) | null = null;
  private readSignal: AbortSignal | null = null;
  /** Created on first use: an idle stream should cost little memory (10,000 of them may wait). */
  private abortListener: (() => void) | null = null;

  private writeHandles: SettleQueue | null = null;
  /** Tornado-style callbacks of reads completed from the buffer: (callback, value) pairs run from one microtask. */
  private callbackQueue: unknown[] | null = null;
  private callbackRunner: (() => void) | null = null;
  private closeCallback: (() => void) | null = null;
  private closedSeen = false;

  /** The sink a driver's transport reports into (after `attachTransport`). */
  protected readonly sink: TransportSink;

  constructor(options: StreamOptions = {}, hooks: DriverHooks = {}) {
    // Checked before the spread: spreading 5 or 'x' would silently give {}.
    checkObject(options, 'options', false);
    const coreOptions: StreamCoreOptions = { ...options };
    if (hooks.alloc) coreOptions.alloc = hooks.alloc;
    if (hooks.latin1) coreOptions.latin1 = hooks.latin1;
    if (hooks.view) coreOptions.view = hooks.view;
    this.core = new StreamCore(coreOptions);
    this.schedule = hooks.schedule ?? macrotask;
    this.sink = new FacadeSink(this.core, this as unknown as BaseIOStream<never>);
    this.drain();
  }

  // ------------------------------------------------------------------ reads

  /**
   * Reads exactly `n` bytes. With `partial`, resolves as soon as 1..n bytes are available.
   * With `streamingCallback`, the bytes go to it in arrival order and the result is empty.
   * `n = 0` resolves with an empty buffer. A non-partial `n` above `maxBufferSize` closes the
   * stream with `StreamBufferFullError`.
   */
  readBytes(n: number, opts?: ReadBytesOptions<B>): Promise<B> {
    checkSize(n, 'n');
    const o = readOpts(opts);
    const streaming = o?.streamingCallback;
    if (o?.signal?.aborted) return this.abortedEarly(o);
    if (streaming === undefined) {
      const v = this.core.tryReadBytes(n, o?.partial === true);
      if (v !== undefined) return this.done(v as B, o);
    }
    const id = this.core.readBytes(n, { partial: o?.partial === true, streaming: streaming !== undefined });
    return this.pending(id, o, streaming ?? null);
  }

  /**
   * Reads up to and including the first `delimiter` (a string is UTF-8 encoded). With
   * `maxBytes`, more than that many bytes without a match closes the stream with
   * `UnsatisfiableReadError` (a match ending within `maxBytes` succeeds).
   */
  readUntil(delimiter: Uint8Array | string, opts?: ReadUntilOptions<B>): Promise<B> {
    const o = readOpts(opts);
    if (o?.signal?.aborted) {
      checkDelimiter(delimiter);
      checkMaxBytes(o.maxBytes);
      return this.abortedEarly(o);
    }
    const v = this.core.tryReadUntil(delimiter, o?.maxBytes);
    if (v !== undefined) return this.done(v as B, o);
    return this.pending(this.core.readUntil(delimiter, o), o, null);
  }

  /**
   * Reads up to the end of the first match of `regex` against the buffered bytes decoded as
   * latin1 (one char per byte). A match is taken as soon as it appears, so end the regex with
   * a terminator. `maxBytes` as for {@link readUntil}.
   */
  readUntilRegex(regex: RegExp | string, opts?: ReadUntilOptions<B>): Promise<B> {
    const o = readOpts(opts);
    if (o?.signal?.aborted) {
      checkRegex(regex);
      checkMaxBytes(o.maxBytes);
      return this.abortedEarly(o);
    }
    const v = this.core.tryReadUntilRegex(regex, o?.maxBytes);
    if (v !== undefined) return this.done(v as B, o);
    return this.pending(this.core.readUntilRegex(regex, o), o, null);
  }

  /**
   * Reads everything until the stream closes cleanly (peer EOF or `close()`). A close caused
   * by an error rejects with `StreamClosedError { realError }` instead, leaving the bytes
   * buffered, so a truncated body never looks complete.
   */
  readUntilClose(opts?: ReadUntilCloseOptions<B>): Promise<B> {
    const o = readOpts(opts);
    if (o?.signal?.aborted) return this.abortedEarly(o);
    const streaming = o?.streamingCallback;
    const id = this.core.readUntilClose({ streaming: streaming !== undefined });
    return this.pending(id, o, streaming ?? null);
  }

  /**
   * Fills `buf` and resolves with the count (`partial`: 1..buf.length as soon as any bytes
   * are there). Bytes are copied into `buf` only when the read completes, so an aborted
   * `readInto` leaves them buffered.
   */
  readInto(buf: Uint8Array, opts?: ReadIntoOptions): Promise<number> {
    checkBuffer(buf);
    const o = readOpts(opts);
    if (o?.signal?.aborted) return this.abortedEarly(o);
    const n = this.core.tryReadInto(buf, o?.partial === true);
    if (n >= 0) return this.done(n, o);
    return this.pending(this.core.readInto(buf, { partial: o?.partial === true }), o, null);
  }

  // ------------------------------------------------------------------ writes

  /**
   * Writes `data` (strings are UTF-8) after everything written before. Resolves when its
   * bytes were handed to the transport. Don't change `data` until then. Rejects with
   * `StreamClosedError` on a closed stream and with `StreamBufferFullError` (queuing nothing)
   * when it would take the unflushed bytes past `maxWriteBufferSize`.
   */
  write(data: Uint8Array | string, callback?: () => void): Promise<void> {
    if (callback !== undefined && typeof callback !== 'function') {
      throw invalidArgType('callback must be a function');
    }
    const id = this.core.write(data);
    const p = new Promise<void>(takeResolvers);
    (this.writeHandles ??= new SettleQueue()).push(id, takenResolve, takenReject);
    releaseTaken();
    this.drain();
    if (callback !== undefined) this.attachCallback(p, callback);
    return p;
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Closes the stream (idempotent). Pending reads the buffer can satisfy resolve; a pending
   * `readUntilClose` resolves unless `error` is given; everything else pending rejects with
   * `StreamClosedError { realError: error }`. The close callback runs later, once.
   */
  close(error?: Error | null): void {
    this.core.close(error);
    this.drain();
  }

  /**
   * Sets the function called once when the stream closes, after every operation pending at
   * the close has settled and its handlers have run (never inside `close()`). Set after the
   * close, it still runs (on a later tick). `null` removes it.
   */
  setCloseCallback(callback: (() => void) | null): void {
    if (callback !== null && typeof callback !== 'function') {
      throw invalidArgType('close callback must be a function or null');
    }
    this.closeCallback = callback;
    if (callback !== null && this.closedSeen) this.scheduleCloseCallback();
  }

  /** Whether the stream is closed. */
  closed(): boolean { return this.core.closed; }
  /** Whether a read is pending. */
  reading(): boolean { return this.core.reading; }
  /** Whether written bytes are still waiting for the transport. */
  writing(): boolean { return this.core.writing; }
  /** What closed the stream (`null` while open or after a clean close). */
  get error(): Error | null { return this.core.error; }

  /** Disables Nagle's algorithm where the transport has one; a no-op elsewhere. */
  setNodelay(value: boolean): void {
    this.transport?.setNoDelay?.(value);
  }

  /** The chunks as they arrive; ends at a clean close, throws the close error otherwise. */
  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    const size = this.core.readChunkSize;
    for (;;) {
      if (this.core.closed && this.core.readBufferSize === 0) {
        if (this.core.error === null) return;
        throw new StreamClosedError(this.core.error);
      }
      let chunk: B;
      try {
        chunk = await this.readBytes(size, { partial: true });
      } catch (err) {
        // A clean close while the read waited on an empty buffer is the end of the data.
        if (err instanceof StreamClosedError && this.core.closed && this.core.error === null
          && this.core.readBufferSize === 0) return;
        throw err;
      }
      yield chunk;
    }
  }

  // ------------------------------------------------------------------ for drivers

  /**
   * Connects the facade to its transport and returns the sink the transport reports into.
   * Reads and writes issued before this wait: held writes go out now, in order.
   */
  protected attachTransport(transport: Transport): TransportSink {
    this.transport = transport;
    if (this.core.closed) {
      transport.close(this.core.error);
      return this.sink;
    }
    const held = this.heldWrites;
    this.heldWrites = [];
    for (const chunks of held) transport.write(chunks, byteLengthOf(chunks));
    if (this.wantRead) transport.resume();
    return this.sink;
  }

  /**
   * The stream closed while no transport was attached (e.g. during `connect` or a TLS
   * handshake): a driver releases whatever it was setting up. Called once, from the drain.
   */
  protected closedBeforeAttach(_error: Error | null): void {}

  /** Whether a transport is attached. */
  protected get attached(): boolean { return this.transport !== null; }

  /**
   * Ends this stream's use of its transport without closing the transport (STARTTLS hands it
   * on). The stream is closed; its close callback does not run.
   */
  protected detachTransport(): void {
    this.closeCallback = null;
    this.detached = true;
    this.transport = null;
    this.core.close();
    this.drain();
  }

  // ------------------------------------------------------------------ internals

  /** Carries out every queued core action. Re-entrant: a nested call just continues the queue. */
  protected drain(): void {
    const core = this.core;
    for (let a: Action | undefined = core.nextAction(); a !== undefined; a = core.nextAction()) {
      switch (a.type) {
        case 'resolve-request': this.settle(a); break;
        case 'stream-chunk': this.streamChunk(a); break;
        case 'want-read':
          this.wantRead = true;
          this.transport?.resume();
          break;
        case 'pause-read':
          this.wantRead = false;
          this.transport?.pause();
          break;
        case 'write-these':
          if (this.transport !== null) this.transport.write(a.chunks, a.byteLength);
          else if (!this.detached) this.heldWrites.push(a.chunks);
          break;
        case 'close-with-error':
          this.heldWrites = [];
          if (this.transport !== null) this.transport.close(a.error);
          else if (!this.detached) this.closedBeforeAttach(a.error);
          break;
        case 'closed':
          this.closedSeen = true;
          if (this.closeCallback !== null) this.scheduleCloseCallback();
          break;
      }
    }
  }

  private settle(a: ResolveRequestAction): void {
    if (a.id === this.readId) {
      const resolve = this.readResolve as (v: unknown) => void;
      const reject = this.readReject as (e: unknown) => void;
      this.clearRead();
      if (a.error !== undefined) reject(a.error);
      else resolve(a.value);
      return;
    }
    this.writeHandles?.settle(a.id, a.error);
  }

  private streamChunk(a: StreamChunkAction): void {
    const cb = this.readStreaming;
    if (cb === null || a.id !== this.readId) return;
    const data = a.data;
    // Never inside the call that started the read, and in arrival order: a microtask per
    // chunk keeps both (the read's own settlement is queued after its chunks).
    queueMicrotask(() => { this.callUser(cb, data); });
  }

  private pending<T>(id: number, o: ReadOptions<T> | undefined, streaming: ((chunk: B) => void) | null): Promise<T> {
    const p = new Promise<T>(takeResolvers);
    this.readResolve = takenResolve;
    this.readReject = takenReject;
    releaseTaken();
    this.readId = id;
    this.readStreaming = streaming as ((chunk: Uint8Array) => void) | null;
    const signal = o?.signal;
    if (signal !== undefined) {
      this.readSignal = signal;
      signal.addEventListener('abort', (this.abortListener ??= () => { this.abortRead(); }), { once: true });
    }
    if (this.core.hasActions) this.drain();
    if (o?.callback !== undefined) this.attachCallback(p, o.callback);
    return p;
  }

  private done<T>(value: T, o: ReadOptions<T> | undefined): Promise<T> {
    if (this.core.hasActions) this.drain(); // consuming may have resumed read-ahead
    if (o !== undefined && o.callback !== undefined) {
      const q = (this.callbackQueue ??= []);
      q.push(o.callback, value);
      if (q.length === 2) queueMicrotask((this.callbackRunner ??= () => { this.runCallbacks(); }));
    }
    return Promise.resolve(value);
  }

  /**
   * Runs queued read callbacks back to back. A callback that starts a read the buffer can
   * satisfy appends to the queue being run, so a protocol loop over buffered data costs no
   * promise reaction per read, and no callback ever runs inside the call that started its read.
   */
  private runCallbacks(): void {
    const q = this.callbackQueue as unknown[];
    let i = 0;
    // One try around the loop, not one per callback: a callback that throws closes the stream
    // (as callUser does) and the callbacks of reads already completed still run.
    while (i < q.length) {
      try {
        for (; i < q.length; i += 2) (q[i] as (v: unknown) => void)(q[i + 1]);
      } catch (err) {
        i += 2;
        this.close(asError(err));
      }
    }
    q.length = 0;
  }

  private abortedEarly<T>(o: ReadOptions<T>): Promise<T> {
    if (this.core.reading) throw new AlreadyReadingError();
    const p = Promise.reject((o.signal as AbortSignal).reason);
    if (o.callback !== undefined) p.catch(noop);
    return p;
  }

  private abortRead(): void {
    const signal = this.readSignal;
    if (signal === null || this.readId === 0) return;
    const reject = this.readReject as (e: unknown) => void;
    this.core.cancel(this.readId);
    this.clearRead();
    reject(signal.reason);
    this.drain();
  }

  private clearRead(): void {
    this.readId = 0;
    this.readResolve = null;
    this.readReject = null;
    this.readStreaming = null;
    if (this.readSignal !== null) {
      this.readSignal.removeEventListener('abort', this.abortListener as () => void);
      this.readSignal = null;
    }
  }

  /** Runs a Tornado-4.4 callback with the result; marks the promise handled; a throw closes the stream. */
  private attachCallback<T>(p: Promise<T>, callback: (v: T) => void): void {
    p.then((v) => { this.callUser(callback, v); }, noop);
  }

  /** Runs a user callback; one that throws closes the stream with what it threw. */
  private callUser<T>(callback: (v: T) => void, value: T): void {
    try {
      callback(value);
    } catch (err) {
      this.close(asError(err));
    }
  }


  private scheduleCloseCallback(): void {
    this.schedule(() => {
      const cb = this.closeCallback;
      this.closeCallback = null;
      if (cb !== null) cb();
    });
  }
}

function readOpts<O extends ReadOptions<never>>(opts: O | undefined): O | undefined {
  if (opts === undefined) return undefined;
  checkObject(opts, 'read options', false);
  const o = opts as unknown as ReadOptions<unknown> & { streamingCallback?: unknown; partial?: unknown };
  if (o.callback !== undefined && typeof o.callback !== 'function') throw invalidArgType('callback must be a function');
  if (o.streamingCallback !== undefined && typeof o.streamingCallback !== 'function') {
    throw invalidArgType('streamingCallback must be a function');
  }
  if (o.partial !== undefined && typeof o.partial !== 'boolean') throw invalidArgType('partial must be a boolean');
  const s = o.signal as unknown;
  if (s !== undefined && (typeof s !== 'object' || s === null || typeof (s as AbortSignal).addEventListener !== 'function'
    || typeof (s as AbortSignal).aborted !== 'boolean')) {
    throw invalidArgType('signal must be an AbortSignal');
  }
  return opts;
}

function byteLengthOf(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

/** A thrown value as an Error (user code may throw anything). */
export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * What a transport reports into: forwards to the core and carries out the resulting actions.
 * One small object per stream (methods on the prototype, not closures). Ignores everything
 * after the stream detached its transport (STARTTLS).
 */
class FacadeSink implements TransportSink {
  // The stream's `detached` flag and `drain()` are private/protected: reached by element access,
  // TypeScript's sanctioned escape hatch, so they stay out of the public surface.
  constructor(private readonly core: StreamCore, private readonly stream: BaseIOStream<never>) {}

  receive(data: Uint8Array): void {
    if (this.stream['detached']) return;
    this.core.receive(data);
    this.stream['drain']();
  }

  eof(): void {
    if (this.stream['detached']) return;
    this.core.receiveEof();
    this.stream['drain']();
  }

  error(err: Error): void {
    if (this.stream['detached']) return;
    this.core.receiveError(err);
    this.stream['drain']();
  }

  written(n: number): void {
    if (this.stream['detached']) return;
    this.core.written(n);
    this.stream['drain']();
  }
}
