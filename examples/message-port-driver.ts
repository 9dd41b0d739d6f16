/**
 * A driver over a `MessageChannel`'s two ports (`worker_threads` in Node, the global one in
 * Deno, Bun and browsers): the worked example of docs/DRIVERS.md. It is built from the portable
 * entry point alone (`sansio-iostream/facade`) and passes the whole conformance suite
 * (test/examples.test.ts in `npm test`; test:runtimes on Node, Bun, Deno and Chromium).
 *
 * The wire, one message each: `data` (the bytes of one `write`, transferred, not copied twice),
 * `ack` (the receiving stream took n bytes: the writer's `written(n)`), `end` (a clean close,
 * after the data), `reset` (an error close). A port is closed once both sides sent and got
 * `end`, or at a reset.
 *
 * Backpressure: a receiver acknowledges bytes when it delivers them to its stream, not when they
 * arrive, so a peer that reads nothing holds the writer's writes unconfirmed (its stream then
 * queues further writes, bounded by `maxWriteBufferSize`), as a full TCP window does.
 */
import { BaseIOStream, type StreamOptions, type Transport, type TransportSink } from 'sansio-iostream/facade';

/** What the driver needs of a port: `worker_threads.MessagePort` and the DOM's `MessagePort` fit. */
export interface PortLike {
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  addEventListener(type: 'message' | 'close', listener: (event: { data?: unknown }) => void): void;
  start(): void;
  close(): void;
}

type WireMessage =
  | { t: 'data'; d: Uint8Array }
  | { t: 'ack'; n: number }
  | { t: 'end' }
  | { t: 'reset'; m: string };

const NO_TRANSFER: ArrayBuffer[] = [];

/** The {@link Transport} over one port. */
export class PortTransport implements Transport {
  private paused = true;
  /** Arrived while paused, in order; `null` is the peer's end. */
  private readonly inbox: Array<Uint8Array | null> = [];
  private flushQueued = false;
  /** The facade closed us: `'clean'` or `'error'`. */
  private closed: 'no' | 'clean' | 'error' = 'no';
  private sentEnd = false;
  private gotEnd = false;
  /** The port is closed: nothing more is sent or reported. */
  private dead = false;

  constructor(private readonly port: PortLike, private readonly sink: TransportSink) {
    port.addEventListener('message', this.onMessage);
    // Node fires 'close' on both ports when either closes; a port closed without end or reset is a reset.
    port.addEventListener('close', this.onPortClose);
    port.start();
  }

  resume(): void {
    this.paused = false;
    if (this.inbox.length > 0 && !this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushLater);
    }
  }

  pause(): void {
    this.paused = true;
  }

  write(chunks: readonly Uint8Array[], byteLength: number): void {
    if (this.closed !== 'no' || this.dead) return;
    // One message per write: the chunks joined into one buffer, which is then transferred.
    const d = new Uint8Array(byteLength);
    let at = 0;
    for (const c of chunks) {
      d.set(c, at);
      at += c.length;
    }
    this.port.postMessage({ t: 'data', d }, [d.buffer as ArrayBuffer]);
  }

  close(error: Error | null): void {
    if (this.closed !== 'no') return;
    if (error !== null) {
      this.closed = 'error';
      this.post({ t: 'reset', m: error.message });
      this.shutdown();
      return;
    }
    this.closed = 'clean';
    this.post({ t: 'end' });
    this.sentEnd = true;
    if (this.gotEnd) this.shutdown();
  }

  private readonly onMessage = (event: { data?: unknown }): void => {
    const m = event.data as WireMessage;
    switch (m.t) {
      case 'data':
        if (this.closed !== 'no') {
          // We stopped reading at close(): taken and dropped, as a socket discards late input.
          this.post({ t: 'ack', n: m.d.length });
          return;
        }
        this.inbox.push(m.d);
        this.flush();
        return;
      case 'ack':
        // After a clean close the flush goes on and is confirmed; after an error close, nothing is.
        if (this.closed !== 'error') this.sink.written(m.n);
        return;
      case 'end':
        this.gotEnd = true;
        if (this.sentEnd) {
          this.shutdown();
          return;
        }
        this.inbox.push(null);
        this.flush();
        return;
      case 'reset':
        this.shutdown();
        // Also during a clean close's flush: the writes not acknowledged yet fail.
        if (this.closed !== 'error') this.sink.error(reset(`connection reset by peer: ${m.m}`));
        return;
    }
  };

  private readonly onPortClose = (): void => {
    if (this.dead) return;
    this.dead = true;
    if (this.closed !== 'error' && !this.gotEnd) this.sink.error(reset('the peer port closed'));
  };

  private readonly flushLater = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  /** Delivers what arrived while the stream wants bytes; pause() (called from inside receive) stops it. */
  private flush(): void {
    while (!this.paused && this.inbox.length > 0 && this.closed === 'no') {
      const next = this.inbox.shift() as Uint8Array | null;
      if (next === null) {
        this.sink.eof();
      } else {
        this.post({ t: 'ack', n: next.length });
        this.sink.receive(next);
      }
    }
  }

  private post(message: WireMessage): void {
    if (!this.dead) this.port.postMessage(message, NO_TRANSFER);
  }

  private shutdown(): void {
    if (this.dead) return;
    this.dead = true;
    this.port.close();
  }
}

function reset(message: string): Error {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}

/** A stream over one port of a channel. */
export class PortIOStream extends BaseIOStream<Uint8Array> {
  /**
   * @param port - this end's port (the other end must be a `PortIOStream` too)
   * @param options - the stream options
   */
  constructor(port: PortLike, options: StreamOptions = {}) {
    super(options);
    // The sink exists from the constructor on: the transport is built with it, then attached.
    this.attachTransport(new PortTransport(port, this.sink));
  }
}

/** Two connected streams over the two ports of `channel` (`new MessageChannel()`). */
export function portPair(channel: { port1: PortLike; port2: PortLike }, options: StreamOptions = {}): [PortIOStream, PortIOStream] {
  return [new PortIOStream(channel.port1, options), new PortIOStream(channel.port2, options)];
}
