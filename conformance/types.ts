/**
 * The structural types the conformance suite needs from its host: a tape-compatible `test`
 * function, the assertions it uses, and what a driver declares about itself. Nothing here
 * imports tape or a Node built-in, so the suite runs under any runtime and any tape-like runner.
 */
import type { BaseIOStream } from '../drivers/base.js';
import type { StreamOptions } from '../core/stream-core.js';

/** The subset of tape's `Test` object the suite calls. */
export interface Assertions {
  ok(value: unknown, message?: string): void;
  equal(actual: unknown, expected: unknown, message?: string): void;
  deepEqual(actual: unknown, expected: unknown, message?: string): void;
  fail(message?: string): void;
  pass(message?: string): void;
  comment(message: string): void;
}

/**
 * A tape-compatible `test(name, fn)`. The body returns a promise and ends when it settles
 * (tape 5 behaviour); a rejection fails the test.
 */
export type TestFunction = (name: string, fn: (t: Assertions) => Promise<void>) => unknown;

/**
 * Any stream a driver returns: the public surface of a {@link BaseIOStream}, whose reads may
 * resolve with a `Uint8Array` subclass such as `Buffer` (structural, so `BaseIOStream<Buffer>`
 * fits as well as `BaseIOStream<Uint8Array>`).
 */
export type AnyStream = Pick<BaseIOStream<Uint8Array>,
  'readBytes' | 'readUntil' | 'readUntilRegex' | 'readUntilClose' | 'readInto' | 'write' | 'close'
  | 'setCloseCallback' | 'closed' | 'reading' | 'writing' | 'error' | 'setNodelay' | typeof Symbol.asyncIterator>;

/**
 * Makes a connected pair: what `a` writes `b` reads and, when the driver is bidirectional,
 * the reverse. `options` are passed to both streams' constructors.
 */
export type MakePair = (options?: StreamOptions) => Promise<readonly [AnyStream, AnyStream]>;

/**
 * What a driver cannot do. Every test that needs a missing capability is still registered,
 * by name, as skipped with the reason printed.
 */
export interface Capabilities {
  /**
   * `b` can write to `a` as well as `a` to `b` (default true). A one-way pipe pair declares
   * false; tests that need traffic from `b` to `a` are then skipped.
   */
  bidirectional?: boolean;
  /**
   * `b` sees a clean EOF when `a` closes (default true). A transport that cannot signal an end
   * of stream without tearing down the connection declares false.
   */
  peerEof?: boolean;
  /**
   * The most bytes one test may push through in each direction (default 16 MiB). A slow
   * transport (one byte per delivery) lowers it: the bulk test then runs at this size and the
   * full-size run is listed as skipped.
   */
  maxTransfer?: number;
}

/** Options of {@link runConformance}. */
export interface ConformanceOptions {
  /** Prefix of every test name: `${name}: <behaviour>`. */
  name: string;
  makePair: MakePair;
  capabilities?: Capabilities;
  /** Per-test bound in ms (default 15000): a hung test fails instead of hanging the run. */
  timeoutMs?: number;
}

/** What a test body gets. */
export interface CaseContext {
  t: Assertions;
  /** A pair from the driver; closed when the test ends, whatever happens. */
  pair(options?: StreamOptions): Promise<readonly [AnyStream, AnyStream]>;
  caps: Required<Capabilities>;
}

/** One behaviour of the suite. */
export interface Case {
  behaviour: string;
  /** The reason this case cannot run with `caps`, or null when it can. */
  skip?: (caps: Required<Capabilities>) => string | null;
  run(ctx: CaseContext): Promise<void>;
}
