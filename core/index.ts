/**
 * `sansio-iostream/core`: the sans-IO stream state machine, its actions and errors.
 * Nothing here imports a Node built-in: it runs in browsers, Deno, Bun and workers.
 * @module sansio-iostream/core
 */
export { StreamCore } from './stream-core.js';
export type { StreamOptions, StreamCoreOptions } from './options.js';
export type {
  Action, WantReadAction, PauseReadAction, WriteTheseAction, ResolveRequestAction,
  StreamChunkAction, CloseWithErrorAction, ClosedAction,
} from './actions.js';
export {
  StreamClosedError, StreamBufferFullError, UnsatisfiableReadError, AlreadyReadingError,
  type ErrorCode, type CodedError, type BufferLimit, type BufferFullDetails,
} from './errors.js';
export { ReadBuffer, type Allocator, type Viewer } from './read-buffer.js';
export { DelimiterScan } from './delimiter-scan.js';
export { RegexScan, defaultLatin1, type Latin1Decoder } from './regex-scan.js';
