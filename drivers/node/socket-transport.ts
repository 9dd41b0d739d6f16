/**
 * The {@link Transport} over a connected Node socket (`net.Socket` or `tls.TLSSocket`): the
 * shared {@link NodeStreamTransport} over the socket as one Duplex, with the socket's own
 * close (a lingering one), `setNoDelay`, and `detach` for STARTTLS.
 */
import type * as net from 'node:net';
import { NodeStreamTransport } from './stream-transport.js';
import type { TransportSink } from '../facade/transport.js';

/**
 * How long a clean close waits for the peer's FIN (while discarding input) before it
 * destroys the socket anyway. Keeps `close()` bounded when the peer never answers.
 */
export const LINGER_MS = 2000;

export class SocketTransport extends NodeStreamTransport {
  private detached = false;

  constructor(readonly socket: net.Socket, sink: TransportSink) {
    super(socket, socket, sink);
  }

  /**
   * Lingering close: send our FIN after the queued bytes, then keep reading (and dropping)
   * until the peer's FIN, so unread input doesn't turn the close into a reset that could
   * discard our last bytes. Bounded by {@link LINGER_MS}. An error close destroys at once.
   */
  override close(error: Error | null): void {
    if (this.closed) return;
    this.closed = true;
    const socket = this.socket;
    if (error !== null || socket.destroyed) {
      socket.destroy();
      return;
    }
    socket.on('finish', () => { if (!this.detached) this.destroyIfDone(); });
    socket.end();
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
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
