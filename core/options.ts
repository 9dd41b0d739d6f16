/**
 * The options of a stream: the public {@link StreamOptions} every stream class takes, and the
 * platform hooks a driver adds for the core ({@link StreamCoreOptions}).
 */
import type { Allocator, Viewer } from './read-buffer.js';
import type { Latin1Decoder } from './regex-scan.js';

/** Options of every stream (the public `StreamOptions`). */
export interface StreamOptions {
  /** Most bytes a read may need buffered. Default 104857600 (100 MiB). */
  maxBufferSize?: number;
  /** Bytes per transport read, and the read-ahead high-water mark. Default 65536. */
  readChunkSize?: number;
  /** Most bytes queued unwritten; a write past it is refused. Default Infinity. */
  maxWriteBufferSize?: number;
}

/** {@link StreamOptions} plus the hooks a driver gives the core for its platform. */
export interface StreamCoreOptions extends StreamOptions {
  /** Allocates copied-out read results (Node drivers: `Buffer.allocUnsafe`). */
  alloc?: Allocator;
  /** latin1 decoding for `readUntilRegex` (Node drivers: `Buffer#latin1Slice`). */
  latin1?: Latin1Decoder;
  /** Makes a result view into a received chunk (default `subarray`; Node drivers: a `Buffer` view). */
  view?: Viewer;
}
