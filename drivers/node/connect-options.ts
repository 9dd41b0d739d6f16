/**
 * The options of the Node drivers' connection-setup calls (`connect`, `startTls`,
 * `waitForHandshake`, the server's accept) and the deadline (`signal`, `timeout`) they share.
 * Internal to the Node drivers; the option types are re-exported from the root entry point.
 */
import { invalidArgType, outOfRange, stateError } from '../../core/errors.js';
import { checkObject, describe } from '../../core/validate.js';
import type * as tls from 'node:tls';
import { checkSignal } from '../facade/read-options.js';

/**
 * When to give up on a connection setup step. Either way the stream is closed, its socket
 * destroyed, and the call rejects with `StreamClosedError` whose `realError` says why.
 */
export interface DeadlineOptions {
  /**
   * Aborting gives up: `realError` is an `AbortError` with `code: 'ABORT_ERR'`, or, when the
   * reason is a `TimeoutError` (`AbortSignal.timeout(ms)`), an `Error` with `code: 'ETIMEDOUT'`;
   * either way `signal.reason` is its `cause`. A signal that is already aborted rejects at once,
   * before any socket is created.
   */
  signal?: AbortSignal;
  /**
   * Milliseconds (a positive integer, at most 2147483647) before giving up: `realError` is an
   * `Error` with `code: 'ETIMEDOUT'` whose message names the operation and the timeout.
   */
  timeout?: number;
}

/** Options of `IOStream.connect` and `SSLIOStream.connect`. */
export interface ConnectOptions extends DeadlineOptions {
  /**
   * TLS: the name to send (SNI) and to verify the certificate against; default the host. On an
   * `IOStream` it is the default for a later `startTls`.
   */
  serverHostname?: string;
}

/** Options of `IOStream.startTls` given as an object (its third argument). */
export interface StartTlsOptions extends DeadlineOptions {
  /** Client side: the name to send (SNI) and to verify; default the host given to `connect`. */
  serverHostname?: string;
}

/** The largest delay `setTimeout` honours; a larger one would fire at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Throws a TypeError/RangeError unless `opts` is undefined or valid {@link ConnectOptions}. */
export function checkConnectOptions(opts: unknown, what: string): asserts opts is ConnectOptions | undefined {
  checkObject(opts, what);
  if (opts === undefined) return;
  const host = (opts as ConnectOptions).serverHostname as unknown;
  if (host !== undefined && typeof host !== 'string') {
    throw invalidArgType(`serverHostname must be a string, got ${describe(host)}`);
  }
  checkDeadline(opts as DeadlineOptions);
}

/** Throws a TypeError/RangeError unless the `signal`/`timeout` of `opts` are valid. */
export function checkDeadline(opts: DeadlineOptions | undefined): void {
  if (opts === undefined) return;
  checkSignal(opts.signal);
  checkMillis(opts.timeout, 'timeout', 1);
}

/**
 * Throws unless `ms` is undefined or an integer in `min..2147483647` (`setTimeout`'s range):
 * TypeError for a non-number, RangeError otherwise.
 */
export function checkMillis(ms: unknown, what: string, min: number): void {
  if (ms === undefined) return;
  if (typeof ms !== 'number') throw invalidArgType(`${what} must be a number of milliseconds, got ${describe(ms)}`);
  if (!Number.isInteger(ms) || ms < min || ms > MAX_TIMEOUT_MS) {
    throw outOfRange(`${what} must be an integer in ${min}..${MAX_TIMEOUT_MS} (ms), got ${String(ms)}`);
  }
}

/**
 * What a connection setup gives up with when `signal` aborts (see {@link DeadlineOptions.signal}):
 * an Error with a string `code` (a DOMException's own `code` is a number: 20, or 23 for
 * `AbortSignal.timeout()`), the reason as `cause`, as Node's own `AbortError` does.
 */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  const timedOut = (reason as { name?: unknown } | null)?.name === 'TimeoutError';
  const detail = reason instanceof Error ? `: ${reason.message}` : '';
  if (timedOut) return Object.assign(new Error(`The operation timed out (signal)${detail}`, { cause: reason }), { code: 'ETIMEDOUT' });
  const err = Object.assign(new Error(`The operation was aborted${detail}`, { cause: reason }), { code: 'ABORT_ERR' });
  err.name = 'AbortError';
  return err;
}

/** The error a timeout rejects with: `code: 'ETIMEDOUT'`. */
export function timeoutError(what: string, ms: number): Error {
  return stateError('ETIMEDOUT', `${what} timed out after ${ms} ms`);
}

const noop = (): void => {};

/**
 * Starts the deadline of `opts` (its signal must not be aborted yet: callers reject at once
 * then, before creating anything). `expire` runs at most once, with the abort reason or a
 * timeout error, and never after the returned function ran; that function removes the abort
 * listener and clears the timer, so a finished setup leaves no handle and no listener behind.
 */
export function armDeadline(opts: DeadlineOptions | undefined, what: string, expire: (err: Error) => void): () => void {
  const signal = opts?.signal;
  const ms = opts?.timeout;
  if (signal === undefined && ms === undefined) return noop;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = (): void => { disarm(); expire(abortReason(signal as AbortSignal)); };
  const disarm = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    signal?.removeEventListener('abort', onAbort);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (ms !== undefined) {
    timer = setTimeout(() => { timer = undefined; disarm(); expire(timeoutError(what, ms)); }, ms);
  }
  return disarm;
}

/** Whether `x` is a ready `tls.SecureContext` (what `tls.createSecureContext` returns) rather than options. */
export function isSecureContext(x: object): x is tls.SecureContext {
  const proto = Object.getPrototypeOf(x) as { constructor?: { name?: string } } | null;
  return proto !== null && proto !== Object.prototype && proto.constructor?.name === 'SecureContext'
    && 'context' in x;
}
