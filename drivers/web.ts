/**
 * `sansio-iostream/web`: a {@link BaseIOStream} over a WHATWG `ReadableStream<Uint8Array>` /
 * `WritableStream<Uint8Array>` pair — what Deno and Bun sockets, browsers' WebTransport or
 * fetch bodies, and Node's `stream.Duplex.toWeb(socket)` give. No Node built-in is imported.
 * @module sansio-iostream/web
 */
import type { StreamOptions } from '../core/stream-core.js';
import { BaseIOStream, asError } from './base.js';
import type { Transport, TransportSink } from './transport.js';
import { invalidArgType } from '../core/errors.js';

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
/**
 * A readable and a writable byte stream (structurally a `ReadableStream<Uint8Array>` and a
 * `WritableStream<Uint8Array>`, whichever typings provide them). Both are locked for the
 * stream's lifetime.
 */
export interface WebStreamPair {
  /** Where received bytes come from. */
  readable: {
    /** Locks the readable and returns its reader. */
    getReader(): ByteStreamReader;
  };
  /** Where written bytes go. */
  writable: {
    /** Locks the writable and returns its writer. */
    getWriter(): ByteStreamWriter;
  };
}

const noop = (): void => {};

/** Drives one reader and one writer on behalf of the facade. */
class WebTransport implements Transport {
  private paused = true;
  private pumping = false;
  private flushing = false;
  private readonly outbox: Uint8Array[] = [];
  /** null: open; otherwise how we were closed (an Error, or true for a clean close). */
  private closing: Error | true | null = null;
  private writerDone = false;

  constructor(private readonly reader: ByteStreamReader, private readonly writer: ByteStreamWriter,
    private readonly sink: TransportSink) {
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
        const { done, value } = await this.reader.read();
        if (this.closing !== null) return;
        if (done) {
          this.sink.eof();
          return;
        }
        if (!(value instanceof Uint8Array)) {
          throw invalidArgType(`readable produced a ${value === null ? 'null' : typeof value} chunk, expected Uint8Array`);
        }
        if (value.length > 0) this.sink.receive(value);
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.pumping = false;
    }
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.outbox.length > 0 && !this.writerDone) {
        await this.writer.ready;
        if (this.writerDone) return;
        const chunk = this.outbox.shift() as Uint8Array;
        // Not awaited: writes queue in order inside the stream; `ready` is the backpressure.
        this.writer.write(chunk).then(
          () => { if (this.closing === null) this.sink.written(chunk.length); },
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

  private fail(err: unknown): void {
    if (this.closing !== null) return;
    this.sink.error(asError(err));
  }
}

/**
 * A stream over WHATWG web streams. Reads resolve with `Uint8Array`. `setNodelay` is a no-op.
 * Create it with {@link WebIOStream.fromStreams}.
 */
export class WebIOStream extends BaseIOStream<Uint8Array> {
  /**
   * Wraps `streams` (locking both). Reading is pulled only while the stream wants bytes, so an
   * unread peer is held back by the readable's own backpressure. A clean `close()` flushes what
   * was written, closes the writable, then cancels the readable; `close(err)` aborts the
   * writable and cancels the readable with `err`. The readable's end is a clean close (peer EOF).
   */
  static fromStreams(streams: WebStreamPair, options: StreamOptions = {}): WebIOStream {
    return new WebIOStream(streams, options);
  }

  /** Same as {@link WebIOStream.fromStreams}. */
  constructor(streams: WebStreamPair, options: StreamOptions = {}) {
    if (typeof streams !== 'object' || streams === null) throw invalidArgType('streams must be { readable, writable }');
    const { readable, writable } = streams;
    if (typeof readable?.getReader !== 'function') throw invalidArgType('streams.readable must be a ReadableStream');
    if (typeof writable?.getWriter !== 'function') throw invalidArgType('streams.writable must be a WritableStream');
    super(options);
    // Locks are taken only after every check passed, so a rejected call leaves the streams usable.
    const reader = readable.getReader();
    let writer: ByteStreamWriter;
    try {
      writer = writable.getWriter();
    } catch (err) {
      reader.releaseLock();
      throw err;
    }
    this.attachTransport(new WebTransport(reader, writer, this.sink));
  }
}
