/**
 * `sansio-iostream/memory`: connected in-memory stream pairs ({@link memoryPair}) over a
 * deterministic scheduler ({@link SimLoop}), with seeded chunking and injected faults. No Node
 * built-in, no real timer: it runs wherever the core does.
 *
 * Each direction of a pair is a link: what one side writes is copied in (as a kernel would),
 * split by the chunking mode, and delivered to the other side after `latency` virtual ms while
 * that side is reading. A link holds at most `linkCapacity` undelivered bytes before it stops
 * acknowledging writes, so backpressure is real.
 * @module sansio-iostream/memory
 */
import { ReadBuffer } from '../core/read-buffer.js';
import type { StreamOptions } from '../core/stream-core.js';
import { BaseIOStream, type DriverHooks } from './base.js';
import { SimScheduler, type SimSchedulerOptions } from './sim-loop.js';
import type { Transport, TransportSink } from './transport.js';
import { invalidArgType, invalidArgValue, outOfRange } from '../core/errors.js';
import { checkObject, describe } from '../core/validate.js';

export { seededRandom, type SimSchedulerOptions } from './sim-loop.js';

/** How written bytes are split on delivery. */
export type Chunking = 'whole' | 'byte' | 'random';

/** Transport behaviour of a memory pair. */
export interface SimOptions {
  /** Seeds the schedule: same seed → same delivery, byte for byte (memoryPair only; a SimLoop has its own). */
  seed?: number;
  /** `whole`: each write as one delivery; `byte`: one byte per delivery; `random`: seeded random splits. Default `whole`. */
  chunking?: Chunking;
  /** Each side receives at most N bytes from its peer, then sees a reset (`realError.code === 'ECONNRESET'`) when more would come. */
  resetAfterBytes?: number;
  /** Each side receives at most N bytes from its peer, then sees a clean EOF when more would come. */
  eofAfterBytes?: number;
  /** Virtual ms between a write and its delivery. Default 0. */
  latency?: number;
  /** Undelivered bytes a direction holds before writes stop being acknowledged. Default 1 MiB. */
  linkCapacity?: number;
}

/** Options of {@link memoryPair} and {@link SimLoop.pair}: the streams' options plus the transport's. */
export type MemoryPairOptions = StreamOptions & SimOptions;

/** One end of an in-memory pair: a {@link BaseIOStream} whose reads resolve with `Uint8Array`. */
export class MemoryIOStream extends BaseIOStream<Uint8Array> {
  /** @internal Use `memoryPair()` or `SimLoop#pair()`. */
  constructor(options: StreamOptions, hooks: DriverHooks, connect: (stream: MemoryIOStream) => Transport) {
    super(options, hooks);
    this.attachTransport(connect(this));
  }

  /** @internal The sink this stream's link delivers into. */
  get transportSink(): TransportSink {
    return this.sink;
  }
}

/** Bytes a single delivery task may hand over before yielding to other tasks. */
const BURST = 64 * 1024;

/** One direction of a pair: writer → reader. */
class Link {
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

  constructor(
    private readonly loop: SimScheduler,
    private readonly chunking: Chunking,
    private readonly latency: number,
    private readonly capacity: number,
    private readonly faultAfter: number,
    private readonly faultIsReset: boolean,
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
        if (size > 0) reader.receive(this.queue.take(size));
        this.delivered += size;
        this.fault(reader);
        return;
      }
      const piece = this.queue.take(size);
      this.delivered += size;
      burst += size;
      reader.receive(piece);
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
class MemoryTransport implements Transport {
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

function checkSimOptions(o: MemoryPairOptions): void {
  const { chunking } = o;
  if (chunking !== undefined && chunking !== 'whole' && chunking !== 'byte' && chunking !== 'random') {
    throw invalidArgValue(`chunking must be 'whole', 'byte' or 'random', got ${String(chunking)}`);
  }
  for (const key of ['resetAfterBytes', 'eofAfterBytes', 'latency', 'linkCapacity'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (typeof v !== 'number') throw invalidArgType(`${key} must be a number, got ${describe(v)}`);
    if (!Number.isSafeInteger(v) || v < 0) throw outOfRange(`${key} must be a non-negative integer, got ${String(v)}`);
  }
  if (o.resetAfterBytes !== undefined && o.eofAfterBytes !== undefined) {
    throw invalidArgValue('give resetAfterBytes or eofAfterBytes, not both');
  }
}

/** Builds a connected pair on `loop`. */
function pairOn(loop: SimScheduler, options: MemoryPairOptions = {}): [MemoryIOStream, MemoryIOStream] {
  checkObject(options, 'options', false);
  checkSimOptions(options);
  const { seed: _seed, chunking = 'whole', resetAfterBytes, eofAfterBytes, latency = 0, linkCapacity = 1 << 20,
    ...streamOptions } = options;
  const faultAfter = resetAfterBytes ?? eofAfterBytes ?? -1;
  const mkLink = (): Link => new Link(loop, chunking, latency, Math.max(1, linkCapacity), faultAfter, resetAfterBytes !== undefined);
  const ab = mkLink();
  const ba = mkLink();
  const hooks: DriverHooks = { schedule: (fn) => { loop.schedule(fn); } };
  const a = new MemoryIOStream(streamOptions, hooks, () => new MemoryTransport(ba, ab));
  const b = new MemoryIOStream(streamOptions, hooks, () => new MemoryTransport(ab, ba));
  ab.writer = a.transportSink;
  ab.reader = b.transportSink;
  ba.writer = b.transportSink;
  ba.reader = a.transportSink;
  ab.kick();
  ba.kick();
  return [a, b];
}

/**
 * Two connected in-memory streams that run by themselves on the real event loop (no stepping
 * needed). `seed` fixes the schedule of `random` chunking.
 */
export function memoryPair(options: MemoryPairOptions = {}): [MemoryIOStream, MemoryIOStream] {
  const seed = options?.seed ?? 1;
  return pairOn(new SimLoop({ seed, autorun: true }), options);
}

/**
 * A deterministic simulation loop with virtual time: build pairs on it with {@link SimLoop.pair}
 * and drive it with `step()` / `run()`. Deliveries, faults and close callbacks are its tasks;
 * the same seed and program give the same trace.
 */
export class SimLoop extends SimScheduler {
  /**
   * A loop at virtual time 0 with its PRNG seeded by `options.seed` (default 1).
   * @throws TypeError when `seed` is not a safe integer.
   */
  constructor(options: SimSchedulerOptions = {}) {
    super(options);
  }

  /** A connected pair whose deliveries, faults and close callbacks run on this loop. */
  pair(options: MemoryPairOptions = {}): [MemoryIOStream, MemoryIOStream] {
    return pairOn(this, options);
  }
}
