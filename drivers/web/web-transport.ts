/**
 * The {@link Transport} over one WHATWG reader and writer: reads are pulled only while the
 * stream wants bytes (so an unread peer is held back by the readable's own backpressure),
 * writes wait for `writer.ready`, and a clean close flushes, closes the writer, then cancels
 * the reader.
 *
 * A byte stream (`type: 'bytes'`, such as Deno's `conn.readable` or a `fetch` body) is read with
 * a BYOB reader into memory the transport reuses: each read fills the buffer the previous read
 * gave back, and the stream gets it as a view valid only during the call
 * (`TransportSink.receiveTransient`), so bulk reads (`readInto`) touch no fresh memory. The
 * buffer is one per stream, not per process: a BYOB read in flight owns (has transferred) its
 * buffer. It starts at 8 KiB and doubles, up to 64 KiB, each time a read fills it, so a stream
 * that only ever waits for small messages holds little. Other streams use a default reader.
 */
import { asError } from '../../core/errors.js';
import type { Transport, TransportSink } from '../facade/transport.js';
import { invalidArgType } from '../../core/errors.js';

/** The part of a `ReadableStreamDefaultReader<Uint8Array>` the driver uses. */
export interface ByteStreamReader {
  /** The next chunk, or `done: true` at the end of the stream (a clean close for the driver). */
  read(): Promise<{
    /** True once the stream has ended; `value` is then absent. */
    done: boolean;
    /** The chunk; anything but a `Uint8Array` closes the stream with a `TypeError`. */
    value?: Uint8Array | undefined;
  }>;
  /** Ends reading (called with the error on an error close, without one after a clean close). */
  cancel(reason?: unknown): Promise<void>;
  /** Gives the lock back; used only when the constructor fails after taking it. */
  releaseLock(): void;
  /** Settles when the stream closes or errors; the driver only silences its rejection. */
  readonly closed: Promise<unknown>;
}
/** The part of a `ReadableStreamBYOBReader` the driver uses (a byte stream's). */
export interface ByobStreamReader extends Omit<ByteStreamReader, 'read'> {
  /** Fills (part of) `view`'s memory, transferring it: the result's `value` is a new view on it. */
  read(view: Uint8Array): ReturnType<ByteStreamReader['read']>;
}

/** The first and the largest size of a BYOB transport's receive buffer. */
const BYOB_START = 8 * 1024;
const BYOB_MAX = 64 * 1024;

/** The part of a `WritableStreamDefaultWriter<Uint8Array>` the driver uses. */
export interface ByteStreamWriter {
  /** Resolves when the stream wants more: the driver awaits it before each chunk (backpressure). */
  readonly ready: Promise<unknown>;
  /** Settles when the stream closes or errors; the driver only silences its rejection. */
  readonly closed: Promise<unknown>;
  /** Sends one chunk (a copy: the driver never hands out the caller's buffer); resolving confirms it written. */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the stream after the queued chunks (a clean `close()`). */
  close(): Promise<void>;
  /** Tears the stream down, dropping queued chunks (`close(error)`). */
  abort(reason?: unknown): Promise<void>;
}
const noop = (): void => {};

/** Drives one reader and one writer on behalf of the facade. */
export class WebTransport implements Transport {
  private paused = true;
  private pumping = false;
  private flushing = false;
  private readonly outbox: Uint8Array[] = [];
  /** null: open; otherwise how we were closed (an Error, or true for a clean close). */
  private closing: Error | true | null = null;
  private writerDone = false;
  /** BYOB: the memory the last read gave back (reused by the next), and the size to read. */
  private spare: ArrayBufferLike | null = null;
  private byobSize = BYOB_START;

  /**
   * @param byob - `reader` is a BYOB reader (`ByobStreamReader`): reads go into reused memory
   */
  constructor(private readonly reader: ByteStreamReader | ByobStreamReader, private readonly writer: ByteStreamWriter,
    private readonly sink: TransportSink, private readonly byob = false) {
    // Errors surface through read()/write(); these copies must not become unhandled rejections.
    reader.closed.catch(noop);
    writer.closed.catch(noop);
  }

  resume(): void {
    this.paused = false;
    if (!this.pumping && this.closing === null) void this.pump();
  }

  pause(): void {
    // The read in flight (if any) still delivers; no new one starts, so the source's own
    // queue fills and its backpressure stops the peer.
    this.paused = true;
  }

  write(chunks: readonly Uint8Array[], byteLength: number): void {
    if (this.closing !== null) return;
    // Copied: a WritableStream may keep the chunk (an identity TransformStream hands the same
    // object to the peer), while the caller may reuse its buffer once the write resolved.
    for (const c of chunks) if (c.length > 0) this.outbox.push(c.slice());
    if (byteLength === 0) return;
    if (!this.flushing) void this.flush();
  }

  close(error: Error | null): void {
    if (this.closing !== null) return;
    this.closing = error ?? true;
    if (error !== null) {
      this.outbox.length = 0;
      this.writerDone = true;
      this.writer.abort(error).catch(noop);
      this.reader.cancel(error).catch(noop);
      return;
    }
    // Clean close: what was handed over still goes out, then the writer closes. The reader is
    // cancelled only after that, because cancelling a socket-backed readable may tear down the
    // whole connection before the last bytes leave.
    if (!this.flushing) this.finishWriter();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (!this.paused && this.closing === null) {
        const { done, value } = this.byob
          ? await (this.reader as ByobStreamReader).read(this.receiveView())
          : await (this.reader as ByteStreamReader).read();
        if (this.closing !== null) return;
        if (done) {
          this.sink.eof();
          return;
        }
        if (!(value instanceof Uint8Array)) {
          throw invalidArgType(`readable produced a ${value === null ? 'null' : typeof value} chunk, expected Uint8Array`);
        }
        if (!this.byob) {
          if (value.length > 0) this.sink.receive(value);
          continue;
        }
        this.keepForNextRead(value);
        if (value.length > 0) this.sink.receiveTransient(value);
      }
    } catch (err) {
      if (this.closing === null) this.fail(err); // reading ended at the close
    } finally {
      this.pumping = false;
    }
  }

  /** The view the next BYOB read fills: over the memory the last one gave back, or new memory. */
  private receiveView(): Uint8Array {
    const memory = this.spare ?? new ArrayBuffer(this.byobSize);
    this.spare = null;
    return new Uint8Array(memory, 0, this.byobSize);
  }

  /** A BYOB read came back in `value`'s memory: reuse it, or grow when the read filled it. */
  private keepForNextRead(value: Uint8Array): void {
    if (value.length === this.byobSize && this.byobSize < BYOB_MAX) {
      this.byobSize *= 2; // the old memory goes; the next read gets a bigger buffer
      return;
    }
    this.spare = value.buffer;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.outbox.length > 0 && !this.writerDone) {
        await this.writer.ready;
        if (this.writerDone) return;
        const chunk = this.outbox.shift() as Uint8Array;
        // Not awaited: writes queue in order inside the stream; `ready` is the backpressure.
        // Reported after a clean close too: the close waits for these (or for the failure).
        this.writer.write(chunk).then(
          () => { if (!(this.closing instanceof Error)) this.sink.written(chunk.length); },
          (err: unknown) => { this.fail(err); },
        );
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.flushing = false;
    }
    if (this.closing === true) this.finishWriter();
  }

  private finishWriter(): void {
    if (this.writerDone) return;
    this.writerDone = true;
    const cancel = (): void => { this.reader.cancel().catch(noop); };
    this.writer.close().then(cancel, cancel);
  }

  /** Reports a failure, unless torn down by `close(error)` (a clean close's flush may still fail). */
  private fail(err: unknown): void {
    if (this.closing instanceof Error) return;
    this.sink.error(asError(err));
  }
}

