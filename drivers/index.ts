/**
 * `sansio-iostream`: Tornado-style buffered byte streams over any transport.
 *
 * The root entry point: the shared {@link BaseIOStream} facade, the Node drivers, the errors,
 * and the in-memory driver.
 * @module sansio-iostream
 */
export { BaseIOStream, asError } from './base.js';
export type {
  ReadOptions, ReadBytesOptions, ReadUntilOptions, ReadUntilCloseOptions, ReadIntoOptions, RecordIterOptions,
  WithCallback, WithoutCallback, DriverHooks,
} from './read-options.js';
export type { Transport, TransportSink, Scheduler } from './transport.js';
export {
  StreamClosedError, StreamBufferFullError, UnsatisfiableReadError, AlreadyReadingError,
  type ErrorCode, type CodedError,
} from '../core/errors.js';
export type { StreamOptions } from '../core/stream-core.js';
export * from './memory.js';
export * from './net.js';
export * from './tls.js';
export * from './server.js';
export * from './pipe.js';
