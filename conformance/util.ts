/**
 * Small runtime-neutral helpers for the conformance cases: bytes, text, bounded waits and
 * error checks. Only ES2022 + TextEncoder/TextDecoder + setTimeout, which every runtime has.
 */
import type { Assertions, AnyStream } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of `s`. */
export const enc = (s: string): Uint8Array => encoder.encode(s);
/** `bytes` decoded as UTF-8. */
export const dec = (bytes: Uint8Array): string => decoder.decode(bytes);

/** The concatenation of `parts`. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whether two byte sequences are equal (Buffer and Uint8Array alike). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte `i` of the deterministic pattern `seed` (so a shifted or corrupted stream is caught). */
export const patternByte = (seed: number, i: number): number => (i * 31 + (i >>> 8) + seed) & 0xff;

/** `n` bytes of the pattern starting at offset `from`. */
export function pattern(seed: number, n: number, from = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = patternByte(seed, from + i);
  return out;
}

/** Resolves after `ms` real milliseconds (used only to let traffic flow, never to assert timing). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => { setTimeout(resolve, ms); });

/** `p`, or a rejection naming `label` when it has not settled within `ms`. */
export function within<T>(p: PromiseLike<T>, ms: number, label: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new Error(`${label}: not settled within ${ms} ms`)); }, ms);
  });
  return Promise.race([Promise.resolve(p), timeout]).finally(() => { clearTimeout(timer); });
}

/** Default bound for a single wait inside a case. */
export const WAIT_MS = 8_000;

/** Resolves once `cond()` holds (checked every few ms), or rejects naming `label` after `ms`. */
export async function waitFor(cond: () => boolean, label: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${label}: not true within ${ms} ms`);
    await sleep(2);
  }
}

/** Resolves when `stream`'s close callback runs (it replaces any callback set before). */
export function closeCallbackRan(stream: AnyStream, label = 'close callback'): Promise<void> {
  return within(new Promise<void>((resolve) => { stream.setCloseCallback(resolve); }), WAIT_MS, label);
}

/** The settlement of `p` as a value, so a rejection can be asserted on. */
export async function settle<T>(p: PromiseLike<T>, label = 'operation'): Promise<
  { ok: true; value: T } | { ok: false; error: unknown }
> {
  try {
    return { ok: true, value: await within(p, WAIT_MS, label) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith(`${label}: not settled`)) throw error;
    return { ok: false, error };
  }
}

/** The error's `name`, or '' when it is not an object. */
export function errName(err: unknown): string {
  return typeof err === 'object' && err !== null ? String((err as { name?: unknown }).name) : '';
}

/** Asserts that `p` rejects with a `StreamClosedError` and returns that error. */
export async function expectClosedError(t: Assertions, p: PromiseLike<unknown>, what: string): Promise<Error | null> {
  const r = await settle(p, what);
  if (r.ok) {
    t.fail(`${what}: expected a StreamClosedError rejection, got a value`);
    return null;
  }
  t.equal(errName(r.error), 'StreamClosedError', `${what} rejects with StreamClosedError`);
  return r.error instanceof Error ? r.error : null;
}

/** The `realError` of a StreamClosedError (undefined after a clean close). */
export const realErrorOf = (err: Error | null): unknown => (err as { realError?: unknown } | null)?.realError;

/**
 * Asserts that `fn` throws synchronously an error of class `name` whose message matches `re`
 * and, for the library's own misuse errors, whose `code` is `code`.
 */
export function expectThrow(t: Assertions, fn: () => unknown, name: string, re: RegExp | null, what: string,
  code?: string): void {
  try {
    const r = fn();
    // A misuse must not come back as a promise: it would be reported late, or not at all.
    if (r instanceof Promise) r.catch(() => {});
    t.fail(`${what}: expected a synchronous ${name}`);
  } catch (err) {
    t.equal(errName(err), name, `${what} throws ${name} synchronously`);
    if (re !== null) t.ok(re.test(err instanceof Error ? err.message : ''), `${what}: message matches ${String(re)}`);
    if (code !== undefined) t.equal((err as { code?: unknown }).code, code, `${what}: code is ${code}`);
  }
}

/** Reads exactly `n` bytes with partial reads (so no single read needs `n` buffered). */
export async function readAll(stream: AnyStream, n: number, chunk = 65536): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const c = await stream.readBytes(Math.min(chunk, n - got), { partial: true });
    // The stream may reuse nothing it gave away, but a driver's buffer may be a view: copy.
    parts.push(c.slice());
    got += c.length;
  }
  return concat(parts);
}

/** Lets the event loop turn a few times (callbacks scheduled with setTimeout 0 / setImmediate run). */
export async function turns(n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await sleep(0);
}

/** Writes without waiting; the promise is marked handled (a test that ends first closes the stream). */
export function send(stream: AnyStream, data: Uint8Array | string): void {
  stream.write(data).catch(() => {});
}
