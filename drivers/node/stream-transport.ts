/**
 * The {@link Transport} over Node streams, shared by every Node driver: a Readable and/or a
 * Writable (a socket is one Duplex, a child process two streams, a pipe end one or the other).
 *
 * Read side: 'data' events with the Readable paused whenever the stream doesn't want bytes, so
 * Node buffers at most its high-water mark — or, for a socket reading into the shared receive
 * buffer (`reused-receive.ts`), no 'data' listener: the subclass delivers the reads itself. Write side: each batch from the core is written
 * corked and acknowledged by one write callback (Node runs write callbacks in order and never
 * inside `write()`), so at most one batch waits in the Writable (backpressure) and no closure
 * is made per write. Errors from either stream, at any time, are reported once and are never
 * uncaught. Closing is the one policy that differs: pipes end the write side and drop the read
 * side here; sockets linger (`SocketTransport`).
 */
import type { Readable, Writable } from 'node:stream';
import { invalidArgType } from '../../core/errors.js';
import { codedError, guardStream } from './node-hooks.js';
import type { Transport, TransportSink } from '../facade/transport.js';

/** The write side is gone (a child that exited, a stream someone ended or destroyed). */
export function brokenPipe(cause?: unknown): Error {
  const err = codedError('write EPIPE: the pipe was closed on the reading side (did the child exit?)', 'EPIPE');
  if (cause !== undefined) (err as { cause?: unknown }).cause = cause;
  return Object.assign(err, { syscall: 'write' });
}

const noop = (): void => {};

function isGoneError(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END';
}

export class NodeStreamTransport implements Transport {
  /** The facade closed this transport (or it was handed on): no bytes or EOF are reported. */
  protected closed = false;
  /**
   * Closed cleanly: write callbacks and errors are still reported, so the writes the close
   * flushes settle on what Node says of them (they resolve, or reject if the flush fails).
   */
  protected flushing = false;
  /** An error was reported: later ones and a following 'close' are not. */
  private failed = false;
  /** The read and write sides are one Duplex (a socket). */
  protected readonly oneStream: boolean;
  /** Byte counts of the batches whose write callbacks are still due, oldest first (made on first write). */
  private writeSizes: number[] | null = null;
  private onWritten: ((err?: Error | null) => void) | null = null;

  /**
   * @param dataEvents - read through 'data' events (false: the subclass delivers the reads, and
   *   only 'end', 'error' and 'close' are listened to)
   */
  constructor(
    protected readonly readable: Readable | null,
    protected readonly writable: Writable | null,
    protected readonly sink: TransportSink,
    private dataEvents = true,
  ) {
    this.oneStream = (writable as object | null) === readable;
    if (readable !== null) {
      guardStream(readable);
      (readable as Owned)[kTransport] = this;
      readable.pause(); // before 'data': adding the listener would otherwise start the flow
      if (dataEvents) readable.on('data', onData);
      readable.on('end', onEnd);
      readable.on('error', onError);
      readable.on('close', onReadableClose);
    }
    if (writable !== null && !this.oneStream) {
      guardStream(writable);
      (writable as Owned)[kTransport] = this;
      writable.on('error', onError);
    }
  }

  resume(): void {
    if (!this.closed) this.readable?.resume();
  }

  pause(): void {
    if (!this.closed) this.readable?.pause();
  }

  write(chunks: readonly Uint8Array[], byteLength: number): void {
    const w = this.writable;
    if (this.closed || w === null) return;
    if (w.destroyed || w.writableEnded) {
      // Never report inside write(): the facade is in the middle of draining.
      process.nextTick(() => { this.fail(brokenPipe()); });
      return;
    }
    (this.writeSizes ??= []).push(byteLength);
    const last = chunks.length - 1;
    if (last === 0) {
      w.write(chunks[0] as Uint8Array, this.writeCallback());
      return;
    }
    w.cork();
    for (let i = 0; i < last; i++) w.write(chunks[i] as Uint8Array);
    w.write(chunks[last] as Uint8Array, this.writeCallback());
    w.uncork();
  }

  /**
   * Closes both sides. Clean: the bytes already handed over still go out, then the write side
   * ends (a child sees EOF on its stdin); reading stops at once; their write callbacks and a
   * failure on the way are still reported. With an error: both destroyed, nothing reported.
   */
  close(error: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    this.flushing = error === null;
    const r = this.readable;
    const w = this.writable;
    if (error !== null) {
      r?.destroy();
      if (!this.oneStream) w?.destroy();
      return;
    }
    if (w !== null && !w.destroyed && !w.writableEnded) {
      if (this.oneStream) {
        w.once('finish', () => w.destroy());
        w.end();
        return;
      }
      w.end();
    }
    r?.destroy();
  }

  /** Ends the write side (after what was handed over) and keeps reading: a half-close. */
  endWrite(): void {
    const w = this.writable;
    if (this.closed || w === null || w.destroyed || w.writableEnded) return;
    w.end();
  }

  /**
   * Stops reporting to the sink and removes this transport's listeners, leaving the streams
   * open and paused for a new owner (STARTTLS). The no-op 'error' guards stay.
   */
  protected release(): void {
    this.closed = true;
    this.flushing = false;
    const r = this.readable;
    if (r !== null) {
      r.pause();
      if (this.dataEvents) r.off('data', onData);
      r.off('end', onEnd);
      r.off('error', onError);
      r.off('close', onReadableClose);
    }
    if (this.writable !== null && !this.oneStream) this.writable.off('error', onError);
    if (r !== null && (r as Owned)[kTransport] === this) (r as Owned)[kTransport] = undefined;
    const w = this.writable;
    if (w !== null && (w as Owned)[kTransport] === this) (w as Owned)[kTransport] = undefined;
  }

  /** Stops reading through 'data' events: a subclass delivers the reads from now on. */
  protected stopDataEvents(): void {
    if (!this.dataEvents) return;
    this.dataEvents = false;
    this.readable?.off('data', onData);
  }

  /** The peer's end arrived after this transport was closed (a socket's lingering close waits for it). */
  protected endedAfterClose(): void {}

  /** Bytes handed to the writable whose write callbacks have not come yet. */
  protected get bytesDue(): number {
    let n = 0;
    for (const size of this.writeSizes ?? []) n += size;
    return n;
  }

  /** Called after each write callback reported during a clean close (a subclass bounds the flush). */
  protected flushProgress: () => void = noop;

  /** Reports `err` once, unless closed (with an error, or handed on). */
  protected fail(err: Error): void {
    if ((this.closed && !this.flushing) || this.failed) return;
    this.failed = true;
    this.sink.error(err);
  }

  /** The one write callback, made on first write (10,000 idle streams need none). */
  private writeCallback(): (err?: Error | null) => void {
    return (this.onWritten ??= (err?: Error | null): void => {
      const n = (this.writeSizes as number[]).shift() as number;
      if (err != null) {
        this.fail(isGoneError(err) ? brokenPipe(err) : err);
      } else if (!this.closed) {
        this.sink.written(n);
      } else if (this.flushing) {
        this.sink.written(n);
        this.flushProgress();
      }
    });
  }

  /** A chunk from the readable ('data'). */
  handleData(chunk: unknown): void {
    if (this.closed) return;
    if (chunk instanceof Uint8Array) this.sink.receive(chunk);
    else this.fail(invalidArgType('the readable emitted a string or an object; it must be a byte stream (no setEncoding)'));
  }

  /** The readable's 'end'. */
  handleEnd(): void {
    if (this.closed) this.endedAfterClose();
    else this.sink.eof();
  }

  /** An 'error' of either stream. */
  handleError(err: Error): void {
    this.fail(err);
  }

  /** The readable's 'close' without 'end' or 'error': destroyed locally by someone else. A clean close. */
  handleReadableClose(): void {
    if (!this.closed && !this.failed) this.sink.eof();
  }
}

/**
 * The listeners every transport puts on its streams: shared functions that find the transport
 * through the stream (`this` of an event listener), not four closures per transport (bench W6:
 * 10,000 idle streams).
 */
const kTransport = Symbol('sansio-iostream.transport');
type Owned = { [kTransport]?: NodeStreamTransport | undefined };
function onData(this: Owned, chunk: unknown): void { this[kTransport]?.handleData(chunk); }
function onEnd(this: Owned): void { this[kTransport]?.handleEnd(); }
function onError(this: Owned, err: Error): void { this[kTransport]?.handleError(err); }
function onReadableClose(this: Owned): void { this[kTransport]?.handleReadableClose(); }
