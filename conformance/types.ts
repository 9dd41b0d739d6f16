/**
 * The structural types the conformance suite needs from its host: a tape-compatible `test`
 * function, the assertions it uses, and what a driver declares about itself. Nothing here
 * imports tape or a Node built-in, so the suite runs under any runtime and any tape-like runner.
 */
import type { BaseIOStream } from '../drivers/facade/base-iostream.js';
import type { StreamOptions } from '../core/options.js';

/** The subset of tape's `Test` object the suite calls. */
export interface Assertions {
  /** Passes when `value` is truthy. */
  ok(value: unknown, message?: string): void;
  /** Passes when `actual === expected`. */
  equal(actual: unknown, expected: unknown, message?: string): void;
  /** Passes when `actual` and `expected` are structurally equal (tape's `deepEqual`). */
  deepEqual(actual: unknown, expected: unknown, message?: string): void;
  /** Records a failed assertion. */
  fail(message?: string): void;
  /** Records a passing assertion. */
  pass(message?: string): void;
  /** Prints a comment line in the test output (TAP `# message`). */
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
  | 'setCloseCallback' | 'closed' | 'reading' | 'writing' | 'error' | 'readableLength' | 'setNodelay' | 'readUntilIter' | 'lines' | 'readUntilEach' | 'eachLine'
  | typeof Symbol.asyncIterator | typeof Symbol.asyncDispose>;

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
  /** Builds each test's connected pair (see {@link MakePair}). */
  makePair: MakePair;
  /** What the driver cannot do; omitted fields take {@link DEFAULT_CAPABILITIES}. */
  capabilities?: Capabilities;
  /** Per-test bound in ms (default 15000): a hung test fails instead of hanging the run. */
  timeoutMs?: number;
  /**
   * Run every test with the facade's driver-contract checks on (default true): a stream whose
   * transport breaks a rule of the Transport contract (`written()` inside `write()`, delivery
   * after `pause()` or `close()`, more confirmed than written, a method that throws) fails the
   * test with a `ERR_DRIVER_CONTRACT` message naming the rule. Streams not made by this package's
   * facade (another copy of it) are not checked.
   */
  checkDriverContract?: boolean;
}

/** What a test body gets. */
export interface CaseContext {
  /** The test's assertions. */
  t: Assertions;
  /** A pair from the driver; closed when the test ends, whatever happens. */
  pair(options?: StreamOptions): Promise<readonly [AnyStream, AnyStream]>;
  /** The driver's capabilities, defaults filled in. */
  caps: Required<Capabilities>;
}

/** One behaviour of the suite. */
export interface Case {
  /** What the case checks, in words; the test is named `${name}: ${behaviour}`. */
  behaviour: string;
  /** The reason this case cannot run with `caps`, or null when it can. */
  skip?: (caps: Required<Capabilities>) => string | null;
  /** The test body; it fails by a failed assertion or by rejecting. */
  run(ctx: CaseContext): Promise<void>;
}
