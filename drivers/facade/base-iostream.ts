/**
 * `BaseIOStream`: the promise/callback facade every driver returns. It owns a
 * {@link StreamCore}, turns user calls into core inputs, and carries out the core's actions on
 * a {@link Transport}. Drivers only adapt a transport; everything else lives here, once. The
 * read options and their checks are in `read-options.ts`, the pending read's handle (promise,
 * callback, signal) in `pending-read.ts`, the sink a transport reports into in
 * `facade-sink.ts`, the record iterator in `record-iterator.ts`, the chunk iterator in
 * `chunk-iterator.ts`.
 *
 * No Node built-in is imported here: the memory and web drivers ship this file to browsers.
 *
 * Longer than ~400 lines, on purpose: this is the public surface of every stream — each read
 * with its three overloads and its TSDoc, the writes, the lifecycle — and what stays here is
 * only that plus the drain of the core's actions. The machinery behind it is in the files
 * named above; a new concept goes in a file of its own, not here.
 */
import { AlreadyReadingError, invalidArgType } from '../../core/errors.js';
import type { StreamCoreOptions, StreamOptions } from '../../core/options.js';
import { StreamCore } from '../../core/stream-core.js';
import type { Action, ResolveRequestAction } from '../../core/actions.js';
import { checkBoolean, checkBuffer, checkDelimiter, checkMaxBytes, checkObject, checkRegex, checkSize } from '../../core/validate.js';
import { chunksOf } from './chunk-iterator.js';
import type { SinkOwner } from './facade-sink.js';
import { checkedTransport, newSink } from './contract-check.js';
import { PendingRead, type ReadOwner } from './pending-read.js';
import { newPromise, release, taken } from './promise-slots.js';
import {
  checkSignal, readOpts, type DriverHooks, type WithCallback, type WithoutCallback, type ReadBytesOptions, type ReadIntoOptions, type ReadOptions,
  type ReadUntilCloseOptions, type ReadUntilOptions, type RecordIterOptions, type RecordEachOptions,
} from './read-options.js';
import { RecordIterator } from './record-iterator.js';
import { SettleQueue } from './settle-queue.js';
import { macrotask, rethrowLater, type Scheduler, type Transport, type TransportSink } from './transport.js';

export type {
  DriverHooks, ReadBytesOptions, ReadIntoOptions, ReadOptions, ReadUntilCloseOptions, ReadUntilOptions, RecordEachOptions,
  RecordIterOptions,
} from './read-options.js';

const noop = (): void => {};

/**
 * A buffered, promise-based byte stream with Tornado's `BaseIOStream` behaviour.
 *
 * Reads (`readBytes`, `readUntil`, `readUntilRegex`, `readUntilClose`, `readInto`) return
 * promises, or take a Tornado-4.4 `callback` and return `undefined`; `readUntilIter` / `lines`
 * iterate over delimited records. Only one read may be pending at a time. Writes may be issued
 * at any time and are sent in order. Misuse throws synchronously and changes nothing; anything
 * that happens on the transport is reported through promises, `error` and the close callback —
 * never as an unhandled rejection or an uncaught exception.
 *
 * @typeParam B - the byte type reads resolve with (`Buffer` on Node drivers).
 */
export class BaseIOStream<B extends Uint8Array = Uint8Array> implements AsyncIterable<B>, AsyncDisposable {
  /** The state machine behind this stream. For drivers and diagnostics. */
  protected readonly core: StreamCore;
  private transport: Transport | null = null;
  private readonly schedule: Scheduler;
  private wantRead = false;
  /**
   * A drain (or the attach) is running: a transport event reported inside it comes from a call
   * of ours into the transport, so it must not run a read callback at once (`deliver`).
   */
  private draining = false;
  /** Batches the core asked to write before a transport was attached (made on first use). */
  private heldWrites: Uint8Array[][] | null = null;
  private detached = false;

  /** The pending read's handle (at most one read; no object per read). */
  private readonly pendingRead: PendingRead;
  /** A record iterator holding the reader slot between its reads. */
  private iterating: object | null = null;
  /**
   * Set by a driver whose stream cannot read at all (a write-only pipe): the error every read
   * fails with. The stream stays open; a read with a `callback` throws it synchronously.
   */
  protected readRefusal: (() => Error) | null = null;

  private writeHandles: SettleQueue | null = null;
  private closeCallback: (() => void) | null = null;
  private closedSeen = false;
  /** Wakes the `[Symbol.asyncDispose]` calls waiting for the core's `closed`. */
  private onClosed: () => void = noop;
  private closeCallbackRan = false; // one per stream
  private readonly reportError: (error: unknown, stream: object) => void;

  /**
   * The sink a driver's transport reports into. It exists from the constructor on, before any
   * transport: a driver may build its transport with it and then attach that transport
   * (`this.attachTransport(new MyTransport(port, this.sink))`); `attachTransport` returns it too.
   */
  protected readonly sink: TransportSink;

  /**
   * Creates the facade and its core. Drivers call this; users get streams from a driver.
   * @param options - the stream options (buffer limits, read chunk size)
   * @param hooks - the driver's platform hooks (result type, latin1 decoding, scheduler)
   */
  constructor(options: StreamOptions = {}, hooks: DriverHooks = {}) {
    // Checked before the spread: spreading 5 or 'x' would silently give {}.
    checkObject(options, 'options', false);
    const coreOptions: StreamCoreOptions = { ...options };
    if (hooks.alloc) coreOptions.alloc = hooks.alloc;
    if (hooks.latin1) coreOptions.latin1 = hooks.latin1;
    if (hooks.view) coreOptions.view = hooks.view;
    this.core = new StreamCore(coreOptions);
    this.schedule = hooks.schedule ?? macrotask;
    this.reportError = hooks.reportError ?? rethrowLater;
    // The sink and the read handle reach the protected drain() through their owner interfaces.
    // The driver-contract checker's sink while checks are on (contract-check.ts), chosen once here.
    this.sink = newSink(this.core, this as unknown as SinkOwner);
    this.pendingRead = new PendingRead(this.core, this as unknown as ReadOwner);
    this.drain();
  }

  // ------------------------------------------------------------------ reads

  /**
   * Reads exactly `n` bytes. With `partial`, resolves as soon as 1..n bytes are available.
   * With `streamingCallback`, the bytes go to it in arrival order and the result is empty.
   * `n = 0` resolves with an empty buffer. A non-partial `n` above `maxBufferSize` closes the
   * stream with `StreamBufferFullError`. With `callback`, returns `undefined` (see {@link ReadOptions.callback}).
   */
  readBytes(n: number, opts: WithCallback<ReadBytesOptions<B>, B>): void;
  readBytes(n: number, opts?: WithoutCallback<ReadBytesOptions<B>>): Promise<B>;
  readBytes(n: number, opts?: ReadBytesOptions<B>): Promise<B> | undefined;
  readBytes(n: number, opts?: ReadBytesOptions<B>): Promise<B> | undefined {
    checkSize(n, 'n');
    const o = readOpts(opts);
    this.checkReader();
    if (this.readRefusal !== null) return this.refused(o);
    if (o?.signal?.aborted) return this.pendingRead.abortedEarly(o);
    const streaming = o?.streamingCallback;
    const r = this.core.readBytesOrPending(n, o?.partial === true, streaming !== undefined);
    return typeof r === 'number' ? this.pendingRead.pending(r, o, streaming ?? null) : this.pendingRead.done(r as B, o);
  }

  /**
   * Reads up to and including the first `delimiter` (a string is UTF-8 encoded). With
   * `maxBytes`, more than that many bytes without a match closes the stream with
   * `UnsatisfiableReadError` (a match ending within `maxBytes` succeeds). With `callback`,
   * returns `undefined`.
   */
  readUntil(delimiter: Uint8Array | string, opts: WithCallback<ReadUntilOptions<B>, B>): void;
  readUntil(delimiter: Uint8Array | string, opts?: WithoutCallback<ReadUntilOptions<B>>): Promise<B>;
  readUntil(delimiter: Uint8Array | string, opts?: ReadUntilOptions<B>): Promise<B> | undefined;
  readUntil(delimiter: Uint8Array | string, opts?: ReadUntilOptions<B>): Promise<B> | undefined {
    const o = readOpts(opts);
    this.checkReader();
    if (this.readRefusal !== null || o?.signal?.aborted) {
      checkDelimiter(delimiter);
      checkMaxBytes(o?.maxBytes);
      return this.readRefusal !== null ? this.refused(o) : this.pendingRead.abortedEarly(o as ReadOptions<B>);
    }
    const r = this.core.readUntilOrPending(delimiter, o?.maxBytes);
    return typeof r === 'number' ? this.pendingRead.pending(r, o, null) : this.pendingRead.done(r as B, o);
  }

  /**
   * Reads up to the end of the first match of `regex` against the buffered bytes decoded as
   * latin1 (one char per byte). A match is taken as soon as it appears, so end the regex with
   * a terminator. `maxBytes` as for {@link readUntil}; the regex never sees more than
   * `maxBytes` (or `maxBufferSize`) bytes. With `callback`, returns `undefined`.
   */
  readUntilRegex(regex: RegExp | string, opts: WithCallback<ReadUntilOptions<B>, B>): void;
  readUntilRegex(regex: RegExp | string, opts?: WithoutCallback<ReadUntilOptions<B>>): Promise<B>;
  readUntilRegex(regex: RegExp | string, opts?: ReadUntilOptions<B>): Promise<B> | undefined;
  readUntilRegex(regex: RegExp | string, opts?: ReadUntilOptions<B>): Promise<B> | undefined {
    const o = readOpts(opts);
    this.checkReader();
    if (this.readRefusal !== null || o?.signal?.aborted) {
      checkRegex(regex);
      checkMaxBytes(o?.maxBytes);
      return this.readRefusal !== null ? this.refused(o) : this.pendingRead.abortedEarly(o as ReadOptions<B>);
    }
    const r = this.core.readUntilRegexOrPending(regex, o?.maxBytes);
    return typeof r === 'number' ? this.pendingRead.pending(r, o, null) : this.pendingRead.done(r as B, o);
  }

  /**
   * Reads everything until the stream closes cleanly (peer EOF or `close()`). A close caused
   * by an error rejects with `StreamClosedError { realError }` instead, leaving the bytes
   * buffered, so a truncated body never looks complete. With `callback`, returns `undefined`
   * (an error close then only closes: the callback is not called).
   */
  readUntilClose(opts: WithCallback<ReadUntilCloseOptions<B>, B>): void;
  readUntilClose(opts?: WithoutCallback<ReadUntilCloseOptions<B>>): Promise<B>;
  readUntilClose(opts?: ReadUntilCloseOptions<B>): Promise<B> | undefined;
  readUntilClose(opts?: ReadUntilCloseOptions<B>): Promise<B> | undefined {
    const o = readOpts(opts);
    this.checkReader();
    if (this.readRefusal !== null) return this.refused(o);
    if (o?.signal?.aborted) return this.pendingRead.abortedEarly(o);
    const streaming = o?.streamingCallback;
    const id = this.core.readUntilClose({ streaming: streaming !== undefined });
    return this.pendingRead.pending(id, o, streaming ?? null);
  }

  /**
   * Fills `buf` and resolves with the count (`partial`: 1..buf.length as soon as any bytes
   * are there). Bytes go into `buf` as they arrive (on Node straight from one reused receive
   * buffer: the bulk path, touching no fresh memory); an aborted or failed `readInto` gives
   * them back to the stream, so no byte is lost, though `buf` may have been written. With
   * `callback`, returns `undefined`.
   */
  readInto(buf: Uint8Array, opts: WithCallback<ReadIntoOptions, number>): void;
  readInto(buf: Uint8Array, opts?: WithoutCallback<ReadIntoOptions>): Promise<number>;
  readInto(buf: Uint8Array, opts?: ReadIntoOptions): Promise<number> | undefined;
  readInto(buf: Uint8Array, opts?: ReadIntoOptions): Promise<number> | undefined {
    checkBuffer(buf);
    const o = readOpts(opts);
    this.checkReader();
    if (this.readRefusal !== null) return this.refused(o);
    if (o?.signal?.aborted) return this.pendingRead.abortedEarly(o);
    const n = this.core.tryReadInto(buf, o?.partial === true);
    if (n >= 0) return this.pendingRead.done(n, o);
    const p = this.pendingRead.pending(this.core.readInto(buf, { partial: o?.partial === true }), o, null);
    this.transport?.bulkReadPending?.();
    return p;
  }

  /**
   * The records of the stream, one per `delimiter` (included in each, as `readUntil` returns
   * them), as an async iterator: `for await (const record of stream.readUntilIter('\r\n'))`.
   *
   * Records already buffered are served at once, without a read on the transport. The
   * iteration ends at a clean close when no full record is left; a trailing partial record
   * stays buffered (`readUntilClose()` takes it). An error close, or a limit (`maxBytes`,
   * `maxBufferSize`), rejects the pending `next()` as `readUntil` would reject. While the
   * iterator is alive it holds the reader slot: other reads throw `AlreadyReadingError`.
   * `break` (or `return()`) ends it and frees the slot; no byte is lost.
   */
  readUntilIter(delimiter: Uint8Array | string, opts?: RecordIterOptions): AsyncIterableIterator<B> {
    checkObject(opts, 'options');
    const d = checkDelimiter(delimiter);
    const max = opts?.maxBytes;
    checkMaxBytes(max);
    checkSignal(opts?.signal);
    this.checkReader();
    if (this.core.reading) throw new AlreadyReadingError();
    if (this.readRefusal !== null) throw this.readRefusal();
    const it = new RecordIterator<B>(this.core, d, max, opts?.signal, this.pendingRead.recordPort(() => { this.iterating = null; }));
    if (!it.ended) this.iterating = it;
    return it;
  }

  /** `readUntilIter('\n', opts)`: the lines of the stream, each with its `\n`. */
  lines(opts?: RecordIterOptions): AsyncIterableIterator<B> {
    return this.readUntilIter('\n', opts);
  }

  /**
   * Calls `onRecord` with every record up to and including `delimiter`, in order, as the bytes
   * that complete it arrive — readline's `'line'` shape: one long read, with no read call,
   * promise or task per record. Records already buffered go first, from a microtask (never
   * inside this call); after that each record is handed over synchronously from the transport
   * delivery that completed it. The read holds the read slot (`reading()` is true; other reads
   * throw `AlreadyReadingError`) until it ends:
   * - `onRecord` returns `false`: it resolves after that record;
   * - a clean close (peer EOF or `close()`): the complete records still buffered go out, then it
   *   resolves; an incomplete trailing record stays buffered (`readUntilClose()` takes it);
   * - `signal` aborts: it rejects with the reason;
   * - an error close, or a record longer than `maxBytes` (or `maxBufferSize`): it rejects as a
   *   `readUntil` would (`StreamClosedError { realError }`, the stream closed with a limit error);
   * - `onRecord` throws: the stream closes with what it threw and the read rejects with it.
   *
   * Stopping loses no byte: what was not handed to `onRecord` stays buffered for the next read.
   * Records are what `readUntil` returns (memory that stays valid and is never refilled).
   * `onRecord` may write to and close the stream; a new read may start once this one ended.
   */
  readUntilEach(delimiter: Uint8Array | string, onRecord: (record: B) => unknown, opts?: RecordEachOptions): Promise<void> {
    if (typeof onRecord !== 'function') throw invalidArgType('onRecord must be a function');
    checkObject(opts, 'options');
    const signal = opts?.signal;
    checkSignal(signal);
    this.checkReader();
    if (this.readRefusal !== null || signal?.aborted === true) {
      checkDelimiter(delimiter);
      checkMaxBytes(opts?.maxBytes);
      if (this.core.reading) throw new AlreadyReadingError();
      return Promise.reject(this.readRefusal !== null ? this.readRefusal() : (signal as AbortSignal).reason);
    }
    const id = this.core.readUntilEach(delimiter, opts?.maxBytes === undefined ? undefined : { maxBytes: opts.maxBytes });
    return this.pendingRead.pendingEach(id, onRecord, signal);
  }

  /** `readUntilEach('\n', onLine, opts)`: every line of the stream, each with its `\n`. */
  eachLine(onLine: (line: B) => unknown, opts?: RecordEachOptions): Promise<void> {
    return this.readUntilEach('\n', onLine, opts);
  }

  // ------------------------------------------------------------------ writes

  /**
   * Writes `data` (strings are UTF-8) after everything written before. Resolves when its
   * bytes were handed to the transport. Don't change `data` until then. Rejects only when its
   * bytes were not sent: `StreamClosedError` on a closed stream, after `close(error)` or a
   * transport failure before they were confirmed (a clean `close()` flushes them);
   * `StreamBufferFullError` (queuing nothing) past `maxWriteBufferSize`. `callback` (Tornado
   * style) runs when the promise resolves; the promise is then marked handled.
   */
  write(data: Uint8Array | string, callback?: () => void): Promise<void> {
    if (callback !== undefined && typeof callback !== 'function') {
      throw invalidArgType('callback must be a function');
    }
    const id = this.core.write(data);
    const p = newPromise<void>();
    (this.writeHandles ??= new SettleQueue()).push(id, taken.resolve, taken.reject);
    release();
    this.drain();
    if (callback !== undefined) p.then(() => { this.pendingRead.callUser(callback, undefined); }, noop);
    return p;
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Closes the stream (idempotent). Pending reads the buffer can satisfy resolve; a pending
   * `readUntilClose` resolves unless `error` is given; other pending reads reject with
   * `StreamClosedError { realError: error }`. Without `error`, earlier writes still go out (as
   * `socket.end()` does) and resolve as the transport takes them (reject if it fails first);
   * with `error`, writes not yet confirmed reject and are not sent. Later writes reject. The
   * close callback runs later, once, after all of that settled.
   */
  close(error?: Error | null): void {
    this.core.close(error);
    this.drain();
  }

  /**
   * `await using stream = ...`: closes the stream (cleanly) when the scope is left. Resolves
   * once the operations pending at the close have settled, the flushed writes included.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    if (this.closedSeen) return;
    await new Promise<void>((resolve) => { const prev = this.onClosed; this.onClosed = () => { prev(); resolve(); }; });
  }

  /**
   * Sets the function called once when the stream closes, after every operation pending at
   * the close has settled and its handlers have run (never inside `close()`). Set after the
   * close, it still runs (on a later tick), unless one already ran: one per stream. `null`
   * removes it. What it throws goes to {@link DriverHooks.reportError}.
   */
  setCloseCallback(callback: (() => void) | null): void {
    if (callback !== null && typeof callback !== 'function') {
      throw invalidArgType('close callback must be a function or null');
    }
    if (this.closeCallbackRan) return;
    this.closeCallback = callback;
    if (callback !== null && this.closedSeen) this.scheduleCloseCallback();
  }

  /** Whether the stream is closed. */
  closed(): boolean { return this.core.closed; }
  /** Whether a read is pending (or a record iterator holds the reader slot). */
  reading(): boolean { return this.core.reading || this.iterating !== null; }
  /** Whether written bytes are still waiting for the transport. */
  writing(): boolean { return this.core.writing; }
  /** What closed the stream (`null` while open or after a clean close). */
  get error(): Error | null { return this.core.error; }
  /**
   * Bytes received and not yet read (Node's `readable.readableLength`): what the next read is
   * served from. Read-only; it counts bytes that arrived, never bytes still in the transport.
   * Read-ahead keeps it near `readChunkSize` while no read is pending. A protocol that must not
   * accept pipelined input (SMTP after `STARTTLS`, before its `220`) checks it is 0.
   */
  get readableLength(): number { return this.core.readBufferSize; }

  /** Disables Nagle's algorithm where the transport has one; a no-op elsewhere. `value` must be a boolean. */
  setNodelay(value: boolean): void {
    checkBoolean(value, 'setNodelay(value)');
    this.transport?.setNoDelay?.(value);
  }

  /** The chunks as they arrive; ends at a clean close, throws the close error otherwise. */
  [Symbol.asyncIterator](): AsyncIterator<B> {
    return chunksOf(this.core, (size) => this.readBytes(size, { partial: true }));
  }

  // ------------------------------------------------------------------ for drivers

  /**
   * Connects the facade to its transport and returns the sink the transport reports into.
   * Reads and writes issued before this wait: held writes go out now, in order.
   */
  protected attachTransport(driverTransport: Transport): TransportSink {
    const transport = checkedTransport(this.sink, driverTransport);
    this.transport = transport;
    if (this.core.closed) {
      transport.close(this.core.error);
      return this.sink;
    }
    const held = this.heldWrites;
    this.heldWrites = null;
    const outer = !this.draining;
    this.draining = true;
    try {
      if (held !== null) for (const chunks of held) transport.write(chunks, byteLengthOf(chunks));
      if (this.wantRead) transport.resume();
    } finally {
      if (outer) this.draining = false;
    }
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
   * on). The stream is closed; its close callback does not run. Writes not yet confirmed
   * reject, as nothing reports them any more (`startTls` detaches only an idle stream).
   */
  protected detachTransport(): void {
    this.closeCallback = null;
    this.detached = true;
    this.transport = null;
    this.core.close();
    this.core.abandonWrites();
    this.drain();
  }

  // ------------------------------------------------------------------ internals

  /**
   * {@link drain} for a transport event (the sink calls it): when no drain is running, a read
   * callback the event completes runs at once, inside this drain, rather than from a microtask
   * (a Tornado-4.4 callback loop then costs no task per transport delivery, as a `'data'`
   * handler would). Never inside a user's call: those reach the transport from a drain.
   */
  protected deliver(): void {
    const pr = this.pendingRead;
    if (this.draining || pr.holding) {
      this.drain();
      return;
    }
    pr.delivering = true;
    try {
      this.drain();
    } finally {
      pr.delivering = false;
    }
  }

  /** Carries out every queued core action. Re-entrant: a nested call just continues the queue. */
  protected drain(): void {
    // A record handler runs inside the drain (or buffered records wait for their microtask):
    // the loop already running carries out what this call would.
    if (this.pendingRead.holding) return;
    const outer = !this.draining;
    this.draining = true;
    try {
      this.drainActions();
    } finally {
      if (outer) this.draining = false;
    }
  }

  private drainActions(): void {
    const core = this.core;
    for (let a: Action | undefined = core.nextAction(); a !== undefined; a = core.nextAction()) {
      switch (a.type) {
        case 'resolve-request': this.settle(a); break;
        case 'stream-chunk': this.pendingRead.streamChunk(a); break;
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
          else if (!this.detached) (this.heldWrites ??= []).push(a.chunks);
          break;
        case 'close-with-error':
          this.heldWrites = null;
          if (this.transport !== null) {
            this.transport.close(a.error);
          } else {
            if (!this.detached) this.closedBeforeAttach(a.error);
            core.abandonWrites(a.error); // no transport will send what a clean close would flush
          }
          break;
        case 'closed':
          this.closedSeen = true;
          if (this.closeCallback !== null) this.scheduleCloseCallback();
          this.onClosed();
          break;
      }
    }
  }

  /** Reads are refused while a record iterator holds the reader slot. */
  private checkReader(): void {
    if (this.iterating !== null) throw new AlreadyReadingError('Already reading: a record iterator holds the read slot');
  }

  /** A read on a stream that cannot read: rejected (thrown, with a callback), nothing changes. */
  private refused<T>(o: ReadOptions<T> | undefined): Promise<T> | undefined {
    const err = (this.readRefusal as () => Error)();
    if (o?.callback !== undefined) throw err;
    return Promise.reject(err);
  }

  private settle(a: ResolveRequestAction): void {
    if (a.id === this.pendingRead.id) this.pendingRead.settle(a);
    else this.writeHandles?.settle(a.id, a.error);
  }

  private scheduleCloseCallback(): void {
    this.schedule(() => {
      const cb = this.closeCallback;
      if (cb === null) return;
      this.closeCallback = null;
      this.closeCallbackRan = true;
      try {
        cb();
      } catch (err) {
        this.reportError(err, this);
      }
    });
  }
}

function byteLengthOf(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}
