/**
 * `sansio-iostream/facade`: what a driver is built from, with no Node built-in, so a driver for
 * Deno, a browser or a worker imports nothing else: the {@link BaseIOStream} facade a driver
 * extends, the {@link Transport} it implements and the {@link TransportSink} it reports into,
 * the {@link Scheduler} and {@link DriverHooks} it may pass, the stream and read option types,
 * the errors, and the driver-contract checker ({@link setDriverContractChecks}). The guide is
 * docs/DRIVERS.md.
 * @module sansio-iostream/facade
 */
export { BaseIOStream } from './base-iostream.js';
export type {
  ReadOptions, ReadBytesOptions, ReadUntilOptions, ReadUntilCloseOptions, ReadIntoOptions, RecordIterOptions,
  WithCallback, WithoutCallback, DriverHooks,
} from './read-options.js';
export type { Transport, TransportSink, Scheduler } from './transport.js';
export {
  DriverContractError, IN_FLIGHT_BYTES, driverContractChecks, driverContractViolations, setDriverContractChecks,
  type DriverRule,
} from './contract-check.js';
export type { StreamOptions } from '../../core/options.js';
export {
  StreamClosedError, StreamBufferFullError, UnsatisfiableReadError, AlreadyReadingError, asError,
  type ErrorCode, type CodedError, type BufferLimit, type BufferFullDetails,
} from '../../core/errors.js';
