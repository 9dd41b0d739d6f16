/**
 * Argument checks shared by the core's inputs and the drivers. Each throws synchronously
 * (TypeError `ERR_INVALID_ARG_TYPE` for a wrong type, RangeError `ERR_OUT_OF_RANGE` for a
 * number out of range, TypeError `ERR_INVALID_ARG_VALUE` for a value that cannot work)
 * before any state changes, with a message that names the argument.
 */
import type { StreamCoreOptions } from './options.js';
import { invalidArgType, invalidArgValue, outOfRange } from './errors.js';

interface Utf8Encoder { encode(input: string): Uint8Array }
/** `TextEncoder` exists in every runtime we target; reached through globalThis so the core needs no DOM or Node typings. */
const utf8 = new (globalThis as unknown as { TextEncoder: new () => Utf8Encoder }).TextEncoder();

/** UTF-8 bytes of a string, or the bytes themselves. */
export function toBytes(data: Uint8Array | string, what: string): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') return utf8.encode(data);
  throw invalidArgType(`${what} must be a Uint8Array or a string, got ${describe(data)}`);
}

export function checkSize(n: number, what: string): void {
  if (typeof n !== 'number') throw invalidArgType(`${what} must be a number, got ${describe(n)}`);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw outOfRange(`${what} must be a non-negative integer, got ${String(n)}`);
  }
}

export function checkBuffer(buf: Uint8Array, what = 'buf'): void {
  if (!(buf instanceof Uint8Array)) throw invalidArgType(`${what} must be a Uint8Array, got ${describe(buf)}`);
}

// One-entry caches: protocol code reads with the same delimiter or regex again and again, and
// the core recognises a search it may resume by the identity of what it searches for.
let lastDelimString: string | null = null;
let lastDelimBytes: Uint8Array = new Uint8Array(0);
let lastRegexIn: RegExp | string | null = null;
let lastRegexOut: RegExp = /(?:)/;

export function checkDelimiter(delimiter: Uint8Array | string): Uint8Array {
  let bytes: Uint8Array;
  if (typeof delimiter === 'string') {
    if (delimiter === lastDelimString) return lastDelimBytes;
    bytes = utf8.encode(delimiter);
    if (bytes.length > 0) {
      lastDelimString = delimiter;
      lastDelimBytes = bytes;
    }
  } else if (delimiter instanceof Uint8Array) {
    bytes = delimiter;
  } else {
    throw invalidArgType(`delimiter must be a Uint8Array or a string, got ${describe(delimiter)}`);
  }
  if (bytes.length === 0) throw outOfRange('delimiter must not be empty');
  return bytes;
}

/** The regex to run: non-global and non-sticky, so `exec` always searches from the start. */
export function checkRegex(regex: RegExp | string): RegExp {
  if (regex === lastRegexIn) return lastRegexOut;
  let out: RegExp;
  if (typeof regex === 'string') {
    try {
      out = new RegExp(regex);
    } catch (err) {
      // A bad argument, so a TypeError as the contract says, with the SyntaxError as cause.
      throw invalidArgValue(`regex does not compile: ${(err as Error).message}`, err);
    }
  } else if (regex instanceof RegExp) {
    out = regex.global || regex.sticky ? new RegExp(regex.source, regex.flags.replace(/[gy]/g, '')) : regex;
  } else {
    throw invalidArgType(`regex must be a RegExp or a string, got ${describe(regex)}`);
  }
  lastRegexIn = regex;
  lastRegexOut = out;
  return out;
}

/** `maxBytes` as a number, -1 for "no limit" (`undefined`; `null` is not a number: a TypeError). */
export function checkMaxBytes(maxBytes: number | undefined): number {
  if (maxBytes === undefined) return -1;
  checkSize(maxBytes, 'maxBytes');
  return maxBytes;
}

/** Throws a TypeError unless `value` is a boolean (`what` names it). */
export function checkBoolean(value: unknown, what: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalidArgType(`${what} must be a boolean, got ${describe(value)}`);
}

/** Throws unless `value` is an object (`what` names it); `undefined` passes when `optional`. */
export function checkObject(value: unknown, what: string, optional = true): void {
  if (value === undefined && optional) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgType(`${what} must be an object, got ${describe(value)}`);
  }
}

/** Throws unless `value` is a function or undefined. */
export function checkFunction(value: unknown, what: string): void {
  if (value !== undefined && typeof value !== 'function') {
    throw invalidArgType(`${what} must be a function, got ${describe(value)}`);
  }
}

export function checkOptions(options: StreamCoreOptions): void {
  checkObject(options, 'options', false);
  const positive = (v: unknown, what: string): void => {
    if (v === undefined) return;
    if (typeof v !== 'number') throw invalidArgType(`${what} must be a number, got ${describe(v)}`);
    if (!Number.isSafeInteger(v) || v <= 0) throw outOfRange(`${what} must be a positive integer, got ${String(v)}`);
  };
  positive(options.maxBufferSize, 'maxBufferSize');
  positive(options.readChunkSize, 'readChunkSize');
  const mw = options.maxWriteBufferSize;
  if (mw !== undefined) {
    if (typeof mw !== 'number') throw invalidArgType(`maxWriteBufferSize must be a number, got ${describe(mw)}`);
    if (Number.isNaN(mw) || mw < 0 || (mw !== Infinity && !Number.isSafeInteger(mw))) {
      throw outOfRange(`maxWriteBufferSize must be a non-negative integer or Infinity, got ${String(mw)}`);
    }
  }
  checkFunction(options.alloc, 'alloc');
  checkFunction(options.latin1, 'latin1');
  checkFunction(options.view, 'view');
}

/** A short description of a bad argument for an error message. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return `an instance of ${(v as object).constructor?.name ?? 'Object'}`;
  return typeof v === 'string' ? `a string` : `${typeof v} ${String(v)}`;
}
