/**
 * `WebIOStream`: a {@link BaseIOStream} over a WHATWG `ReadableStream<Uint8Array>` /
 * `WritableStream<Uint8Array>` pair, driven by a {@link WebTransport}.
 */
import type { StreamOptions } from '../../core/options.js';
import { BaseIOStream } from '../facade/base-iostream.js';
import { invalidArgType } from '../../core/errors.js';
import { WebTransport, type ByobStreamReader, type ByteStreamWriter, type ByteStreamReader } from './web-transport.js';

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
    const { reader, byob } = openReader(readable);
    let writer: ByteStreamWriter;
    try {
      writer = writable.getWriter();
    } catch (err) {
      reader.releaseLock();
      throw err;
    }
    this.attachTransport(new WebTransport(reader, writer, this.sink, byob));
  }
}

/**
 * A BYOB reader where `readable` is a byte stream (reads then go into memory the transport
 * reuses), a default reader otherwise. `getReader({ mode: 'byob' })` throws a TypeError on a
 * stream that is not a byte stream; a structural readable that ignores the option and returns a
 * default reader is used as one.
 */
function openReader(readable: WebStreamPair['readable']): { reader: ByteStreamReader | ByobStreamReader; byob: boolean } {
  const Byob = (globalThis as { ReadableStreamBYOBReader?: abstract new (...args: never[]) => object }).ReadableStreamBYOBReader;
  if (typeof Byob === 'function') {
    let r: unknown;
    try {
      r = (readable.getReader as (options: { mode: 'byob' }) => unknown).call(readable, { mode: 'byob' });
    } catch {
      r = undefined; // not a byte stream (or locked: getReader() below throws that again)
    }
    if (r instanceof Byob) return { reader: r as unknown as ByobStreamReader, byob: true };
    if (r !== undefined) return { reader: r as ByteStreamReader, byob: false };
  }
  return { reader: readable.getReader(), byob: false };
}
