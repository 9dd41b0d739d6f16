/**
 * Property: for any byte string, any split of it into `receive()` calls, any script of reads,
 * any `maxBufferSize`, and an end of input (EOF, user close or reset) that may come before,
 * during or after any read — possibly cutting the input short — the StreamCore returns what a
 * reference model computes on the concatenated string (slice / indexOf / regex on latin1
 * text), rejects with the same `StreamClosedError` and `realError` (instance or class), and
 * closes with the same `error`.
 *
 * The model knows nothing of chunks or timing: a read is decided by the bytes that will ever be
 * readable and the limits, then by the closed state. The regexes are ones whose first match
 * cannot change as more input arrives (API.md), so the model may search the whole text the
 * read may look at.
 */
import fc from 'fast-check';
import { StreamBufferFullError, StreamClosedError, UnsatisfiableReadError } from '../core/index.js';
import { CoreDriver, latin1, type Chunking } from './_support/core-driver.js';
import { test } from './_support/harness.js';

const ALPHABET = [0x61, 0x62, 0x0d, 0x0a]; // a b \r \n: delimiters form often
const REGEXES: readonly (RegExp | string)[] = [/\r?\n\r?\n/, /b+a/, /a\r\n/, 'ba?\n'];
type Ending = 'eof' | 'close' | 'error';

type Op =
  | { k: 'bytes'; n: number; partial: boolean }
  | { k: 'into'; n: number; partial: boolean }
  | { k: 'until'; delim: readonly number[]; max: number | null }
  | { k: 'regex'; r: number; max: number | null }
  | { k: 'ahead'; chunks: number }
  /** The end of input arrives now, after `chunks` more chunks (Infinity: all the rest). */
  | { k: 'end'; chunks: number };

const maxArb = fc.option(fc.integer({ min: 0, max: 40 }), { freq: 2 });
/** Bytes from the alphabet mixed with whole delimiters, so that reads often find a match. */
const dataArb = fc.array(fc.oneof(
  fc.constantFrom(...ALPHABET).map((b) => [b]),
  fc.constantFrom('\r\n', '\r\n\r\n', 'bba', 'aab', 'a\r\n', 'b\n').map((s) => Array.from(s, (c) => c.charCodeAt(0))),
), { maxLength: 60 }).map((parts) => parts.flat());

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('bytes' as const), n: fc.integer({ min: 0, max: 8 }), partial: fc.boolean() }),
  fc.record({ k: fc.constant('into' as const), n: fc.integer({ min: 0, max: 8 }), partial: fc.boolean() }),
  fc.record({
    k: fc.constant('until' as const),
    delim: fc.oneof(
      fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 4 }),
      fc.constantFrom([0x0d, 0x0a], [0x0d, 0x0a, 0x0d, 0x0a], [0x61, 0x61, 0x62], [0x0a]),
    ),
    max: maxArb,
  }),
  fc.record({ k: fc.constant('regex' as const), r: fc.integer({ min: 0, max: REGEXES.length - 1 }), max: maxArb }),
  fc.record({ k: fc.constant('ahead' as const), chunks: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ k: fc.constant('end' as const), chunks: fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 4 })) }),
);

/** Splits by cycling through `sizes`. */
function sizedChunking(sizes: number[]): Chunking {
  return {
    name: `sizes ${sizes.join(',')}`,
    split(bytes) {
      const out: Uint8Array[] = [];
      for (let at = 0, i = 0; at < bytes.length; i++) {
        const n = sizes[i % sizes.length] as number;
        out.push(bytes.slice(at, at + n));
        at += n;
      }
      return out;
    },
  };
}

type LimitError = typeof UnsatisfiableReadError | typeof StreamBufferFullError;
type Expect = { ok: string | number } | { real: Error | LimitError | null };

function runScript(data: number[], sizes: number[], ops: Op[], ending: Ending, readChunkSize: number,
  maxBufferSize: number | null): void {
  const S = latin1(Uint8Array.from(data));
  const mbs = maxBufferSize ?? Infinity;
  const d = new CoreDriver(sizedChunking(sizes), maxBufferSize === null ? { readChunkSize } : { readChunkSize, maxBufferSize });
  d.queue(Uint8Array.from(data));
  const endError = new Error('simulated reset');
  // Model state.
  let pos = 0;
  let closed = false;
  let closeErr: Error | LimitError | null = null;
  let limit = S.length; // bytes that will ever be readable: all of S until a close cuts it short

  const end = (): void => {
    if (ending === 'eof') d.eof();
    else if (ending === 'close') d.close();
    else d.error(endError);
  };
  /** The model's close caused by the ending (input exhausted with a read pending). */
  const modelEnd = (): void => {
    closed = true;
    closeErr = ending === 'error' ? endError : null;
    limit = d.fed;
  };
  const fail = (msg: string): never => { throw new Error(`${msg}\n  S=${JSON.stringify(S)} trace=${JSON.stringify(d.trace)}`); };

  /** Issues a read, feeding chunks (then the ending) until it settles; checks the outcome. */
  const run = (what: string, issue: () => number, expect: () => Expect, into?: Uint8Array): void => {
    const id = issue();
    d.drain();
    while (!d.settled.has(id)) {
      if (!d.core.closed && d.feed(1) > 0) continue;
      if (!d.core.closed) { end(); continue; }
      fail(`${what}: never settled`);
    }
    if (d.core.reading) fail(`${what}: still reading after settlement`);
    const got = d.settled.get(id) ?? {};
    const want = expect();
    if ('ok' in want) {
      if (got.error !== undefined) fail(`${what}: rejected ${got.error.name} (${got.error.message}), want ${JSON.stringify(want.ok)}`);
      const v = got.value instanceof Uint8Array ? latin1(got.value) : got.value;
      if (v !== want.ok) fail(`${what}: got ${JSON.stringify(v)}, want ${JSON.stringify(want.ok)}`);
      if (into !== undefined && latin1(into.subarray(0, want.ok as number)) !== S.slice(pos - (want.ok as number), pos)) {
        fail(`${what}: wrong bytes in the target`);
      }
      return;
    }
    const e = got.error;
    if (!(e instanceof StreamClosedError)) fail(`${what}: want StreamClosedError, got ${e ? e.name : JSON.stringify(got.value)}`);
    const real = (e as StreamClosedError).realError;
    if (!sameError(real ?? null, want.real)) fail(`${what}: realError ${real?.name}, want ${describeWant(want.real)}`);
  };

  /** A read the remaining bytes cannot satisfy: pending until the ending, or rejected now if closed. */
  const unsatisfied = (): Expect => {
    if (!closed) modelEnd();
    return { real: closeErr };
  };
  /**
   * A read that fails for a limit: the bytes decide, whatever the closed state. It closes the
   * stream with that error, or turns a clean close into one; an error close keeps its error.
   */
  const overLimit = (cls: LimitError): Expect => {
    if (!closed) { closed = true; closeErr = cls; limit = d.fed; } else if (closeErr === null) closeErr = cls;
    return { real: cls };
  };
  const take = (n: number): string => { const s = S.slice(pos, pos + n); pos += n; return s; };

  for (const op of ops) {
    switch (op.k) {
      case 'ahead':
        if (!d.core.closed) d.feed(op.chunks);
        break;
      case 'end':
        if (!d.core.closed) {
          d.feed(op.chunks);
          end();
          modelEnd();
        }
        break;
      case 'bytes':
      case 'into': {
        const buf = op.k === 'into' ? new Uint8Array(op.n) : undefined;
        const what = `${op.k}(${op.n}${op.partial ? ', partial' : ''})`;
        run(what, () => (buf ? d.core.readInto(buf, { partial: op.partial }) : d.core.readBytes(op.n, { partial: op.partial })), () => {
          let n = op.n;
          if (!op.partial && n > mbs) return overLimit(StreamBufferFullError);
          if (op.partial && n > 0) {
            const buffered = Math.min(d.fed, limit) - pos;
            if (buffered === 0) return unsatisfied();
            n = Math.min(n, buffered);
          }
          if (limit - pos < n) return unsatisfied();
          const s = take(n);
          return { ok: buf ? n : s };
        }, buf);
        break;
      }
      case 'until':
      case 'regex': {
        const delim = op.k === 'until' ? latin1(Uint8Array.from(op.delim)) : '';
        const regex = op.k === 'regex' ? (REGEXES[op.r] as RegExp | string) : /(?:)/;
        const max = op.max ?? undefined;
        const what = op.k === 'until' ? `readUntil(${JSON.stringify(delim)}, max ${op.max})` : `readUntilRegex(${String(regex)}, max ${op.max})`;
        run(what, () => (op.k === 'until'
          ? d.core.readUntil(Uint8Array.from(op.delim), max === undefined ? {} : { maxBytes: max })
          : d.core.readUntilRegex(regex, max === undefined ? {} : { maxBytes: max })), () => {
          const avail = S.slice(pos, limit);
          // The smaller limit decides, and names the error (maxBytes when it is the smaller or equal).
          const cap = max !== undefined && max <= mbs ? max : mbs;
          const cls: LimitError = cap === max ? UnsatisfiableReadError : StreamBufferFullError;
          const seen = avail.slice(0, cap);
          let endAt = -1;
          if (op.k === 'until') {
            const at = seen.indexOf(delim);
            if (at >= 0) endAt = at + delim.length;
          } else {
            const m = new RegExp(regex).exec(seen);
            if (m !== null) endAt = m.index + m[0].length;
          }
          if (endAt >= 0) return { ok: take(endAt) };
          if (avail.length > cap) return overLimit(cls);
          return unsatisfied();
        });
        break;
      }
    }
  }
  // The end: everything up to a clean close, or a rejection that leaves the bytes readable.
  run('readUntilClose', () => d.core.readUntilClose(), () => {
    if ((closed ? limit : S.length) - pos > mbs) return overLimit(StreamBufferFullError);
    if (!closed) modelEnd();
    if (closeErr === null) return { ok: take(limit - pos) };
    return { real: closeErr };
  });
  // Whatever is left stays readable, in pieces no larger than maxBufferSize.
  while (pos < limit) {
    const n = Math.min(limit - pos, mbs);
    run(`readBytes(${n}) of the rest after the close`, () => d.core.readBytes(n), () => ({ ok: take(n) }));
  }
  const err = d.core.error;
  if (!d.core.closed || !sameError(err, closeErr as Error | LimitError | null)) {
    fail(`close outcome: closed=${d.core.closed} error=${err?.name}, want ${describeWant(closeErr as Error | LimitError | null)}`);
  }
  if (d.core.readBufferSize !== 0) fail(`${d.core.readBufferSize} bytes left over`);
  if (d.violations.length > 0) fail(`invariants: ${d.violations.join('; ')}`);
}

/** An error against what the model wants: the very instance, a limit class, or none. */
function sameError(got: Error | null, want: Error | LimitError | null): boolean {
  if (want === null) return got === null;
  return want instanceof Error ? got === want : got instanceof want;
}

function describeWant(want: Error | LimitError | null): string {
  return want === null ? 'none' : want instanceof Error ? `the instance ${want.message}` : want.name;
}

test('property: random bytes, splits, limits, ends and read scripts match the reference model', async (t) => {
  const arb = fc.tuple(
    dataArb,
    fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 8 }),
    fc.array(opArb, { maxLength: 14 }),
    fc.constantFrom<Ending>('eof', 'close', 'error'),
    fc.integer({ min: 1, max: 16 }),
    fc.option(fc.integer({ min: 1, max: 40 }), { freq: 2 }),
  );
  const seed = process.env.SEED !== undefined ? Number(process.env.SEED) : undefined;
  try {
    fc.assert(fc.property(arb, ([data, sizes, ops, ending, rcs, mbs]) => { runScript(data, sizes, ops, ending, rcs, mbs); }),
      { numRuns: 1000, ...(seed === undefined ? {} : { seed }) });
    t.pass('1000 runs');
  } catch (err) {
    t.fail((err as Error).message);
  }
});
