/**
 * Test harness shared by every test file.
 *
 * `test` wraps tape's `test` and adds:
 *  - a process-wide guard: `unhandledRejection` and `uncaughtException` are recorded, and the
 *    test during which they happened fails (checked one `setImmediate` turn after the body ends);
 *  - a default timeout (DEFAULT_TIMEOUT_MS) for every test that does not pass its own.
 *
 * Usage: `import { test } from './_support/harness.js';` then `test(name, async (t) => { ... })`
 * or `test(name, { timeout: 500 }, async (t) => { ... })`. Callback-style tests (t.end / t.plan)
 * work too.
 */
import tape from 'tape';

export type Test = tape.Test;
export type TestOptions = tape.TestOptions;
export type TestCase = (t: Test) => unknown;

export const DEFAULT_TIMEOUT_MS = 20_000;

export interface RecordedError {
  kind: 'unhandledRejection' | 'uncaughtException';
  error: unknown;
}

let recorded: RecordedError[] = [];
let guardInstalled = false;

/** Record an error as if the process-wide guard had caught it. */
export function recordError(kind: RecordedError['kind'], error: unknown): void {
  recorded.push({ kind, error });
}

/** Recorded errors not yet attributed to a test (a copy; the list is not cleared). */
export function peekRecordedErrors(): readonly RecordedError[] {
  return recorded.slice();
}

/** Return the recorded errors and clear the list. */
export function takeRecordedErrors(): RecordedError[] {
  const out = recorded;
  recorded = [];
  return out;
}

/** Install the process-wide guard (idempotent; `test` does it on first use). */
export function installGuard(): void {
  if (guardInstalled) return;
  guardInstalled = true;
  process.on('unhandledRejection', (reason) => recordError('unhandledRejection', reason));
  process.on('uncaughtException', (err) => recordError('uncaughtException', err));
  // Errors recorded after the last test's check (or while loading a test file) would otherwise
  // be lost. Prepended so it runs before tape's own 'exit' listener, which prints the summary,
  // removes all 'exit' listeners and exits with `code || harness._exitCode`.
  process.prependListener('exit', () => {
    const left = takeRecordedErrors();
    if (left.length > 0) {
      for (const r of left) console.log(`# ${r.kind} outside any test: ${describeError(r.error)}`);
      tape.getHarness()._exitCode = 1;
      process.exitCode = 1;
    }
  });
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

export function nextImmediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function failRecorded(t: Test, when: string): void {
  for (const r of takeRecordedErrors()) {
    t.fail(`${r.kind} ${when}: ${describeError(r.error)}`);
  }
}

function isPromiseLike(x: unknown): x is PromiseLike<unknown> {
  return (
    (typeof x === 'object' || typeof x === 'function') &&
    x !== null &&
    typeof (x as { then?: unknown }).then === 'function'
  );
}

/** Wrap a test body with the guard check. Exported so the harness can test itself. */
export function guardBody(fn: TestCase): (t: Test) => unknown {
  return (t: Test) => {
    failRecorded(t, 'recorded before this test started (leaked from an earlier test)');
    // Callback-style bodies end through t.end() or t.plan(): delay the real end by one
    // setImmediate turn and check then. Promise-returning bodies are checked below instead.
    const originalEnd = t._end;
    let deferred = false;
    let isAsync = false;
    t._end = function wrappedEnd(this: Test, err?: unknown): void {
      if (isAsync || deferred) {
        originalEnd.call(t, err);
        return;
      }
      deferred = true;
      setImmediate(() => {
        failRecorded(t, 'during this test');
        originalEnd.call(t, err);
      });
    };
    let ret: unknown;
    try {
      ret = fn(t);
    } catch (err) {
      // A synchronous throw becomes a rejection, which tape reports and ends the test with.
      ret = Promise.reject(err);
    }
    if (!isPromiseLike(ret)) return ret;
    isAsync = true;
    return (async () => {
      try {
        await ret;
      } finally {
        await nextImmediate();
        failRecorded(t, 'during this test');
      }
    })();
  };
}

type Harness = typeof tape.test;

/** Build a guarded `test` function over a tape harness (the default one unless given). */
export function makeTest(harness: Harness = tape.test) {
  function guardedTest(name: string, fn: TestCase): void;
  function guardedTest(name: string, opts: TestOptions, fn: TestCase): void;
  function guardedTest(name: string, a: TestOptions | TestCase, b?: TestCase): void {
    installGuard();
    const opts: TestOptions = typeof a === 'function' ? {} : { ...a };
    const fn = typeof a === 'function' ? a : b;
    if (typeof fn !== 'function') throw new TypeError(`test(${JSON.stringify(name)}): missing body`);
    if (opts.timeout === undefined) opts.timeout = DEFAULT_TIMEOUT_MS;
    harness(name, opts, guardBody(fn));
  }
  return Object.assign(guardedTest, {
    skip(name: string, fn: TestCase): void {
      guardedTest(name, { skip: true }, fn);
    },
    only(name: string, fn: TestCase): void {
      installGuard();
      harness.only(name, { timeout: DEFAULT_TIMEOUT_MS }, guardBody(fn));
    },
  });
}

export const test = makeTest();

/** Reject with `${label} timed out after ${ms} ms` unless `promise` settles first. */
export function withTimeout<T>(promise: PromiseLike<T>, ms: number, label = 'operation'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

/** Deterministic PRNG (mulberry32), the same one the simulation loop uses. */
export { seededRandom } from '../../drivers/memory/sim-loop.js';
