/**
 * The small interface between the shared facade ({@link BaseIOStream}) and one transport.
 * A driver implements {@link Transport} over its byte pipe and feeds what happens on it into
 * the {@link TransportSink} the facade gives it. Nothing else is needed to make a new driver.
 */

/** What the facade asks of a transport. Every method may be called at any time after attach. */
export interface Transport {
  /** Deliver bytes to `sink.receive` until `pause()` (idempotent). */
  resume(): void;
  /** Stop delivering bytes for now (idempotent). A few already in flight may still arrive. */
  pause(): void;
  /**
   * Send `chunks` in order, after any sent earlier. Report progress with `sink.written(n)` once
   * the transport has taken the bytes (Node: the write callback), never synchronously inside
   * this call.
   */
  write(chunks: readonly Uint8Array[], byteLength: number): void;
  /**
   * Close the transport. Called once; no `write` follows it.
   *
   * `error === null` is a clean close: send everything handed to `write` (the stream hands its
   * queued writes over just before this call), then end. Until every byte handed over is
   * reported, keep reporting: `sink.written(n)` as the bytes are taken, or `sink.error(err)` if
   * the transport fails first (a reset during the flush). The stream's writes settle on those
   * reports and its close callback waits for them, so a transport must end in one or the other
   * (bound the wait, as the socket transport does). Bytes or EOF arriving
   * after the close are ignored.
   *
   * Otherwise tear the transport down at once, dropping what it has not sent; nothing reported
   * after this matters (the stream rejected every write not confirmed when it closed).
   */
  close(error: Error | null): void;
  /** Disable Nagle's algorithm where there is one. */
  setNoDelay?(value: boolean): void;
}

/**
 * What a transport reports to the facade. After the stream closed, only `written` and `error`
 * still count, and only while a clean close waits for its flush; every other call is ignored.
 */
export interface TransportSink {
  /** Bytes arrived. The stream keeps the reference: don't reuse the memory. */
  receive(data: Uint8Array): void;
  /** The peer ended its side: a clean close. */
  eof(): void;
  /** The transport failed (reset, broken pipe, TLS error...): the stream closes with it. */
  error(error: Error): void;
  /** The transport took `n` more bytes of what `write` handed it. */
  written(n: number): void;
}

/** Runs `fn` on a later turn of the event loop, after pending promise handlers. */
export type Scheduler = (fn: () => void) => void;

/** `setImmediate` where it exists (Node, Bun), a zero timeout elsewhere. */
export const macrotask: Scheduler = (() => {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') {
    const si = g.setImmediate;
    return (fn: () => void) => { si(fn); };
  }
  return (fn: () => void) => { setTimeout(fn, 0); };
})();
