/**
 * `sansio-iostream`: Tornado-style buffered byte streams over any transport.
 *
 * The root entry point: the shared {@link BaseIOStream} facade, the Node drivers, the errors,
 * and the in-memory driver.
 * @module sansio-iostream
 */
export { BaseIOStream } from './facade/base-iostream.js';
export { asError } from '../core/errors.js';
export type {
  ReadOptions, ReadBytesOptions, ReadUntilOptions, ReadUntilCloseOptions, ReadIntoOptions, RecordIterOptions, RecordEachOptions,
  WithCallback, WithoutCallback, DriverHooks,
} from './facade/read-options.js';
export type { Transport, TransportSink, Scheduler } from './facade/transport.js';
export {
  StreamClosedError, StreamBufferFullError, UnsatisfiableReadError, AlreadyReadingError,
  type ErrorCode, type CodedError, type BufferLimit, type BufferFullDetails,
} from '../core/errors.js';
export type { StreamOptions } from '../core/options.js';
export * from './memory/index.js';
export * from './node/net.js';
export * from './node/tls.js';
export * from './node/server.js';
export * from './node/pipe.js';
