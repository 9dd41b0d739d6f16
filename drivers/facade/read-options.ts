/**
 * The options every read of {@link BaseIOStream} takes, and their validation: one check per
 * read, before anything changes (a bad option throws synchronously and leaves the stream as
 * it was).
 */
import { invalidArgType } from '../../core/errors.js';
import { checkObject, describe } from '../../core/validate.js';
import type { StreamCoreOptions } from '../../core/options.js';
import type { Scheduler } from './transport.js';

/** Options every read accepts. */
export interface ReadOptions<T> {
  /**
   * Tornado-4.4 style: called with the result, never inside the call that started the read:
   * from the transport event that completed it (inside that delivery, as a `'data'` handler
   * runs), or from one microtask when the buffer completed it. With a callback the read returns `undefined` and makes no promise;
   * a failure is reported by closing the stream (`error`, close callback) and the callback is
   * not called. A callback that throws closes the stream with what it threw.
   */
  callback?: (result: T) => void;
  /**
   * Aborting rejects the pending read with `signal.reason` (with a `callback`: the callback is
   * not called), frees the read slot and loses no byte. An already aborted signal rejects at once.
   */
  signal?: AbortSignal;
}

/** Options of `readBytes`. */
export interface ReadBytesOptions<B> extends ReadOptions<B> {
  /** Resolve as soon as 1..n bytes are available. */
  partial?: boolean;
  /** Receive the bytes in arrival order as they come; the final result is then empty. */
  streamingCallback?: (chunk: B) => void;
}

/** Options of `readUntil` and `readUntilRegex`. */
export interface ReadUntilOptions<B> extends ReadOptions<B> {
  /**
   * Close with `UnsatisfiableReadError` when more than this many bytes are buffered without a
   * match (a match ending within `maxBytes` succeeds). A regex never sees more than this many
   * bytes, which bounds its cost.
   */
  maxBytes?: number;
}

/** Options of `readUntilClose`. */
export interface ReadUntilCloseOptions<B> extends ReadOptions<B> {
  /** Receive the bytes in arrival order as they come; the final result is then empty. */
  streamingCallback?: (chunk: B) => void;
}

/** Options of `readInto`. */
export interface ReadIntoOptions extends ReadOptions<number> {
  /** Resolve as soon as 1..buf.length bytes were copied into the buffer. */
  partial?: boolean;
}

/** Options of {@link BaseIOStream.readUntilIter} (and `lines()`). */
export interface RecordIterOptions {
  /** As for `readUntil`: a record longer than this (delimiter included) fails the iteration. */
  maxBytes?: number;
  /**
   * Aborting ends the iteration: a pending `next()` rejects with `signal.reason`, later ones
   * too; the read slot is freed and no byte is lost.
   */
  signal?: AbortSignal;
}

/** Options of {@link BaseIOStream.readUntilEach} (and `eachLine()`). */
export interface RecordEachOptions {
  /** As for `readUntil`: a record longer than this (delimiter included) fails the read. */
  maxBytes?: number;
  /** Aborting ends the read: it rejects with `signal.reason`, the slot is freed, no byte is lost. */
  signal?: AbortSignal;
}

/** Read options that carry a `callback`: the read returns `undefined`. */
export type WithCallback<O, T> = O & {
  /** Called with the result, never inside the call (see {@link ReadOptions.callback}). */
  callback: (result: T) => void;
};
/** Read options without a `callback`: the read returns a promise. */
export type WithoutCallback<O> = O & {
  /** Absent: the read returns a promise. */
  callback?: undefined;
};

/** Platform hooks a driver passes to the facade (not user options). */
export interface DriverHooks {
  /** Allocates copied-out results (Node: `Buffer.allocUnsafe`). */
  alloc?: StreamCoreOptions['alloc'];
  /** latin1 decoding for regex reads (Node: `Buffer#latin1Slice`). */
  latin1?: StreamCoreOptions['latin1'];
  /** Makes result views into received chunks (Node: a `Buffer` view). */
  view?: StreamCoreOptions['view'];
  /** Where close callbacks run (default: `setImmediate`, or a zero timeout). */
  schedule?: Scheduler;
  /**
   * Reports what a close callback threw (`stream` is the stream it was set on). By default it
   * is thrown again from a fresh task, an uncaught exception (see docs/API.md). The Node
   * drivers send it to the `onError` of the `TCPServer` that accepted the stream, if any.
   */
  reportError?: (error: unknown, stream: object) => void;
}

/** The options of a read, validated: throws a TypeError naming the bad option. */
export function readOpts<O extends ReadOptions<never>>(opts: O | undefined): O | undefined {
  if (opts === undefined) return undefined;
  checkObject(opts, 'read options', false);
  const o = opts as unknown as ReadOptions<unknown> & { streamingCallback?: unknown; partial?: unknown };
  if (o.callback !== undefined && typeof o.callback !== 'function') throw invalidArgType('callback must be a function');
  if (o.streamingCallback !== undefined && typeof o.streamingCallback !== 'function') {
    throw invalidArgType('streamingCallback must be a function');
  }
  if (o.partial !== undefined && typeof o.partial !== 'boolean') throw invalidArgType('partial must be a boolean');
  checkSignal(o.signal);
  return opts;
}

/**
 * Throws unless `signal` is undefined or an AbortSignal, checked structurally for what the
 * drivers use of one (reads here, connection setup in `connect-options.ts`).
 */
export function checkSignal(signal: unknown): asserts signal is AbortSignal | undefined {
  const s = signal as AbortSignal | undefined;
  if (s !== undefined && (typeof s !== 'object' || s === null || typeof s.addEventListener !== 'function'
    || typeof s.removeEventListener !== 'function' || typeof s.aborted !== 'boolean')) {
    throw invalidArgType(`signal must be an AbortSignal, got ${describe(s)}`);
  }
}
