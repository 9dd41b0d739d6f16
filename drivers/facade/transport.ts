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
   * Close the transport: `error === null` is a clean close (flush what was handed over, then
   * end), otherwise tear it down. After this the sink ignores whatever still comes.
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

/** What a transport reports to the facade. Calls after the stream closed are ignored. */
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
