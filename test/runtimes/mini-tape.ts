/**
 * A tape-compatible runner small enough to run anywhere the package does (Node, Bun, Deno, a
 * browser page): `test(name, fn)` registers, {@link Suite.run} runs the tests of each check one
 * after another and reports every result as it happens, so a runtime that hangs or dies still
 * leaves the results it got to. No Node built-in, no tape: only ES2022 and setTimeout.
 *
 * tape semantics kept: a test ends when its promise settles, a rejection fails it, a test whose
 * name carries `# SKIP` is reported as skipped, `deepEqual` is strict (prototypes and values).
 * Added: an unhandled rejection or uncaught error while a test runs fails that test (the same
 * guard as test/_support/harness.ts), and every test is bounded in time.
 */
import type { Assertions, TestFunction } from '../../conformance/index.js';

/** One line of the protocol between a probe and the host (test/runtimes/run.ts). */
export type RtEvent =
  | { type: 'runtime'; runtime: string; version: string }
  | { type: 'check-start'; check: string }
  | { type: 'result'; check: string; name: string; status: 'pass' | 'fail' | 'skip'; failures: string[]; ms: number }
  | { type: 'check-end'; check: string; ms: number }
  | { type: 'comment'; check: string; text: string }
  /** Something about how a check ran that the matrix should footnote (e.g. a runtime workaround). */
  | { type: 'note'; check: string; text: string }
  | { type: 'done' };

/** Prefix of each protocol line on a probe's stdout (anything else there is the runtime's own output). */
export const LINE_PREFIX = '@@rt ';

type Body = (t: Assertions) => Promise<void>;

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  try {
    return typeof err === 'string' ? err : String(JSON.stringify(err) ?? err);
  } catch {
    return String(err);
  }
}

/** Strict structural equality: same prototype, same own keys, typed arrays by content. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  const ra = a as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && deepEqual(ra[k], rb[k]));
}

/** The guard's drain, once installed (one per realm, however many suites). */
let takeRecorded: (() => string[]) | null = null;

const macrotask = (ms = 0): Promise<void> => new Promise((resolve) => { setTimeout(resolve, ms); });

/**
 * Waits until an unhandled rejection of the code that just ran has been reported. Node and Bun
 * report it before the next macrotask; a browser fires `unhandledrejection` from a task of its
 * own, which Chromium sometimes runs after a `setTimeout(0)` (3 times in 20 here), never (in
 * 20) after two and a short timer.
 */
let settleReports: () => Promise<void> = () => macrotask();

/**
 * Records unhandled rejections and uncaught errors: `process.on` where there is a Node-style
 * `process` (Node, Bun), the `unhandledrejection`/`error` events elsewhere (Deno, browsers).
 */
export function installGuard(): () => string[] {
  if (takeRecorded !== null) return takeRecorded;
  let recorded: string[] = [];
  const g = globalThis as {
    Deno?: unknown;
    process?: { on?: (event: string, fn: (e: unknown) => void) => void };
    addEventListener?: (type: string, fn: (e: { reason?: unknown; error?: unknown; preventDefault(): void }) => void) => void;
  };
  if (g.Deno === undefined && typeof g.process?.on === 'function') {
    g.process.on('unhandledRejection', (r) => recorded.push(`unhandledRejection: ${describe(r)}`));
    g.process.on('uncaughtException', (e) => recorded.push(`uncaughtException: ${describe(e)}`));
  } else if (typeof g.addEventListener === 'function') {
    settleReports = async () => { await macrotask(); await macrotask(); await macrotask(4); };
    g.addEventListener('unhandledrejection', (e) => { e.preventDefault(); recorded.push(`unhandledrejection: ${describe(e.reason)}`); });
    g.addEventListener('error', (e) => { e.preventDefault(); recorded.push(`uncaught error: ${describe(e.error)}`); });
  } else {
    throw new Error('no way to observe unhandled rejections on this runtime');
  }
  takeRecorded = () => {
    const out = recorded;
    recorded = [];
    return out;
  };
  return takeRecorded;
}

function bounded<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new Error(`${label}: not finished within ${ms} ms`)); }, ms);
  });
  return Promise.race([p, timeout]).finally(() => { clearTimeout(timer); });
}

/** The assertions a test body gets; failures are collected, not thrown (tape behaviour). */
function assertions(failures: string[], comment: (text: string) => void): Assertions {
  const check = (ok: boolean, what: string, message?: string): void => {
    if (!ok) failures.push(message === undefined ? what : `${message} (${what})`);
  };
  return {
    ok: (v, m) => { check(Boolean(v), `expected truthy, got ${describe(v)}`, m); },
    equal: (x, y, m) => { check(x === y, `expected ${describe(y)}, got ${describe(x)}`, m); },
    deepEqual: (x, y, m) => { check(deepEqual(x, y), `expected ${describe(y)}, got ${describe(x)}`, m); },
    fail: (m) => { failures.push(m ?? 'fail'); },
    pass: () => {},
    comment,
  };
}

/** Checks (named groups of tests) run one after another; each result is reported as it comes. */
export class Suite {
  private readonly checks: { id: string; register: (test: TestFunction) => void | Promise<void> }[] = [];
  private readonly takeErrors: () => string[];
  /** Errors recorded between tests: they belong to no test, the check's end reports them. */
  private outside: string[] = [];

  constructor(private readonly report: (e: RtEvent) => void, private readonly testTimeoutMs = 60_000) {
    this.takeErrors = installGuard();
  }

  /**
   * Adds a check: `register` is called when the check starts and registers its tests with the
   * `test` it is given (e.g. `runConformance(test, …)`). A `register` that throws fails the check.
   */
  check(id: string, register: (test: TestFunction) => void | Promise<void>): void {
    this.checks.push({ id, register });
  }

  /** Runs every check; resolves with the number of failed tests. */
  async run(): Promise<number> {
    let failed = 0;
    for (const { id, register } of this.checks) {
      const started = Date.now();
      this.report({ type: 'check-start', check: id });
      const tests: { name: string; fn: Body }[] = [];
      const test: TestFunction = (name, fn) => { tests.push({ name, fn }); };
      try {
        await bounded(Promise.resolve(register(test)), this.testTimeoutMs, `${id}: setup`);
        if (tests.length === 0) throw new Error('registered no test');
      } catch (err) {
        tests.length = 0;
        tests.push({ name: `${id}: setup`, fn: async () => { throw err; } });
      }
      for (const { name, fn } of tests) failed += await this.runOne(id, name, fn) === 'fail' ? 1 : 0;
      const left = [...this.outside, ...this.takeErrors()];
      this.outside = [];
      if (left.length > 0) {
        failed++;
        this.report({ type: 'result', check: id, name: `${id}: errors after the last test`, status: 'fail', failures: left, ms: 0 });
      }
      this.report({ type: 'check-end', check: id, ms: Date.now() - started });
    }
    this.report({ type: 'done' });
    return failed;
  }

  private async runOne(check: string, name: string, fn: Body): Promise<'pass' | 'fail' | 'skip'> {
    const failures: string[] = [];
    const t = assertions(failures, (text) => { this.report({ type: 'comment', check, text }); });
    const started = Date.now();
    this.outside.push(...this.takeErrors());
    try {
      await bounded(Promise.resolve().then(() => fn(t)), this.testTimeoutMs, name);
    } catch (err) {
      failures.push(`threw ${describe(err)}`);
    }
    await settleReports(); // an unhandled rejection of this test is reported before it is judged
    for (const e of this.takeErrors()) failures.push(e);
    const status = failures.length > 0 ? 'fail' : /#\s*SKIP\b/i.test(name) ? 'skip' : 'pass';
    this.report({ type: 'result', check, name, status, failures, ms: Date.now() - started });
    return status;
  }
}
