/**
 * One direction of an in-memory pair (`Link`: writer → reader) and the {@link Transport} each
 * end gets over its two links. What one side writes is copied in (as a kernel would), split by
 * the chunking mode, and delivered to the other side after `latency` virtual ms while that side
 * is reading. A link holds at most its capacity of undelivered bytes before it stops
 * acknowledging writes, so backpressure is real. Faults (reset, EOF after N bytes) fire here.
 */
import { ReadBuffer } from '../../core/read-buffer.js';
import type { Transport, TransportSink } from '../facade/transport.js';
import type { SimScheduler } from './sim-loop.js';

/** How written bytes are split on delivery. */
export type Chunking = 'whole' | 'byte' | 'random';

/** What a reused receive buffer is overwritten with after each delivery. */
const SCRIBBLE = 0xa5;

/** Bytes a single delivery task may hand over before yielding to other tasks. */
const BURST = 64 * 1024;

/** One direction of a pair: writer → reader. */
export class Link {
  /** Written, not yet delivered: the core's own chunk list (views out, one copy across chunks). */
  private readonly queue = new ReadBuffer();
  private delivered = 0;
  private unacked = 0;
  private deliveryAt = 0;
  private scheduled = false;
  /** The reader wants bytes (its core said want-read). */
  readerReading = false;
  /** The reader is closed: drop everything. */
  readerClosed = false;
  /** The writer closed: deliver what is queued, then EOF. */
  private ended = false;
  private eofSent = false;
  /** A fault fired: the direction is dead, writes are swallowed. */
  private dead = false;
  reader: TransportSink | null = null;
  writer: TransportSink | null = null;
  /** The reused receive buffer of a `reuse` link (grown to the largest piece). */
  private scratch = new Uint8Array(0);

  constructor(
    private readonly loop: SimScheduler,
    private readonly chunking: Chunking,
    private readonly latency: number,
    private readonly capacity: number,
    private readonly faultAfter: number,
    private readonly faultIsReset: boolean,
    /** Deliver through one reused buffer (`receiveTransient`), scribbled over after each delivery. */
    private readonly reuse: boolean,
  ) {}

  write(chunks: readonly Uint8Array[], byteLength: number): void {
    if (this.ended) return;
    if (this.dead || this.readerClosed) {
      this.ack(byteLength);
      return;
    }
    for (const c of chunks) this.queue.push(c.slice());
    if (this.queue.length <= this.capacity) this.ack(byteLength);
    else this.unacked += byteLength;
    this.kick();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.kick();
  }

  /** Schedules a delivery task if there is something to deliver and nobody is on it. */
  kick(): void {
    if (this.scheduled || this.readerClosed || !this.readerReading || this.eofSent) return;
    if (this.queue.length === 0 && !this.ended) return;
    this.scheduled = true;
    // Deliveries keep their order: never earlier than the previous one.
    const at = Math.max(this.deliveryAt, this.loop.now + this.latency);
    this.deliveryAt = at;
    this.loop.schedule(this.deliver, at - this.loop.now);
  }

  private ack(n: number): void {
    if (n === 0) return;
    this.loop.schedule(() => { this.writer?.written(n); });
  }

  private readonly deliver = (): void => {
    this.scheduled = false;
    const reader = this.reader;
    if (reader === null || this.readerClosed) return;
    let burst = 0;
    while (this.queue.length > 0 && this.readerReading && !this.readerClosed && burst < BURST) {
      let size = this.pieceSize();
      if (this.faultAfter >= 0 && this.delivered + size > this.faultAfter) {
        size = this.faultAfter - this.delivered;
        if (size > 0) this.hand(reader, size);
        this.delivered += size;
        this.fault(reader);
        return;
      }
      this.hand(reader, size);
      this.delivered += size;
      burst += size;
    }
    if (this.unacked > 0 && this.queue.length <= this.capacity) {
      const n = this.unacked;
      this.unacked = 0;
      this.ack(n);
    }
    if (this.queue.length === 0 && this.ended && this.readerReading && !this.readerClosed && !this.eofSent) {
      this.eofSent = true;
      reader.eof();
      return;
    }
    this.kick();
  };

  /**
   * Hands the next `size` queued bytes to `reader`: as they are, or — `reuse` — copied into the
   * link's one receive buffer and given as a view valid only during the call (what the Node
   * socket drivers do with `onread`). That buffer is overwritten right after, so a stream that
   * kept a reference to it instead of a copy reads garbage and the conformance suite sees it.
   */
  private hand(reader: TransportSink, size: number): void {
    if (!this.reuse) {
      reader.receive(this.queue.take(size));
      return;
    }
    if (this.scratch.length < size) this.scratch = new Uint8Array(Math.max(size, 2 * this.scratch.length));
    const view = this.scratch.subarray(0, size);
    this.queue.copyOut(view, 0, size);
    reader.receiveTransient(view);
    view.fill(SCRIBBLE);
  }

  private fault(reader: TransportSink): void {
    this.dead = true;
    this.queue.skip(this.queue.length);
    if (this.unacked > 0) {
      const n = this.unacked;
      this.unacked = 0;
      this.ack(n);
    }
    if (this.faultIsReset) {
      const err = Object.assign(new Error('read ECONNRESET (simulated)'), { code: 'ECONNRESET' });
      reader.error(err);
    } else {
      this.eofSent = true;
      reader.eof();
    }
  }

  private pieceSize(): number {
    const head = this.queue.headLength;
    switch (this.chunking) {
      case 'byte': return 1;
      case 'whole': return head;
      default: {
        // Random splits that may also merge across write boundaries.
        const span = Math.min(this.queue.length, 2 * head + 1, 65536);
        return 1 + Math.floor(this.loop.random() * span);
      }
    }
  }

}

/** The transport of one end: writes go out on `out`, reading state steers `in`. */
export class MemoryTransport implements Transport {
  constructor(private readonly inbound: Link, private readonly outbound: Link) {}

  resume(): void {
    this.inbound.readerReading = true;
    this.inbound.kick();
  }

  pause(): void {
    this.inbound.readerReading = false;
  }

  write(chunks: readonly Uint8Array[], byteLength: number): void {
    this.outbound.write(chunks, byteLength);
  }

  close(): void {
    this.inbound.readerClosed = true;
    this.outbound.end();
  }
}

