/**
 * The small interface between the shared facade ({@link BaseIOStream}) and one transport.
 * A driver implements {@link Transport} over its byte pipe and feeds what happens on it into
 * the {@link TransportSink} the facade gives it. Nothing else is needed to make a new driver.
 *
 * The contract, in full (docs/DRIVERS.md explains it with a worked example). "Checked" rules
 * are reported by the driver-contract checker (`setDriverContractChecks`, on in the
 * conformance suite) as `ERR_DRIVER_CONTRACT` with the rule's name; "tolerated" ones the facade
 * handles whichever way a driver does them.
 *
 * - **Getting the sink.** The stream's protected `sink` exists from its constructor on, before
 *   any transport: build the transport with it, then `attachTransport(transport)` (which
 *   returns the same sink). Calls into the sink before attach are fine.
 * - **When the facade calls.** From user calls (a read, `write`, `close`) and from inside sink
 *   calls (a `receive` that fills the buffer calls `pause()`; an `eof` calls `close(null)`).
 *   Every method may be called at any time after attach, repeatedly; `close` at most once.
 * - **resume() may deliver synchronously** (tolerated: the facade is re-entrant), or later.
 * - **pause() stops delivery**: bytes already in hand, at most `IN_FLIGHT_BYTES` (128 KiB), may
 *   still arrive (checked: `receive-while-paused`).
 * - **written() never inside write()** (checked: `written-inside-write`), in order, never more
 *   in total than `write` handed over (checked: `written-beyond-write`).
 * - **After close(null)** (clean) the transport flushes what it was handed, then ends its
 *   side: the peer reads every byte, then a clean EOF. It keeps reporting `written(n)` for what
 *   it sends and `error(err)` if the flush fails; it stops reading (at most `IN_FLIGHT_BYTES`
 *   more, checked: `receive-after-close`; the stream ignores them).
 * - **After close(error)** the transport drops what it has not sent and tears the connection
 *   down: the peer should see a reset (an error, e.g. `ECONNRESET`), not a clean EOF, where the
 *   medium can say so. Everything it reports after that is ignored.
 * - **Never throw** from a method: report failures with `sink.error(err)` (checked:
 *   `transport-threw`).
 * - After STARTTLS-style detaching (`detachTransport`) the sink ignores everything.
 */

/** What the facade asks of a transport. Every method may be called at any time after attach. */
export interface Transport {
  /**
   * Deliver bytes to `sink.receive` until `pause()` (idempotent). May deliver synchronously,
   * inside this call (the facade is re-entrant), or later.
   */
  resume(): void;
  /**
   * Stop delivering bytes for now (idempotent). What is already in hand may still arrive, at
   * most `IN_FLIGHT_BYTES` (128 KiB).
   */
  pause(): void;
  /**
   * Send `chunks` in order, after any sent earlier. Report progress with `sink.written(n)` once
   * the transport has taken the bytes (Node: the write callback), never synchronously inside
   * this call, in order, and never more in total than was handed over.
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
   * Otherwise tear the transport down at once, dropping what it has not sent, and let the peer
   * see a reset where the medium can; nothing reported after this matters (the stream rejected
   * every write not confirmed when it closed). Must not throw.
   */
  close(error: Error | null): void;
  /** Disable Nagle's algorithm where there is one. */
  setNoDelay?(value: boolean): void;
  /**
   * A `readInto` is waiting for bytes: a transport that can receive into memory it reuses
   * (`TransportSink.receiveTransient`) and does not yet may switch to it now (the Node socket
   * driver does for accepted sockets). Optional; called after `resume()`.
   */
  bulkReadPending?(): void;
}

/**
 * What a transport reports to the facade (the stream's protected `sink`, there from its
 * constructor on). Calls after the stream closed are ignored, except `written` and `error`
 * after a clean close, which settle the writes being flushed.
 */
export interface TransportSink {
  /** Bytes arrived. The stream keeps the reference: don't reuse the memory. */
  receive(data: Uint8Array): void;
  /**
   * Bytes arrived in memory the transport reuses (one receive buffer for many streams): `data`
   * is valid only during this call, and the stream copies what it keeps (straight into a
   * pending `readInto` buffer when there is one). See `StreamCore.receiveTransient`.
   */
  receiveTransient(data: Uint8Array): void;
  /** The peer ended its side: a clean close. */
  eof(): void;
  /** The transport failed (reset, broken pipe, TLS error...): the stream closes with it. */
  error(error: Error): void;
  /** The transport took `n` more bytes of what `write` handed it (never inside `write`). */
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

/**
 * The portable way an error that escaped user code is reported (the default of
 * `DriverHooks.reportError`): thrown again from a fresh task, as an exception escaping an event
 * listener is. Node and Bun then emit `'uncaughtException'` (fatal unless a listener handles
 * it), Deno dispatches the global `'error'` event (fatal unless `preventDefault()`ed), browsers
 * log it and dispatch `'error'` on the window. The stream itself is already closed and
 * settled; nothing else the library runs waits on it.
 */
export function rethrowLater(error: unknown): void {
  macrotask(() => { throw error; });
}
