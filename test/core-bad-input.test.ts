/**
 * Misuse throws synchronously with the right class and changes nothing: no action queued, no
 * read pending (or still the same one), the buffer intact. On the core and through the facade.
 */
import { AlreadyReadingError, StreamCore } from '../core/index.js';
import { memoryPair } from '../drivers/index.js';
import { CoreDriver, eachChunking, enc, latin1 } from './_support/core-driver.js';
import { test, withTimeout, type Test } from './_support/harness.js';

type ErrorClass = new (...args: never[]) => Error;
/** Lets a test pass arguments the types forbid, as plain JavaScript callers can. */
const bad = <T>(v: unknown): T => v as T;

function throwsExactly(t: Test, fn: () => unknown, cls: ErrorClass, what: string, message?: RegExp): void {
  try {
    const r = fn();
    t.fail(`${what}: did not throw (returned ${String(r)})`);
    if (r instanceof Promise) r.catch(() => {});
  } catch (err) {
    t.equal((err as Error).constructor, cls, `${what}: ${cls.name}`);
    if (message !== undefined) t.match((err as Error).message, message, `${what}: message`);
    // Every misuse error carries a stable code that matches its class.
    const codes = cls === RangeError ? ['ERR_OUT_OF_RANGE'] : cls === TypeError
      ? ['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE'] : cls === AlreadyReadingError ? ['ERR_ALREADY_READING'] : [];
    t.ok(codes.includes((err as { code?: string }).code ?? ''), `${what}: code ${(err as { code?: string }).code}`);
  }
}

/** Snapshot of everything misuse must leave alone. */
function state(core: StreamCore): string {
  return JSON.stringify([core.readBufferSize, core.reading, core.pendingReadId, core.writeBufferSize, core.closed, core.error]);
}

function unchanged(t: Test, d: CoreDriver, before: string, what: string): void {
  t.equal(d.core.nextAction(), undefined, `${what}: no action queued`);
  t.equal(state(d.core), before, `${what}: state unchanged`);
}

eachChunking('core: bad arguments throw TypeError/RangeError and change nothing', (t, ch) => {
  const d = new CoreDriver(ch, { maxWriteBufferSize: 100 }).queue('abc\ndef');
  d.feed(2);
  d.core.write('inflight');
  d.drain();
  const c = d.core;
  const cases: [string, () => unknown, ErrorClass][] = [
    ['readBytes(-1)', () => c.readBytes(-1), RangeError],
    ['readBytes(1.5)', () => c.readBytes(1.5), RangeError],
    ['readBytes(NaN)', () => c.readBytes(NaN), RangeError],
    ['readBytes(Infinity)', () => c.readBytes(Infinity), RangeError],
    ["readBytes('3')", () => c.readBytes(bad('3')), TypeError],
    ['tryReadBytes(-1)', () => c.tryReadBytes(-1), RangeError],
    ["readUntil('')", () => c.readUntil(''), RangeError],
    ['readUntil(empty bytes)', () => c.readUntil(new Uint8Array(0)), RangeError],
    ['readUntil(42)', () => c.readUntil(bad(42)), TypeError],
    ['readUntil([10])', () => c.readUntil(bad([10])), TypeError],
    ['readUntil maxBytes -1', () => c.readUntil('\n', { maxBytes: -1 }), RangeError],
    ['readUntil maxBytes 2.5', () => c.readUntil('\n', { maxBytes: 2.5 }), RangeError],
    ["readUntil maxBytes '9'", () => c.readUntil('\n', { maxBytes: bad('9') }), TypeError],
    ['readUntil maxBytes null', () => c.readUntil('\n', { maxBytes: bad(null) }), TypeError],
    ['tryReadUntil maxBytes null', () => c.tryReadUntil('\n', bad(null)), TypeError],
    ['readUntilRegex maxBytes null', () => c.readUntilRegex(/\n/, { maxBytes: bad(null) }), TypeError],
    ['readUntilRegexOrPending maxBytes null', () => c.readUntilRegexOrPending(/\n/, bad(null)), TypeError],
    ['tryReadUntil empty', () => c.tryReadUntil(''), RangeError],
    ['tryReadUntil maxBytes -1', () => c.tryReadUntil('\n', -1), RangeError],
    ['readUntilRegex(42)', () => c.readUntilRegex(bad(42)), TypeError],
    ['readUntilRegex({})', () => c.readUntilRegex(bad({})), TypeError],
    ['readUntilRegex maxBytes -1', () => c.readUntilRegex(/\n/, { maxBytes: -1 }), RangeError],
    ["readUntilRegex('(') (invalid source)", () => c.readUntilRegex('('), TypeError],
    ['tryReadUntilRegex(42)', () => c.tryReadUntilRegex(bad(42)), TypeError],
    ["readInto('abc')", () => c.readInto(bad('abc')), TypeError],
    ['readInto(ArrayBuffer)', () => c.readInto(bad(new ArrayBuffer(4))), TypeError],
    ['tryReadInto([1])', () => c.tryReadInto(bad([1])), TypeError],
    ['write(42)', () => c.write(bad(42)), TypeError],
    ['write(null)', () => c.write(bad(null)), TypeError],
    ["receive('x')", () => c.receive(bad('x')), TypeError],
    ["receiveError('x')", () => c.receiveError(bad('x')), TypeError],
    ['written(-1)', () => c.written(-1), RangeError],
    ['written(0.5)', () => c.written(0.5), RangeError],
    ['written(more than in flight)', () => c.written(9), RangeError],
    ["close('not an error')", () => c.close(bad('not an error')), TypeError],
    ['close({message})', () => c.close(bad({ message: 'x' })), TypeError],
  ];
  for (const [what, fn, cls] of cases) {
    const before = state(c);
    throwsExactly(t, fn, cls, what);
    unchanged(t, d, before, what);
  }
  d.feedAll();
  const id = d.core.readUntil('\n');
  d.drain();
  t.equal(d.text(t, id), 'abc\n', 'the stream still works, bytes intact');
  d.core.written(8);
  d.drain();
  t.notOk(d.core.writing, 'the write in flight still completes');
  d.checkInvariants(t);
});

eachChunking("core: a second read while one is pending throws 'Already reading' and changes nothing", (t, ch) => {
  const d = new CoreDriver(ch).queue('0123456789').queue('X');
  d.feed(1);
  const first = d.core.readBytes(11);
  d.drain();
  const c = d.core;
  const before = state(c);
  const buf = new Uint8Array(1);
  const misuse: [string, () => unknown][] = [
    ['readBytes', () => c.readBytes(1)], ['readUntil', () => c.readUntil('1')],
    ['readUntilRegex', () => c.readUntilRegex(/1/)], ['readUntilClose', () => c.readUntilClose()],
    ['readInto', () => c.readInto(buf)], ['tryReadBytes', () => c.tryReadBytes(0)],
    ['tryReadUntil', () => c.tryReadUntil('0')], ['tryReadUntilRegex', () => c.tryReadUntilRegex('0')],
    ['tryReadInto', () => c.tryReadInto(buf)],
  ];
  for (const [what, fn] of misuse) {
    throwsExactly(t, fn, AlreadyReadingError, what, /Already reading/);
    unchanged(t, d, before, what);
  }
  t.equal(c.pendingReadId, first, 'the first read is still the pending one');
  d.until(first);
  t.equal(d.text(t, first), '0123456789X', 'and gets every byte');
  d.checkInvariants(t);
});

test('core: bad constructor options', async (t) => {
  const cases: [string, unknown, ErrorClass][] = [
    ['null', null, TypeError], ["'big'", 'big', TypeError],
    ['maxBufferSize 0', { maxBufferSize: 0 }, RangeError], ['maxBufferSize -1', { maxBufferSize: -1 }, RangeError],
    ['maxBufferSize 1.5', { maxBufferSize: 1.5 }, RangeError], ["maxBufferSize '10'", { maxBufferSize: '10' }, TypeError],
    ['maxBufferSize NaN', { maxBufferSize: NaN }, RangeError],
    ['readChunkSize 0', { readChunkSize: 0 }, RangeError], ['readChunkSize Infinity', { readChunkSize: Infinity }, RangeError],
    ['maxWriteBufferSize -1', { maxWriteBufferSize: -1 }, RangeError], ['maxWriteBufferSize NaN', { maxWriteBufferSize: NaN }, RangeError],
    ["maxWriteBufferSize '1'", { maxWriteBufferSize: '1' }, TypeError],
    ['alloc not a function', { alloc: 5 }, TypeError], ['latin1 not a function', { latin1: 'x' }, TypeError],
  ];
  for (const [what, opts, cls] of cases) throwsExactly(t, () => new StreamCore(bad(opts)), cls, `new StreamCore(${what})`);
  t.doesNotThrow(() => new StreamCore({ maxWriteBufferSize: Infinity }), 'maxWriteBufferSize Infinity is allowed');
  t.doesNotThrow(() => new StreamCore({ maxWriteBufferSize: 0 }), 'maxWriteBufferSize 0 is allowed');
});

for (const chunking of ['whole', 'byte', 'random'] as const) {
  test(`facade (memoryPair, ${chunking}): bad arguments throw synchronously and change nothing`, async (t) => {
    const [a, b] = memoryPair({ chunking, seed: 7 });
    try {
      await b.write('hello\nworld');
      const fn = (): void => {};
      const cases: [string, () => unknown, ErrorClass][] = [
        ['readBytes(-1)', () => a.readBytes(-1), RangeError],
        ["readBytes('3')", () => a.readBytes(bad('3')), TypeError],
        ['readBytes opts not an object', () => a.readBytes(1, bad('x')), TypeError],
        ['readBytes callback 5', () => a.readBytes(1, { callback: bad(5) }), TypeError],
        ['readBytes streamingCallback 5', () => a.readBytes(1, { streamingCallback: bad(5) }), TypeError],
        ["readBytes partial 'yes'", () => a.readBytes(1, { partial: bad('yes') }), TypeError],
        ['readBytes signal {}', () => a.readBytes(1, { signal: bad({}) }), TypeError],
        ["readUntil('')", () => a.readUntil(''), RangeError],
        ['readUntil(5)', () => a.readUntil(bad(5)), TypeError],
        ['readUntil maxBytes -1', () => a.readUntil('\n', { maxBytes: -1 }), RangeError],
        ['readUntil aborted signal, bad delimiter', () => a.readUntil('', { signal: AbortSignal.abort() }), RangeError],
        ['readUntilRegex(5)', () => a.readUntilRegex(bad(5)), TypeError],
        ['readUntilRegex maxBytes -1', () => a.readUntilRegex('\n', { maxBytes: -1 }), RangeError],
        ['readUntilClose callback 5', () => a.readUntilClose({ callback: bad(5) }), TypeError],
        ['readUntilClose signal null', () => a.readUntilClose({ signal: bad(null) }), TypeError],
        ["readInto('x')", () => a.readInto(bad('x')), TypeError],
        ['readInto signal string', () => a.readInto(new Uint8Array(1), { signal: bad('s') }), TypeError],
        ['write(5)', () => a.write(bad(5)), TypeError],
        ["write('x', 'cb')", () => a.write('x', bad('cb')), TypeError],
        ["setCloseCallback('x')", () => a.setCloseCallback(bad('x')), TypeError],
        ["close('x')", () => a.close(bad('x')), TypeError],
      ];
      for (const [what, call, cls] of cases) {
        throwsExactly(t, call, cls, what);
        t.notOk(a.reading(), `${what}: no read pending`);
        t.notOk(a.closed(), `${what}: still open`);
      }
      let lineCb: (v: Uint8Array) => void = fn;
      const line = new Promise<Uint8Array>((resolve) => { lineCb = resolve; });
      a.readUntil('\n', { callback: (v) => { lineCb(v); } });
      throwsExactly(t, () => a.readBytes(1), AlreadyReadingError, 'second read while pending', /Already reading/);
      throwsExactly(t, () => a.readUntilClose({ signal: AbortSignal.abort() }), AlreadyReadingError, 'second read, aborted signal', /Already reading/);
      t.equal(latin1(await withTimeout(line, 5000, 'readUntil')), 'hello\n', 'the pending read is unaffected');
      t.equal(latin1(await withTimeout(a.readBytes(5), 5000, 'readBytes')), 'world', 'no byte lost to misuse');
      t.notOk(a.writing(), 'no stray write queued');
    } finally {
      a.close();
      b.close();
    }
  });
}

test('facade: bad memoryPair options', async (t) => {
  const cases: [string, unknown, ErrorClass][] = [
    ["chunking 'x'", { chunking: 'x' }, TypeError], ['latency -1', { latency: -1 }, RangeError],
    ['maxBufferSize 0', { maxBufferSize: 0 }, RangeError], ["readChunkSize '1'", { readChunkSize: '1' }, TypeError],
    ['both faults', { resetAfterBytes: 1, eofAfterBytes: 1 }, TypeError], ['null', null, TypeError],
  ];
  for (const [what, opts, cls] of cases) throwsExactly(t, () => memoryPair(bad(opts)), cls, `memoryPair(${what})`);
  t.ok(enc('x').length === 1);
});
