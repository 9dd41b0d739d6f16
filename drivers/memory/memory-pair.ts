/**
 * `memoryPair()` and `SimLoop`: connected in-memory streams ({@link MemoryIOStream}) whose two
 * directions are {@link Link}s on one deterministic scheduler, with the options checked here.
 */
import type { StreamOptions } from '../../core/options.js';
import { BaseIOStream, type DriverHooks } from '../facade/base-iostream.js';
import { SimScheduler, type SimSchedulerOptions } from './sim-loop.js';
import type { Transport, TransportSink } from '../facade/transport.js';
import { Link, MemoryTransport, type Chunking } from './link.js';
import { invalidArgType, invalidArgValue, outOfRange } from '../../core/errors.js';
import { checkObject, describe } from '../../core/validate.js';


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
  /**
   * Deliver every piece through one receive buffer per direction that is reused — and
   * overwritten right after each delivery — as the Node socket drivers receive with `onread`
   * (`TransportSink.receiveTransient`). Default false: each piece is a fresh copy the stream keeps.
   */
  reuseReceiveBuffer?: boolean;
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
  if (o.reuseReceiveBuffer !== undefined && typeof o.reuseReceiveBuffer !== 'boolean') {
    throw invalidArgType(`reuseReceiveBuffer must be a boolean, got ${describe(o.reuseReceiveBuffer)}`);
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
    reuseReceiveBuffer = false, ...streamOptions } = options;
  const faultAfter = resetAfterBytes ?? eofAfterBytes ?? -1;
  const mkLink = (): Link => new Link(loop, chunking, latency, Math.max(1, linkCapacity), faultAfter,
    resetAfterBytes !== undefined, reuseReceiveBuffer);
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
