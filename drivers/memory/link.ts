/**
 * One direction of an in-memory pair (`Link`: writer → reader) and the {@link Transport} each
 * end gets over its two links. What one side writes is copied in (as a kernel would), split by
 * the chunking mode, and delivered to the other side after `latency` virtual ms while that side
 * is reading. A link takes (and acknowledges) a write once fewer than its capacity of
 * undelivered bytes are ahead of it, so backpressure is real; it delivers only what it took. Faults (reset, EOF after N bytes) fire here: the reader sees the reset or EOF,
 * and the writer, whose bytes past the fault are never confirmed, sees ECONNRESET or EPIPE.
 * A reader that closes with the writer's bytes unconfirmed gives the writer EPIPE; bytes
 * written to a closed reader later are confirmed and dropped, as a kernel would.
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
  // Stream offsets of this direction: bytes written into the link, taken (confirmed to the
  // writer: its `written()` is scheduled), and delivered. Only bytes taken are delivered, so a
  // write still waiting for room never reaches the reader if the writer's stream rejects it.
  private written = 0;
  private confirmed = 0;
  private delivered = 0;
  /** Ends (stream offsets) of the batches written and not yet confirmed, from `batchHead` on. */
  private batchEnds: number[] = [];
  private batchHead = 0;
  private deliveryAt = 0;
  private scheduled = false;
  /** The reader wants bytes (its core said want-read). */
  readerReading = false;
  /** The reader is closed: drop everything. */
  readerClosed = false;
  /** The writer closed: deliver what is queued, then EOF. */
  private ended = false;
  /** The writer closed with an error: what the link had not taken is dropped. */
  private aborted = false;
  private eofSent = false;
  /** A fault fired: the direction is dead. */
  private dead = false;
  /** The writer was told this direction failed (a fault, or a reader gone with bytes unsent). */
  private writerFailed = false;
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
    private readonly reuse = false,
  ) {}

  /**
   * A batch from the writer's stream. It is confirmed whole once fewer than `capacity`
   * undelivered bytes are ahead of it (a kernel's send buffer), except that bytes past a
   * fault are never confirmed.
   */
  write(chunks: readonly Uint8Array[], byteLength: number): void {
    if (this.ended || this.writerFailed) return; // the writer's failure is on its way
    if (this.readerClosed) {
      // Accepted and dropped, as a kernel takes bytes for a peer that has gone.
      this.loop.schedule(() => { this.writer?.written(byteLength); });
      return;
    }
    if (byteLength === 0) return;
    for (const c of chunks) if (c.length > 0) this.queue.push(c.slice());
    this.written += byteLength;
    this.batchEnds.push(this.written);
    this.confirm();
    this.kick();
  }

  /** The writer closed cleanly: everything written is still delivered, then EOF. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.kick();
  }

  /** The writer closed with an error: only what the link had taken is delivered, then EOF. */
  abort(): void {
    this.aborted = true;
    this.batchEnds = [];
    this.batchHead = 0;
    this.end();
  }

  /** The reader closed. The writer's bytes not confirmed yet would never be: it sees EPIPE. */
  closeReader(): void {
    if (this.readerClosed) return;
    this.readerClosed = true;
    this.queue.skip(this.queue.length);
    if (this.written > this.confirmed && !this.aborted) this.failWriter('EPIPE');
  }

  /** Schedules a delivery task if there is something to deliver and nobody is on it. */
  kick(): void {
    if (this.scheduled || this.readerClosed || !this.readerReading || this.eofSent || this.dead) return;
    if (this.confirmed === this.delivered && !this.faultDue() && !this.eofDue()) return;
    this.scheduled = true;
    // Deliveries keep their order: never earlier than the previous one.
    const at = Math.max(this.deliveryAt, this.loop.now + this.latency);
    this.deliveryAt = at;
    this.loop.schedule(this.deliver, at - this.loop.now);
  }

  /** Confirms the batches that now have room (whole; cut at a fault), as one `written()`. */
  private confirm(): void {
    if (this.aborted) return;
    const room = this.delivered + this.capacity;
    const ends = this.batchEnds;
    let target = this.confirmed;
    while (this.batchHead < ends.length && target < room) target = ends[this.batchHead++] as number;
    if (this.batchHead === ends.length && ends.length > 0) {
      this.batchEnds = [];
      this.batchHead = 0;
    }
    if (this.faultAfter >= 0 && target > this.faultAfter) target = this.faultAfter;
    if (target <= this.confirmed) return;
    const n = target - this.confirmed;
    this.confirmed = target;
    this.loop.schedule(() => { this.writer?.written(n); });
  }

  /** Bytes past the fault point are waiting: the reader has had all it may get. */
  private faultDue(): boolean {
    return this.faultAfter >= 0 && !this.aborted && this.delivered === this.faultAfter && this.written > this.faultAfter;
  }

  private eofDue(): boolean {
    return this.ended && this.delivered === (this.aborted ? this.confirmed : this.written);
  }

  private readonly deliver = (): void => {
    this.scheduled = false;
    const reader = this.reader;
    if (reader === null || this.readerClosed || this.dead) return;
    let burst = 0;
    while (this.confirmed > this.delivered && this.readerReading && !this.readerClosed && burst < BURST) {
      const size = Math.min(this.pieceSize(), this.confirmed - this.delivered);
      this.delivered += size;
      burst += size;
      this.hand(reader, size);
    }
    if (this.readerClosed) return;
    this.confirm(); // delivering made room
    if (!this.readerReading) return;
    if (this.faultDue()) {
      this.fault(reader);
      return;
    }
    if (this.eofDue() && !this.eofSent) {
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
    // The bytes past the fault were never confirmed: the writer learns of it too, after the
    // confirmations already on their way (a TCP writer sees the reset, or EPIPE).
    this.failWriter(this.faultIsReset ? 'ECONNRESET' : 'EPIPE');
    if (this.faultIsReset) {
      reader.error(simulatedError('read ECONNRESET (simulated)', 'ECONNRESET', 'read'));
    } else {
      this.eofSent = true;
      reader.eof();
    }
  }

  private failWriter(code: 'ECONNRESET' | 'EPIPE'): void {
    if (this.writerFailed) return;
    this.writerFailed = true;
    const err = simulatedError(`write ${code} (simulated: ${code === 'EPIPE' ? 'the reading side is gone' : 'the peer reset'})`,
      code, 'write');
    this.loop.schedule(() => { this.writer?.error(err); });
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

  close(error: Error | null): void {
    this.inbound.closeReader();
    if (error !== null) this.outbound.abort();
    else this.outbound.end();
  }
}

/** An `Error` with a Node-style `code` and `syscall` (this folder imports nothing from Node). */
function simulatedError(message: string, code: string, syscall: string): Error {
  return Object.assign(new Error(message), { code, syscall });
}
