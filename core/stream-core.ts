/**
 * `StreamCore`: the sans-IO state machine of one stream — bytes and requests in, actions out.
 *
 * Longer than ~400 lines, on purpose: it is one state machine, and every
 * input reads and changes the same state (the pending read, the buffer, the close state, the
 * action queue). What stands alone has a file of its own: `read-buffer.ts`,
 * `delimiter-scan.ts`, `regex-scan.ts`, `write-queue.ts`, `options.ts`, `validate.ts`,
 * `actions.ts`. Splitting the transitions across files would only pass that state around.
 */
import {
  PAUSE_READ, WANT_READ,
  type Action, type ResolveRequestAction,
} from './actions.js';
import { DelimiterScan } from './delimiter-scan.js';
import {
  AlreadyReadingError, StreamBufferFullError, StreamClosedError, UnsatisfiableReadError, invalidArgType, outOfRange,
  type BufferFullDetails,
} from './errors.js';
import type { StreamCoreOptions } from './options.js';
import { ReadBuffer, defaultAlloc, type Allocator } from './read-buffer.js';
import { RegexScan, defaultLatin1, type Latin1Decoder } from './regex-scan.js';
import {
  checkBuffer, checkDelimiter, checkMaxBytes, checkOptions, checkRegex, checkSize, toBytes,
} from './validate.js';
import { WriteQueue } from './write-queue.js';

const NONE = 0;
const BYTES = 1;
const UNTIL = 2;
const REGEX = 3;
const CLOSE = 4;
const INTO = 5;
const EACH = 6;

/**
 * Queue entries that are not actions: where the pending `readUntilEach` hands out its next
 * record (`RECORDS`, one at a time while the drain is at it, so a record leaves the buffer only
 * when it is handed out and a stop loses nothing), and where it resolves after a clean close
 * (`EachEnd`, once every complete record before it went out).
 */
const RECORDS = Object.freeze({ records: true });
class EachEnd {
  constructor(readonly id: number) {}
}
type QueueEntry = Action | typeof RECORDS | EachEnd;

/**
 * The sans-IO heart of a stream: bytes and requests in, {@link Action}s out.
 *
 * Every input is a synchronous call that runs no user code; after each, drain
 * {@link StreamCore.nextAction} until it returns `undefined`. The core never reads a clock,
 * starts a timer or touches I/O, so the same inputs always give the same actions.
 *
 * Reads come in two forms. `readX()` registers a request and returns its id; its settlement
 * comes later as a `resolve-request` action (possibly at once, in the queue). `tryReadX()` is
 * the hot path: it completes the read from the buffer right now and returns the result, or
 * returns `undefined` having changed nothing a later `readX()` could notice.
 *
 * Only one read may be pending. Bytes leave the buffer only into a completed read or a
 * streaming chunk: cancelling or closing keeps them buffered.
 */
export class StreamCore {
  /** Most bytes a read may need buffered (the option, or its default). */
  readonly maxBufferSize: number;
  /** The read-ahead high-water mark and bytes per transport read. */
  readonly readChunkSize: number;
  /** Most bytes queued unwritten before a write is refused. */
  readonly maxWriteBufferSize: number;

  private readonly buffer: ReadBuffer;
  /** Created on the first write, like the regex scanner: idle streams stay small. */
  private writeQueue: WriteQueue | null = null;
  private readonly alloc: Allocator;
  private readonly highWater: number;
  private readonly delimScan = new DelimiterScan();
  private regexScanner: RegexScan | null = null;
  private readonly latin1: Latin1Decoder;

  // The action queue: slots actionHead..actionTail-1; the array is reused, never shrunk.
  private actions: (QueueEntry | undefined)[] = [];
  private actionHead = 0;
  private actionTail = 0;
  private nextId = 1;
  private isClosed = false;
  private closeError: Error | null = null;
  /**
   * Closed cleanly with writes the transport has not confirmed yet: `closed` waits until
   * `written()` confirms them all, or the transport fails (`receiveError`, `abandonWrites`).
   */
  private flushing = false;
  private transportReading = false;

  // The pending read, as scalars (no object per read).
  private readId = 0;
  private readKind = NONE;
  private readSize = 0;
  private readPartial = false;
  private readStreaming = false;
  private readMaxBytes = -1;
  private readTarget: Uint8Array | null = null;
  /** Bytes of a pending `readInto` already copied into its target (given back if it fails). */
  private intoFilled = 0;
  private streamedAny = false;
  /** A scan a failed `tryReadUntil`/`tryReadUntilRegex` left valid for the `readX` that follows. */
  private primedScan: Uint8Array | RegExp | null = null;
  /**
   * `readUntilEach`'s queue entries: bit 0 set while its `RECORDS` entry is queued, the rest the
   * number of `EachEnd` entries (so other actions pay no type check for them). One field, and
   * the delimiter kept in `readTarget`: an idle stream should cost little (bench W6).
   */
  private eachQueue = 0;

  /**
   * A new, open stream core with nothing buffered. Its first action is `want-read`.
   * @param options - the stream options and platform hooks; bad ones throw TypeError/RangeError
   */
  constructor(options: StreamCoreOptions = {}) {
    checkOptions(options);
    this.maxBufferSize = options.maxBufferSize ?? 104857600;
    this.readChunkSize = options.readChunkSize ?? 65536;
    this.maxWriteBufferSize = options.maxWriteBufferSize ?? Infinity;
    this.alloc = options.alloc ?? defaultAlloc;
    this.buffer = new ReadBuffer(this.alloc, options.view);
    this.latin1 = options.latin1 ?? defaultLatin1;
    this.highWater = Math.min(this.readChunkSize, this.maxBufferSize);
    this.updateInterest();
  }

  // ---------------------------------------------------------------- state

  /** True once the stream is closed (by the user, EOF, or an error). */
  get closed(): boolean { return this.isClosed; }
  /** What closed the stream, or `null` (open, or a clean close). */
  get error(): Error | null { return this.closeError; }
  /** True while a read request is pending. */
  get reading(): boolean { return this.readId !== 0; }
  /** True while written bytes are not yet confirmed by `written()`. */
  get writing(): boolean { return this.writeQueue !== null && this.writeQueue.unflushed > 0; }
  /** Unread bytes buffered (those a pending `readInto` already holds included: they are not read yet). */
  get readBufferSize(): number { return this.buffer.length + this.intoFilled; }
  /** Bytes accepted by `write` and not yet confirmed. */
  get writeBufferSize(): number { return this.writeQueue === null ? 0 : this.writeQueue.unflushed; }
  /** Id of the pending read, or 0. */
  get pendingReadId(): number { return this.readId; }

  /** The next action to carry out, or `undefined` when there is none. */
  nextAction(): Action | undefined {
    for (;;) {
      const head = this.actionHead;
      if (head === this.actionTail) return undefined;
      const actions = this.actions;
      const a = actions[head] as QueueEntry;
      if (a === RECORDS) {
        // Stays at the head while it has records: the next one is taken only when asked for.
        const data = this.nextRecord();
        if (data !== undefined) return { type: 'stream-chunk', id: this.readId, data };
        this.eachQueue &= ~1;
      }
      actions[head] = undefined;
      if (head + 1 === this.actionTail) {
        this.actionHead = 0;
        this.actionTail = 0;
      } else {
        this.actionHead = head + 1;
      }
      if (a === RECORDS) continue;
      if (this.eachQueue > 1 && a instanceof EachEnd) {
        this.eachQueue -= 2;
        if (a.id === this.readId) return this.endEach();
        continue;
      }
      return a as Action;
    }
  }

  /** Whether `nextAction()` would return an action. */
  get hasActions(): boolean {
    return this.actionHead !== this.actionTail;
  }

  // ---------------------------------------------------------------- reads

  /**
   * Reads exactly `n` bytes (`partial`: 1..n as soon as any are there; `streaming`: the bytes go
   * out as `stream-chunk` actions and the result is empty).
   */
  readBytes(n: number, opts?: { partial?: boolean; streaming?: boolean }): number {
    checkSize(n, 'n');
    this.checkIdle();
    return this.register(BYTES, n, opts?.partial === true, opts?.streaming === true, -1, null);
  }

  /** {@link readBytes} completed now from the buffer, or `undefined` (nothing changed). */
  tryReadBytes(n: number, partial = false): Uint8Array | undefined {
    checkSize(n, 'n');
    this.checkIdle();
    const k = this.readyCount(n, partial);
    return k < 0 ? undefined : this.consume(k);
  }

  /**
   * A facade's hot path: {@link tryReadBytes} and, when the buffer cannot satisfy it (or the read
   * streams), {@link readBytes}, with one validation for both. Returns the bytes read now, or
   * the id of the read it registered.
   */
  readBytesOrPending(n: number, partial: boolean, streaming: boolean): Uint8Array | number {
    checkSize(n, 'n');
    this.checkIdle();
    if (!streaming) {
      const k = this.readyCount(n, partial);
      if (k >= 0) return this.consume(k);
    }
    return this.register(BYTES, n, partial, streaming, -1, null);
  }


  /** Reads up to and including the first `delimiter` (a string is UTF-8 encoded). */
  readUntil(delimiter: Uint8Array | string, opts?: { maxBytes?: number }): number {
    const d = checkDelimiter(delimiter);
    const max = checkMaxBytes(opts?.maxBytes);
    this.checkIdle();
    this.primeScan(UNTIL, d);
    this.primedScan = null;
    return this.register(UNTIL, 0, false, false, max, null);
  }

  /** {@link readUntil} completed now from the buffer, or `undefined`. */
  tryReadUntil(delimiter: Uint8Array | string, maxBytes?: number): Uint8Array | undefined {
    const d = checkDelimiter(delimiter);
    const max = checkMaxBytes(maxBytes);
    this.checkIdle();
    return this.tryMatch(UNTIL, d, max);
  }

  /**
   * {@link tryReadUntil} and, when it finds nothing, {@link readUntil}, with one validation of
   * the delimiter: the bytes of the record, or the id of the read it registered.
   */
  readUntilOrPending(delimiter: Uint8Array | string, maxBytes?: number): Uint8Array | number {
    const d = checkDelimiter(delimiter);
    const max = checkMaxBytes(maxBytes);
    this.checkIdle();
    // The common case first: the record lies in the head chunk (a line among many received).
    const v = this.buffer.takeThroughInHead(d, this.matchCap(max));
    if (v !== undefined) {
      this.afterConsume();
      return v;
    }
    return this.matchOrPending(UNTIL, d, max);
  }


  /**
   * Reads up to the end of the first match of `regex` against the buffered bytes decoded as
   * latin1. See {@link RegexScan} for how a search resumes and what it costs.
   */
  readUntilRegex(regex: RegExp | string, opts?: { maxBytes?: number }): number {
    const r = checkRegex(regex);
    const max = checkMaxBytes(opts?.maxBytes);
    this.checkIdle();
    this.primeScan(REGEX, r);
    this.primedScan = null;
    return this.register(REGEX, 0, false, false, max, null);
  }

  /** {@link readUntilRegex} completed now from the buffer, or `undefined`. */
  tryReadUntilRegex(regex: RegExp | string, maxBytes?: number): Uint8Array | undefined {
    const r = checkRegex(regex);
    const max = checkMaxBytes(maxBytes);
    this.checkIdle();
    return this.tryMatch(REGEX, r, max);
  }

  /** {@link tryReadUntilRegex} and, when it finds nothing, {@link readUntilRegex}, with one validation. */
  readUntilRegexOrPending(regex: RegExp | string, maxBytes?: number): Uint8Array | number {
    const r = checkRegex(regex);
    const max = checkMaxBytes(maxBytes);
    this.checkIdle();
    return this.matchOrPending(REGEX, r, max);
  }


  /**
   * Hands out every record up to and including `delimiter` as a `stream-chunk` action of one
   * long request, in order, as the bytes that complete it arrive (records already buffered
   * first). A record leaves the buffer only when `nextAction()` hands it out, so `cancel(id)`
   * between two records leaves the rest buffered, byte for byte. `maxBytes` bounds each record
   * as it bounds a `readUntil`. The request settles (with no value) at a clean close once the
   * complete records are out, the incomplete rest staying buffered; it rejects on an error
   * close or a limit, like `readUntil`.
   */
  readUntilEach(delimiter: Uint8Array | string, opts?: { maxBytes?: number }): number {
    const d = checkDelimiter(delimiter);
    const max = checkMaxBytes(opts?.maxBytes);
    this.checkIdle();
    this.delimScan.reset(d);
    this.primedScan = null;
    return this.register(EACH, 0, false, false, max, d);
  }

  /**
   * Reads everything until the stream closes cleanly (`streaming`: as `stream-chunk` actions).
   * An error close rejects it and leaves the bytes buffered.
   */
  readUntilClose(opts?: { streaming?: boolean }): number {
    this.checkIdle();
    return this.register(CLOSE, 0, false, opts?.streaming === true, -1, null);
  }

  /**
   * Fills `buf` (`partial`: with 1..buf.length bytes as soon as any are there); the result is
   * the count. Bytes are copied into `buf` as they arrive (straight from a
   * {@link receiveTransient} view: the bulk path), and a read that is cancelled or fails gives
   * the bytes it holds back to the buffer, so nothing is lost (`buf`'s content is then
   * unspecified). A non-partial `buf.length` must fit in `maxBufferSize`.
   */
  readInto(buf: Uint8Array, opts?: { partial?: boolean }): number {
    checkBuffer(buf);
    this.checkIdle();
    return this.register(INTO, buf.length, opts?.partial === true, false, -1, buf);
  }

  /** {@link readInto} completed now from the buffer: the count, or -1. */
  tryReadInto(buf: Uint8Array, partial = false): number {
    checkBuffer(buf);
    this.checkIdle();
    const k = this.readyCount(buf.length, partial);
    if (k > 0) {
      this.buffer.copyOut(buf, 0, k);
      this.afterConsume();
    }
    return k;
  }


  /**
   * Abandons pending read `id`: its slot is freed, nothing is settled (the caller settles its
   * own handle), and every byte stays buffered. Returns whether `id` was the pending read.
   */
  cancel(id: number): boolean {
    if (id === 0 || id !== this.readId) return false;
    this.returnInto();
    this.clearRead();
    this.updateInterest();
    return true;
  }

  // ---------------------------------------------------------------- writes

  /**
   * Queues `data` (a string is UTF-8 encoded) for the transport; it settles when the transport
   * confirmed all its bytes through `written()`. The core keeps a reference: the caller must
   * not change `data` until then. On a closed stream, or past `maxWriteBufferSize`, the write is
   * refused: a rejecting `resolve-request` is queued and nothing else changes.
   *
   * A write rejects only when its bytes were not confirmed: a clean close still flushes it (see
   * {@link close}); an error close, or a transport failure before the confirmation, rejects it.
   */
  write(data: Uint8Array | string): number {
    const bytes = toBytes(data, 'data');
    const id = this.nextId++;
    if (this.isClosed) {
      this.push({ type: 'resolve-request', id, error: new StreamClosedError(this.closeError) });
      return id;
    }
    if (this.writes.unflushed + bytes.length > this.maxWriteBufferSize) {
      this.push({
        type: 'resolve-request', id,
        error: new StreamBufferFullError(
          `Write of ${bytes.length} bytes would exceed maxWriteBufferSize (${this.maxWriteBufferSize}; ${this.writes.unflushed} unflushed)`,
          { option: 'maxWriteBufferSize', limit: this.maxWriteBufferSize, bytes: this.writes.unflushed + bytes.length }),
      });
      return id;
    }
    const batch = this.writes.add(id, bytes);
    if (batch !== undefined) this.pushWrite(batch);
    else this.settleWrites();
    return id;
  }

  /**
   * The transport took `n` more bytes of what `write-these` handed it. Still counts after a
   * clean close, until every flushed write is confirmed (then `closed` follows); ignored after
   * an error close.
   */
  written(n: number): void {
    checkSize(n, 'n');
    if (this.isClosed && !this.flushing) return;
    const inFlight = this.writeQueue === null ? 0 : this.writeQueue.inFlight;
    if (n > inFlight) {
      throw outOfRange(`written(${n}) exceeds the ${inFlight} bytes in flight`);
    }
    const writes = this.writeQueue as WriteQueue;
    const batch = writes.written(n);
    this.settleWrites();
    if (batch !== undefined) this.pushWrite(batch);
    if (this.flushing && !writes.pending) {
      this.flushing = false;
      this.push({ type: 'closed', error: this.closeError });
    }
  }

  // ---------------------------------------------------------------- transport events

  /** Bytes arrived from the transport. The core keeps the reference: don't reuse `data`. */
  receive(data: Uint8Array): void {
    checkBuffer(data, 'data');
    if (this.isClosed || data.length === 0) return;
    this.buffer.push(data);
    if (this.readId !== 0) this.progress();
    this.updateInterest();
  }

  /**
   * Bytes arrived in memory the transport reuses (a receive buffer shared by its streams):
   * `data` is valid only during this call. The core copies what it keeps — straight into a
   * pending `readInto` target where there is one, so a loop of `readInto` over one buffer
   * touches no fresh memory; the rest into a new array (`alloc`), so every other read's result
   * is still memory that is never refilled. Same results as {@link receive} for the same bytes.
   */
  receiveTransient(data: Uint8Array): void {
    checkBuffer(data, 'data');
    const n = data.length;
    if (this.isClosed || n === 0) return;
    // A pending readInto has taken every buffered byte already (progress), so these come next.
    const taken = this.readKind === INTO && this.buffer.length === 0 ? this.fillInto(data) : 0;
    if (taken < n) {
      const kept = this.alloc(n - taken);
      kept.set(taken === 0 ? data : data.subarray(taken));
      this.buffer.push(kept);
      if (this.readId !== 0) this.progress();
    }
    this.updateInterest();
  }

  /** The peer closed its side: a clean close. */
  receiveEof(): void {
    this.closeWith(null);
  }

  /**
   * The transport failed: the stream closes with `error` (sticky: every later operation gets it).
   * After a clean close whose flush is still running, the flush fails: the writes not confirmed
   * reject with `StreamClosedError { realError: error }`, `error` becomes the stream's error
   * (when it was `null`), and `closed` follows. Ignored once nothing is waiting.
   */
  receiveError(error: Error): void {
    if (!(error instanceof Error)) throw invalidArgType('receiveError expects an Error');
    if (this.isClosed) {
      if (this.flushing) {
        if (this.closeError === null) this.closeError = error;
        this.endFlush(error);
      }
      return;
    }
    this.closeWith(error);
  }

  /**
   * Nothing handed to the transport will be confirmed any more, and nothing went wrong on it:
   * there was no transport (the stream closed before it was attached) or it was handed on
   * (STARTTLS). On a closed stream, every write not yet confirmed rejects with
   * `StreamClosedError { realError: error }` and a flush waiting for them ends (`closed`
   * follows); the stream's `error` does not change. Does nothing on an open stream.
   */
  abandonWrites(error: Error | null = null): void {
    if (this.flushing) this.endFlush(error);
  }

  /**
   * Closes the stream (idempotent). Pending reads the buffer can satisfy resolve, a pending
   * `readUntilClose` resolves when `error` is absent, every other pending read rejects with
   * `StreamClosedError { realError: error }`. Queues `close-with-error` then `closed`.
   *
   * Writes: a clean close (no `error`) flushes them: writes still queued are handed over at
   * once in one more `write-these` (before `close-with-error`), each resolves as `written()`
   * confirms its bytes, and `closed` comes only after the last one settled (resolved, or
   * rejected when the transport fails first: {@link receiveError}). With `error`, every write
   * not yet confirmed rejects now and `closed` follows at once. A peer's EOF closes cleanly;
   * a read that breaks a limit closes with the limit error.
   */
  close(error?: Error | null): void {
    if (error !== undefined && error !== null && !(error instanceof Error)) {
      throw invalidArgType('close(error) expects an Error, null or undefined');
    }
    this.closeWith(error ?? null);
  }

  // ---------------------------------------------------------------- internals

  // Created on first use: most streams never read with a regex, and an idle stream (10,000 may
  // wait with a pending read) should not carry a write queue either.
  private get writes(): WriteQueue {
    return (this.writeQueue ??= new WriteQueue(this.alloc));
  }

  private get regexScan(): RegexScan {
    return (this.regexScanner ??= new RegexScan(this.latin1));
  }

  /**
   * How many bytes a read of `want` (`partial`: 1..want) can take from the buffer now, or -1.
   * The one place that decides it for `readBytes` and `readInto`, pending or tried at once, so
   * the answer cannot depend on how the bytes were split.
   */
  private readyCount(want: number, partial: boolean): number {
    const have = this.buffer.length;
    if (want === 0) return 0;
    if (partial) return have === 0 ? -1 : have < want ? have : want;
    return want <= this.maxBufferSize && have >= want ? want : -1;
  }

  /** Starts the search for `key`, unless a failed try left one primed for that very key. */
  private primeScan(kind: number, key: Uint8Array | RegExp): void {
    if (this.primedScan === key) return;
    if (kind === UNTIL) this.delimScan.reset(key as Uint8Array);
    else this.regexScan.reset(key as RegExp);
  }

  /**
   * The most bytes a `readUntil`/`readUntilRegex` with `maxBytes` (-1: none) may look at: the
   * smaller of `maxBytes` and `maxBufferSize`. A match must end within it, and more than that
   * buffered without one fails the read — with {@link UnsatisfiableReadError} when `maxBytes`
   * is the binding limit, {@link StreamBufferFullError} otherwise. Taking the smaller limit as
   * the one that decides makes the outcome independent of how the bytes were split: a chunk
   * that jumps past both limits at once fails the same way as bytes crossing them one by one.
   */
  private matchCap(maxBytes: number): number {
    return maxBytes >= 0 && maxBytes < this.maxBufferSize ? maxBytes : this.maxBufferSize;
  }

  /**
   * End (exclusive) of the first match of the current delimiter or regex search, or -1. A
   * regex sees at most `cap` bytes (its cost is bounded by them); a delimiter match, which no
   * later byte can change, is searched for in the whole buffer and judged against `cap` after.
   */
  private findMatch(kind: number, cap: number): number {
    return kind === UNTIL ? this.delimScan.find(this.buffer) : this.regexScan.find(this.buffer, cap);
  }

  /** `tryReadUntil`/`tryReadUntilRegex`: the match taken now, or undefined with the scan left primed. */
  private tryMatch(kind: number, key: Uint8Array | RegExp, maxBytes: number): Uint8Array | undefined {
    this.primeScan(kind, key);
    const cap = this.matchCap(maxBytes);
    const end = this.findMatch(kind, cap);
    if (end >= 0 && end <= cap) {
      this.primedScan = null;
      return this.consume(end);
    }
    this.primedScan = key;
    return undefined;
  }

  /** The match taken now, or a read registered on the scan `tryMatch` left primed (the caller checked idle). */
  private matchOrPending(kind: number, key: Uint8Array | RegExp, maxBytes: number): Uint8Array | number {
    const v = this.tryMatch(kind, key, maxBytes);
    if (v !== undefined) return v;
    this.primedScan = null;
    return this.register(kind, 0, false, false, maxBytes, null);
  }

  private checkIdle(): void {
    if (this.readId !== 0) throw new AlreadyReadingError();
  }

  private register(kind: number, size: number, partial: boolean, streaming: boolean,
    maxBytes: number, target: Uint8Array | null): number {
    const id = this.nextId++;
    this.readId = id;
    this.readKind = kind;
    this.readSize = size;
    this.readPartial = partial;
    this.readStreaming = streaming;
    this.readMaxBytes = maxBytes;
    this.readTarget = target;
    this.intoFilled = 0;
    this.streamedAny = false;
    this.progress();
    if (this.readId === id && this.isClosed) {
      // Registered on a closed stream and not satisfiable from what is left.
      if (kind === CLOSE && this.closeError === null) this.finishUntilClose();
      else if (kind === EACH && this.closeError === null) this.finishEach();
      else this.rejectRead(new StreamClosedError(this.closeError));
    }
    this.updateInterest();
    return id;
  }

  /** Tries to complete (or fail) the pending read from the buffer. */
  private progress(): void {
    const buffer = this.buffer;
    switch (this.readKind) {
      case BYTES: {
        if (this.readStreaming) {
          while (buffer.length > 0 && this.readSize > 0) {
            const chunk = buffer.takeHeadChunk(this.readSize);
            this.readSize -= chunk.length;
            this.streamedAny = true;
            this.push({ type: 'stream-chunk', id: this.readId, data: chunk });
          }
          this.afterConsume();
          if (this.readSize === 0 || (this.readPartial && this.streamedAny)) this.resolveRead(this.alloc(0));
          return;
        }
        const n = this.readSize;
        if (!this.readPartial && n > this.maxBufferSize) {
          // Fails however the bytes were split, even if read-ahead already holds them.
          this.fail(new StreamBufferFullError(
            `readBytes(${n}) needs more than maxBufferSize (${this.maxBufferSize}) bytes buffered`, this.overBuffer(n)));
          return;
        }
        const k = this.readyCount(n, this.readPartial);
        if (k >= 0) this.resolveRead(this.consume(k));
        return;
      }
      case UNTIL:
      case REGEX: {
        const max = this.readMaxBytes;
        const cap = this.matchCap(max);
        const end = this.findMatch(this.readKind, cap);
        if (end >= 0 && end <= cap) {
          this.resolveRead(this.consume(end));
        } else if (end > cap || buffer.length > cap) {
          const what = this.readKind === UNTIL ? 'delimiter' : 'regex match';
          const seen = end > cap ? `the match ends at ${end}` : `${buffer.length} bytes buffered`;
          this.fail(cap === max
            ? new UnsatisfiableReadError(`${what} not found within maxBytes (${max}): ${seen}`)
            : new StreamBufferFullError(`${what} not found within maxBufferSize (${this.maxBufferSize}): ${seen}`,
              this.overBuffer(end > cap ? end : buffer.length)));
        }
        return;
      }
      case CLOSE: {
        if (this.readStreaming) {
          this.streamAll();
        } else if (buffer.length > this.maxBufferSize) {
          this.fail(new StreamBufferFullError(
            `readUntilClose needs more than maxBufferSize (${this.maxBufferSize}) bytes buffered`, this.overBuffer(buffer.length)));
        }
        return;
      }
      case EACH: {
        // Only whether a first record is there (its entry then hands out the rest) or a limit broke.
        if ((this.eachQueue & 1) !== 0) return;
        const cap = this.matchCap(this.readMaxBytes);
        const end = this.delimScan.find(buffer);
        if (end >= 0 && end <= cap) {
          this.eachQueue |= 1;
          this.push(RECORDS);
        } else if (end > cap || buffer.length > cap) {
          this.failRecord(end, cap);
        }
        return;
      }
      case INTO: {
        const target = this.readTarget as Uint8Array;
        const want = target.length;
        if (!this.readPartial && want > this.maxBufferSize) {
          this.fail(new StreamBufferFullError(
            `readInto of ${want} bytes needs more than maxBufferSize (${this.maxBufferSize})`, this.overBuffer(want)));
          return;
        }
        if (want === 0) {
          this.resolveRead(0);
          return;
        }
        // Into the target as the bytes come (returnInto gives them back if the read fails).
        const have = buffer.length;
        if (have === 0) return;
        const filled = this.intoFilled;
        const k = have < want - filled ? have : want - filled;
        buffer.copyOut(target, filled, k);
        this.intoFilled = filled + k;
        this.afterConsume();
        if (this.readPartial || this.intoFilled === want) this.resolveRead(this.intoFilled);
        return;
      }
      default:
        return;
    }
  }

  /**
   * The pending `readUntilEach`'s next record when its turn has come (the queue's head hands
   * out records) and one is complete: what `nextAction()` would return as a `stream-chunk`
   * action, without the action. A driver that just handled a record's `stream-chunk` takes the
   * rest of a delivery's records this way, in a loop of its own; `undefined` otherwise (then
   * `nextAction()` goes on with the rest of the queue).
   */
  takeRecord(): Uint8Array | undefined {
    const head = this.actionHead;
    if (head === this.actionTail || this.actions[head] !== RECORDS) return undefined;
    return this.nextRecord();
  }

  /**
   * The pending `readUntilEach`'s next record, taken out of the buffer now, or `undefined` when
   * no complete one is buffered (after failing the read if the rest breaks the limit).
   */
  private nextRecord(): Uint8Array | undefined {
    if (this.readKind !== EACH) return undefined;
    const d = this.readTarget as Uint8Array; // the delimiter, for EACH
    const cap = this.matchCap(this.readMaxBytes);
    const buffer = this.buffer;
    // The common case: the record lies in the head chunk (one search, one view).
    let data = buffer.takeThroughInHead(d, cap);
    if (data === undefined) {
      const end = this.delimScan.find(buffer);
      if (end < 0 || end > cap) {
        if (end > cap || buffer.length > cap) this.failRecord(end, cap);
        return undefined;
      }
      data = buffer.take(end);
    }
    // The head moved: a search for the next record starts at it.
    this.delimScan.reset(d);
    return data;
  }

  /** A record of the pending `readUntilEach` breaks its limit (see `progress`, UNTIL). */
  private failRecord(end: number, cap: number): void {
    const max = this.readMaxBytes;
    const seen = end > cap ? `the record ends at ${end}` : `${this.buffer.length} bytes buffered`;
    this.fail(cap === max
      ? new UnsatisfiableReadError(`delimiter not found within maxBytes (${max}): ${seen}`)
      : new StreamBufferFullError(`delimiter not found within maxBufferSize (${this.maxBufferSize}): ${seen}`));
  }

  /**
   * A clean close with a `readUntilEach` pending: its complete records still go out (its
   * `RECORDS` entry, queued unless it already is), then it resolves at an `EachEnd` entry.
   */
  private finishEach(): void {
    if ((this.eachQueue & 1) === 0) {
      this.eachQueue |= 1;
      this.push(RECORDS);
    }
    this.eachQueue += 2;
    this.push(new EachEnd(this.readId));
  }

  /** The `EachEnd` of the pending read was reached: it resolves, with no value. */
  private endEach(): ResolveRequestAction {
    const id = this.readId;
    this.clearRead();
    return { type: 'resolve-request', id };
  }

  private streamAll(): void {
    const buffer = this.buffer;
    while (buffer.length > 0) {
      this.push({ type: 'stream-chunk', id: this.readId, data: buffer.takeHeadChunk(buffer.length) });
    }
    this.afterConsume();
  }

  private finishUntilClose(): void {
    if (this.readStreaming) {
      this.streamAll();
      this.resolveRead(this.alloc(0));
    } else {
      this.resolveRead(this.consume(this.buffer.length));
    }
  }

  /**
   * A read that can never succeed because of a limit: close with `error`. On a stream that is
   * closed already the read is decided the same way — the buffer decides first, the closed
   * state after — so the outcome does not depend on whether EOF was processed before the read
   * was issued: the rejection carries `error`, and a clean close becomes a close with `error`.
   */
  private fail(error: Error): void {
    if (!this.isClosed) {
      this.closeWith(error);
      return;
    }
    if (this.closeError === null) this.closeError = error;
    this.rejectRead(new StreamClosedError(error));
  }

  private closeWith(error: Error | null): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeError = error;
    this.transportReading = false;
    if (this.readId !== 0) {
      if (this.readKind === CLOSE && error === null) this.finishUntilClose();
      else if (this.readKind === EACH && error === null) this.finishEach();
      else this.rejectRead(new StreamClosedError(error));
    }
    const writes = this.writeQueue;
    if (writes !== null && writes.pending) {
      if (error === null) {
        // Flush: nothing comes after these, so the outbox need not wait for the batch in flight.
        const batch = writes.flushAll();
        if (batch !== undefined) this.pushWrite(batch);
        this.flushing = writes.pending;
      } else {
        this.rejectWrites(error);
      }
    }
    this.push({ type: 'close-with-error', error });
    if (!this.flushing) this.push({ type: 'closed', error });
  }

  /** A clean close's flush is over without every write confirmed: reject the rest, then `closed`. */
  private endFlush(error: Error | null): void {
    this.flushing = false;
    this.rejectWrites(error);
    this.push({ type: 'closed', error: this.closeError });
  }

  /** Rejects every write not yet confirmed; the transport's confirmations no longer count. */
  private rejectWrites(error: Error | null): void {
    const ids = (this.writeQueue as WriteQueue).drainAll();
    for (let i = 0; i < ids.length; i++) {
      this.push({ type: 'resolve-request', id: ids[i] as number, error: new StreamClosedError(error) });
    }
  }

  private consume(n: number): Uint8Array {
    const out = this.buffer.take(n);
    this.afterConsume();
    return out;
  }

  /** Bytes left the buffer: scans primed on the old head are void, read-ahead may resume. */
  private afterConsume(): void {
    this.primedScan = null;
    if (!this.transportReading && this.readId === 0) this.updateInterest();
  }

  private resolveRead(value: Uint8Array | number): void {
    const id = this.readId;
    this.clearRead();
    this.push({ type: 'resolve-request', id, value });
  }

  private rejectRead(error: Error): void {
    const id = this.readId;
    this.returnInto();
    this.clearRead();
    this.push({ type: 'resolve-request', id, error });
  }

  /** The details of a read's StreamBufferFullError: it needed `bytes` buffered. */
  private overBuffer(bytes: number): BufferFullDetails {
    return { option: 'maxBufferSize', limit: this.maxBufferSize, bytes };
  }

  private clearRead(): void {
    this.readId = 0;
    this.readKind = NONE;
    this.readTarget = null;
    this.intoFilled = 0;
  }

  /**
   * Copies `data` (the head of what arrived) into the pending `readInto` target after the bytes
   * it holds, and completes the read when that satisfies it. Returns how many bytes it took.
   */
  private fillInto(data: Uint8Array): number {
    const target = this.readTarget as Uint8Array;
    const filled = this.intoFilled;
    const room = target.length - filled;
    const k = data.length < room ? data.length : room;
    target.set(k === data.length ? data : data.subarray(0, k), filled);
    this.intoFilled = filled + k;
    if (this.readPartial || this.intoFilled === target.length) this.resolveRead(this.intoFilled);
    return k;
  }

  /**
   * A pending `readInto` that ends without completing (cancelled, closed, failed) gives back the
   * bytes it holds: they become the buffer's head again. The buffer is empty then — while a
   * `readInto` is pending, every arriving byte goes into its target — so a push keeps the order.
   */
  private returnInto(): void {
    const filled = this.intoFilled;
    if (filled === 0 || this.readKind !== INTO) return;
    this.intoFilled = 0;
    const back = this.alloc(filled);
    back.set((this.readTarget as Uint8Array).subarray(0, filled));
    this.buffer.push(back);
  }

  /** Emits want-read / pause-read on a change of whether the transport should deliver bytes. */
  private updateInterest(): void {
    if (this.isClosed) return;
    const want = this.readId !== 0 || this.buffer.length < this.highWater;
    if (want !== this.transportReading) {
      this.transportReading = want;
      this.push(want ? WANT_READ : PAUSE_READ);
    }
  }

  private pushWrite(chunks: Uint8Array[]): void {
    let byteLength = 0;
    for (let i = 0; i < chunks.length; i++) byteLength += (chunks[i] as Uint8Array).length;
    this.push({ type: 'write-these', chunks, byteLength });
    this.settleWrites();
  }

  private settleWrites(): void {
    const writes = this.writeQueue as WriteQueue;
    for (let id = writes.nextCompleted(); id !== 0; id = writes.nextCompleted()) {
      this.push({ type: 'resolve-request', id });
    }
  }

  private push(action: QueueEntry): void {
    if (this.actionTail === this.actions.length) this.actions.push(action);
    else this.actions[this.actionTail] = action;
    this.actionTail++;
  }
}
