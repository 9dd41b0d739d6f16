/**
 * The {@link Transport} over a connected Node socket (`net.Socket` or `tls.TLSSocket`): the
 * shared {@link NodeStreamTransport} over the socket as one Duplex, with the socket's own
 * close (a lingering one), `setNoDelay`, and `detach` for STARTTLS. A plain socket reads into
 * the process's one receive buffer where the runtime allows (`reused-receive.ts`), else through
 * 'data' events.
 */
import type * as net from 'node:net';
import { codedError } from './node-hooks.js';
import { NodeStreamTransport } from './stream-transport.js';
import type { TransportSink } from '../facade/transport.js';
import { isReceiveBuffer, receiveThroughSharedBuffer, switchToSharedBuffer, type ReusedReceiver } from './reused-receive.js';

/**
 * How long a clean close waits for the peer's FIN (while discarding input) once our bytes
 * are out, before it destroys the socket anyway; and the least it waits for those bytes to
 * go out. Keeps `close()` bounded when the peer never reads or never answers.
 */
export const LINGER_MS = 2000;

/**
 * What a clean close adds to {@link LINGER_MS} per MiB still unconfirmed when it waits for
 * our last writes (restarted at each write Node confirms): a peer taking less than about
 * 1 MiB/s gets its connection destroyed, and the writes not confirmed reject (`ETIMEDOUT`).
 * Node's own idle timeout cannot tell instead: it sees no progress inside a large TLS write.
 */
export const FLUSH_MS_PER_MIB = 1000;

const noop = (): void => {};

export class SocketTransport extends NodeStreamTransport implements ReusedReceiver {
  private detached = false;
  /** Reads arrive through `receivedInto` (the shared receive buffer), not 'data'. */
  reusesMemory: boolean;
  /** On 'data' now, and may move to the shared receive buffer at a pending `readInto`. */
  private mayMove: boolean;

  /**
   * @param reuse - use the shared receive buffer where possible (plain TCP/Unix sockets; a TLS
   *   socket's reads are the TLS layer's, so `SSLIOStream` passes false)
   */
  constructor(readonly socket: net.Socket, sink: TransportSink, reuse = false) {
    const onShared = reuse && receiveThroughSharedBuffer(socket, PENDING);
    super(socket, socket, sink, !onShared);
    this.reusesMemory = onShared;
    this.mayMove = reuse && !onShared;
    if (onShared) receiveThroughSharedBuffer(socket, this);
  }

  /** A `readInto` waits for bytes: a socket still on 'data' moves to the shared receive buffer. */
  bulkReadPending(): void {
    if (!this.mayMove || this.closed || !switchToSharedBuffer(this.socket, this)) return;
    this.mayMove = false;
    this.reusesMemory = true;
    this.stopDataEvents();
    // The switch stopped the handle; a flowing socket starts it again, now on the new buffer.
    if (!this.socket.isPaused()) this.socket.resume();
  }

  /** One read into the shared receive buffer: a view valid only during this call. */
  receivedInto(nread: number, buffer: Buffer): void {
    if (this.closed) return; // a lingering close drops what still comes
    if (!isReceiveBuffer(buffer) || nread > buffer.length) {
      // A runtime that fills its own chunk instead of ours: refuse rather than read garbage.
      this.fail(codedError('onread delivered a buffer other than the one given to it', 'ERR_INVALID_STATE'));
      return;
    }
    this.sink.receiveTransient(nread === buffer.length ? buffer : buffer.subarray(0, nread));
  }

  /**
   * Lingering close: send our FIN after the queued bytes (their write callbacks still reported),
   * then keep reading (and dropping) until the peer's FIN, so unread input doesn't turn the
   * close into a reset that could discard our last bytes. Each phase is bounded: the flush by
   * {@link LINGER_MS} plus {@link FLUSH_MS_PER_MIB} per MiB still due, counted again at each
   * write callback (the writes not confirmed then fail with `ETIMEDOUT`), the wait for the FIN
   * by {@link LINGER_MS}. An error close destroys at once.
   */
  override close(error: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    this.flushing = error === null;
    const socket = this.socket;
    if (error !== null || socket.destroyed) {
      socket.destroy();
      return;
    }
    const stalled = (): void => {
      // Node reports a write cut short by destroy() as done: fail it first, so it rejects.
      if (this.bytesDue > 0) this.fail(codedError(`close: the peer took too long to take our last ${this.bytesDue} bytes`, 'ETIMEDOUT'));
      socket.destroy();
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (fn: () => void, ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
      timer.unref();
    };
    this.flushProgress = () => { arm(stalled, LINGER_MS + Math.ceil(this.bytesDue / 1048576) * FLUSH_MS_PER_MIB); };
    this.flushProgress();
    socket.on('finish', () => {
      if (this.detached) return;
      this.flushProgress = noop;
      arm(() => socket.destroy(), LINGER_MS);
      this.destroyIfDone();
    });
    socket.once('close', () => clearTimeout(timer));
    socket.end();
    socket.resume();
    this.destroyIfDone();
  }

  setNoDelay(value: boolean): void {
    if (!this.closed) this.socket.setNoDelay(value);
  }

  /** Hands the socket on (STARTTLS): open, paused, without this transport's listeners. */
  detach(): net.Socket {
    this.detached = true;
    this.release();
    return this.socket;
  }

  protected override endedAfterClose(): void {
    this.destroyIfDone();
  }

  private destroyIfDone(): void {
    const s = this.socket;
    if (s.readableEnded && s.writableFinished) s.destroy();
  }
}

/** Holds a socket's place while its transport is being constructed (no read can come meanwhile). */
const PENDING: ReusedReceiver = { receivedInto: () => {} };
