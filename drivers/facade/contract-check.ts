/**
 * The driver-contract checker: a {@link TransportSink} and a {@link Transport} wrapper that
 * watch a driver keep the rules of `transport.ts` and report each broken one as a
 * {@link DriverContractError} (`code: 'ERR_DRIVER_CONTRACT'`, `rule` naming the rule).
 *
 * Off by default and free when off: the facade picks the plain sink or the checking one once,
 * when a stream is made ({@link newSink}), and wraps the transport once, when it is attached
 * ({@link checkedTransport}); the sink methods a driver calls per delivery carry no extra
 * branch. The conformance suite switches it on for its tests; a driver's own tests or a debug
 * build call {@link setDriverContractChecks}.
 *
 * A violation on an open stream closes it with the error (every pending operation then rejects
 * with `StreamClosedError { realError }` naming the rule); every violation is also kept, per
 * stream, for {@link driverContractViolations} (the suite fails a test on any).
 */
import type { CodedError } from '../../core/errors.js';
import type { StreamCore } from '../../core/stream-core.js';
import { FacadeSink, type SinkOwner } from './facade-sink.js';
import type { Transport, TransportSink } from './transport.js';

/**
 * The rules a driver can break (see the Transport contract in `transport.ts` and docs/DRIVERS.md):
 * - `written-inside-write`: `sink.written()` called synchronously inside `transport.write()`;
 * - `written-beyond-write`: more bytes confirmed with `written()` than handed to `write()`;
 * - `receive-while-paused`: more than {@link IN_FLIGHT_BYTES} delivered after `pause()`;
 * - `receive-after-close`: more than {@link IN_FLIGHT_BYTES} delivered after `close()`;
 * - `transport-threw`: a `Transport` method threw (it must report failures through the sink).
 */
export type DriverRule =
  | 'written-inside-write' | 'written-beyond-write' | 'receive-while-paused' | 'receive-after-close' | 'transport-threw';

/**
 * Bytes a transport may still deliver after `pause()` or `close()`: what it already had in
 * hand (Node reads at most 64 KiB at a time; a WHATWG reader has one chunk in flight). More is
 * a transport that does not stop.
 */
export const IN_FLIGHT_BYTES = 128 * 1024;

/** A driver broke a rule of the Transport contract (reported only while checks are on). */
export class DriverContractError extends Error implements CodedError {
  /** Stable code for programmatic checks. */
  readonly code = 'ERR_DRIVER_CONTRACT';
  /** Which rule was broken. */
  readonly rule: DriverRule;

  /**
   * A broken rule.
   * @param rule - the rule
   * @param message - what the driver did
   */
  constructor(rule: DriverRule, message: string) {
    super(`driver contract broken (${rule}): ${message}`);
    this.name = 'DriverContractError';
    this.rule = rule;
  }
}

let checking = false;

/**
 * Switches the driver-contract checks on or off for streams made from now on (streams made
 * before keep what they had). Returns the previous setting, so a caller can restore it.
 */
export function setDriverContractChecks(on: boolean): boolean {
  const was = checking;
  checking = on === true;
  return was;
}

/** Whether streams made now get the driver-contract checks. */
export function driverContractChecks(): boolean {
  return checking;
}

const violationsOf = new WeakMap<object, DriverContractError[]>();
const NONE: readonly DriverContractError[] = Object.freeze([]);

/**
 * The contract violations seen on `stream` (empty when there were none or it was made with the
 * checks off), in the order they happened, one per rule.
 */
export function driverContractViolations(stream: object): readonly DriverContractError[] {
  return violationsOf.get(stream) ?? NONE;
}

/** The stream side the checker needs: its core is closed through the owner on a violation. */
type Owner = SinkOwner;

const OPEN = 0;
const CLOSED_CLEAN = 1;
const CLOSED_ERROR = 2;

/** The sink of a checked stream: counts what the transport does and reports broken rules. */
class CheckingSink extends FacadeSink {
  inWrite = false;
  handed = 0;
  confirmed = 0;
  /** Paused from the transport's side: before the first resume() and after each pause(). */
  paused = true;
  sincePause = 0;
  closeState = OPEN;
  afterClose = 0;

  constructor(private readonly checkedCore: StreamCore, private readonly owner: Owner) {
    super(checkedCore, owner);
  }

  override receive(data: Uint8Array): void {
    // Judged by the state the delivery came in (the core may pause inside super.receive), and
    // delivered before it is judged, so what a broken transport delivered stays visible.
    const afterClose = this.closeState !== OPEN;
    const whilePaused = this.paused;
    super.receive(data);
    this.judgeDelivery(data.length, afterClose, whilePaused);
  }

  override receiveTransient(data: Uint8Array): void {
    const afterClose = this.closeState !== OPEN;
    const whilePaused = this.paused;
    const n = data.length; // read now: the view is valid only during the call
    super.receiveTransient(data);
    this.judgeDelivery(n, afterClose, whilePaused);
  }

  /** The in-flight rules for a delivery of `n` bytes made in the given state. */
  private judgeDelivery(n: number, afterClose: boolean, whilePaused: boolean): void {
    if (this.owner.detached) return;
    if (afterClose) {
      this.afterClose += n;
      if (this.afterClose > IN_FLIGHT_BYTES) {
        this.report('receive-after-close', `${this.afterClose} bytes delivered after close() (at most ${IN_FLIGHT_BYTES} in flight)`);
      }
    } else if (whilePaused) {
      this.sincePause += n;
      if (this.sincePause > IN_FLIGHT_BYTES) {
        this.report('receive-while-paused', `${this.sincePause} bytes delivered after pause() (at most ${IN_FLIGHT_BYTES} in flight): pause() must stop delivery`);
      }
    }
  }

  override written(n: number): void {
    if (!this.owner.detached && this.closeState !== CLOSED_ERROR) {
      if (this.inWrite) this.report('written-inside-write', 'sink.written() was called inside transport.write(); report it later (the write callback, a task)');
      this.confirmed += n;
      if (this.confirmed > this.handed) {
        this.report('written-beyond-write', `written() confirmed ${this.confirmed} bytes, write() handed over only ${this.handed}`);
      }
    }
    super.written(n);
  }

  /** Keeps the first violation of `rule` and closes the stream with it if it is still open. */
  report(rule: DriverRule, message: string): void {
    let list = violationsOf.get(this.owner);
    if (list === undefined) violationsOf.set(this.owner, list = []);
    if (list.some((v) => v.rule === rule)) return;
    const err = new DriverContractError(rule, message);
    list.push(err);
    if (!this.checkedCore.closed) {
      this.checkedCore.close(err);
      this.owner.deliver();
    }
  }
}

/** What the facade calls, forwarded to the driver's transport with the checker's bookkeeping. */
class CheckedTransport implements Transport {
  constructor(private readonly inner: Transport, private readonly sink: CheckingSink) {}

  resume(): void {
    this.sink.paused = false;
    this.guard('resume', () => { this.inner.resume(); });
  }

  pause(): void {
    if (!this.sink.paused) {
      this.sink.paused = true;
      this.sink.sincePause = 0;
    }
    this.guard('pause', () => { this.inner.pause(); });
  }

  write(chunks: readonly Uint8Array[], byteLength: number): void {
    const sink = this.sink;
    sink.handed += byteLength;
    sink.inWrite = true;
    try {
      this.guard('write', () => { this.inner.write(chunks, byteLength); });
    } finally {
      sink.inWrite = false;
    }
  }

  close(error: Error | null): void {
    if (this.sink.closeState === OPEN) this.sink.closeState = error === null ? CLOSED_CLEAN : CLOSED_ERROR;
    this.guard('close', () => { this.inner.close(error); });
  }

  setNoDelay(value: boolean): void {
    this.guard('setNoDelay', () => { this.inner.setNoDelay?.(value); });
  }

  bulkReadPending(): void {
    this.guard('bulkReadPending', () => { this.inner.bulkReadPending?.(); });
  }

  private guard(method: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      this.sink.report('transport-threw', `transport.${method}() threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}; report failures with sink.error()`);
    }
  }
}

/** The sink of a new stream: the checking one while checks are on, the plain one otherwise. */
export function newSink(core: StreamCore, owner: SinkOwner): TransportSink {
  return checking ? new CheckingSink(core, owner) : new FacadeSink(core, owner);
}

/** `transport` as the facade should call it: wrapped when `sink` is a checking sink. */
export function checkedTransport(sink: TransportSink, transport: Transport): Transport {
  return sink instanceof CheckingSink ? new CheckedTransport(transport, sink) : transport;
}
