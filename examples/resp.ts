/**
 * A small RESP (REdis Serialization Protocol, v2) client, and the wire format both sides use,
 * written once against {@link BaseIOStream}'s public methods only, so the same code runs over
 * TCP, TLS, pipes, web streams and in-memory pairs. The server is in ./resp-server.ts.
 *
 * Parsing uses two reads: `readUntil('\r\n')` for the type line and `readBytes(n + 2)` for a
 * bulk string's payload and its CRLF. Bulk strings are binary safe (they may contain CRLF).
 */
import { StreamClosedError, type BaseIOStream } from 'sansio-iostream';

/** An error reply (`-ERR ...`). The client returns it as a value, like any other reply. */
export class RespError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RespError';
  }
}

/** The peer broke the protocol (bad type byte, bad length, missing CRLF). */
export class RespProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RespProtocolError';
  }
}

/**
 * A parsed reply: simple string → `string`, error → {@link RespError}, integer → `number`,
 * bulk string → `Uint8Array` (null bulk string → `null`), array → array (null array → `null`).
 */
export type RespValue = string | number | null | RespError | Uint8Array | RespValue[];

/** What a command argument may be: strings are sent as UTF-8. */
export type RespArg = string | number | Uint8Array;

/** Longest type line accepted (a bulk payload may be longer: its size comes first). */
const MAX_LINE = 64 * 1024;
/** Deepest array nesting accepted: a hostile peer could otherwise make us recurse without end. */
const MAX_DEPTH = 32;
const CRLF = '\r\n';
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function toBytes(arg: RespArg): Uint8Array {
  return arg instanceof Uint8Array ? arg : utf8.encode(String(arg));
}

/** `n` from a `$n` / `*n` / `:n` line; throws on anything but a decimal integer. */
function parseInteger(text: string, what: string): number {
  if (!/^-?\d{1,16}$/.test(text)) throw new RespProtocolError(`bad ${what}: ${JSON.stringify(text.slice(0, 40))}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RespProtocolError(`${what} out of range: ${text}`);
  return n;
}

/**
 * Reads one RESP value from `stream`. Rejects with `StreamClosedError` when the stream ends
 * first and with {@link RespProtocolError} on malformed input.
 */
export async function readValue<B extends Uint8Array>(stream: BaseIOStream<B>, depth = 0): Promise<RespValue> {
  const line = await stream.readUntil(CRLF, { maxBytes: MAX_LINE });
  const type = line[0];
  const text = fromUtf8.decode(line.subarray(1, line.length - 2));
  switch (type) {
    case 0x2b: return text; // '+'
    case 0x2d: return new RespError(text); // '-'
    case 0x3a: return parseInteger(text, 'integer'); // ':'
    case 0x24: { // '$'
      const n = parseInteger(text, 'bulk length');
      if (n === -1) return null;
      if (n < 0) throw new RespProtocolError(`bad bulk length ${n}`);
      const data = await stream.readBytes(n + 2);
      if (data[n] !== 0x0d || data[n + 1] !== 0x0a) throw new RespProtocolError('bulk string not followed by CRLF');
      return data.subarray(0, n);
    }
    case 0x2a: { // '*'
      const n = parseInteger(text, 'array length');
      if (n === -1) return null;
      if (n < 0) throw new RespProtocolError(`bad array length ${n}`);
      if (depth >= MAX_DEPTH) throw new RespProtocolError('arrays nested too deep');
      const items: RespValue[] = [];
      for (let i = 0; i < n; i++) items.push(await readValue(stream, depth + 1));
      return items;
    }
    default:
      throw new RespProtocolError(`unknown type byte ${JSON.stringify(String.fromCharCode(type ?? 0))}`);
  }
}

/**
 * Builds wire bytes in one scratch array that grows as needed; `take()` copies out what was
 * written and starts over. One allocation per message, instead of one per part: a server
 * writing a reply per command would otherwise spend more on encoding than on the command.
 */
export class RespWriter {
  private buf = new Uint8Array(1024);
  private pos = 0;

  /** Bytes written since the last `take()`. */
  get length(): number { return this.pos; }

  /** Appends the wire form of `value` (a `string` is a simple string). */
  value(value: RespValue): this {
    if (value === null) return this.bytes(NULL_BULK);
    if (value instanceof Uint8Array) return this.header(0x24, value.length).bytes(value).bytes(CRLF_BYTES);
    if (value instanceof RespError) return this.line(0x2d, value.message);
    if (typeof value === 'string') return this.line(0x2b, value);
    if (typeof value === 'number') return this.header(0x3a, value);
    this.header(0x2a, value.length);
    for (const item of value) this.value(item);
    return this;
  }

  /** Appends raw bytes. */
  bytes(data: Uint8Array): this {
    this.reserve(data.length).set(data, this.pos);
    this.pos += data.length;
    return this;
  }

  /** The bytes written so far, in an array of their own; the writer is empty again. */
  take(): Uint8Array {
    // A big message takes the scratch array itself (no second copy, and a writer that once
    // held a 1 MiB reply does not keep 1 MiB); a small one is copied out of it.
    const big = this.pos >= 16 * 1024;
    const out = big ? this.buf.subarray(0, this.pos) : this.buf.slice(0, this.pos);
    if (big) this.buf = new Uint8Array(1024);
    this.pos = 0;
    return out;
  }

  /** `<type><n>\r\n`: a length, an array size or an integer. */
  private header(type: number, n: number): this {
    const digits = String(n);
    const buf = this.reserve(digits.length + 3);
    let at = this.pos;
    buf[at++] = type;
    for (let i = 0; i < digits.length; i++) buf[at++] = digits.charCodeAt(i);
    buf[at++] = 0x0d;
    buf[at++] = 0x0a;
    this.pos = at;
    return this;
  }

  /** `<type><text>\r\n` for simple strings and errors: CR and LF in `text` become spaces. */
  private line(type: number, text: string): this {
    const clean = /[\r\n]/.test(text) ? text.replace(/[\r\n]/g, ' ') : text;
    const buf = this.reserve(clean.length * 3 + 3);
    buf[this.pos++] = type;
    this.pos += utf8.encodeInto(clean, buf.subarray(this.pos)).written;
    buf[this.pos++] = 0x0d;
    buf[this.pos++] = 0x0a;
    return this;
  }

  /** The scratch array, grown so that `n` more bytes fit. */
  private reserve(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
      bigger.set(this.buf.subarray(0, this.pos));
      this.buf = bigger;
    }
    return this.buf;
  }
}

const CRLF_BYTES = Uint8Array.of(0x0d, 0x0a);
const NULL_BULK = utf8.encode('$-1\r\n');
const encoder = new RespWriter();

/** The wire form of a value (what a server sends). `string` is a simple string. */
export function encodeValue(value: RespValue): Uint8Array {
  return encoder.value(value).take();
}

/** A command as the client sends it: an array of bulk strings. */
export function encodeCommand(args: readonly RespArg[]): Uint8Array {
  return encodeValue(args.map(toBytes));
}

/** A bulk string reply as text (UTF-8), or `null`; throws if the reply is something else. */
export function text(value: RespValue): string | null {
  if (value === null) return null;
  if (value instanceof Uint8Array) return fromUtf8.decode(value);
  if (typeof value === 'string') return value;
  throw new TypeError(`expected a string reply, got ${formatValue(value)}`);
}

/** A short human-readable form of a reply, for logs and the demo. */
export function formatValue(value: RespValue): string {
  if (value === null) return '(nil)';
  if (value instanceof RespError) return `(error) ${value.message}`;
  if (typeof value === 'number') return `(integer) ${value}`;
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return JSON.stringify(fromUtf8.decode(value));
  return `[${value.map(formatValue).join(', ')}]`;
}

/**
 * A pipelining RESP client: `command()` writes at once and replies are read back in order,
 * so several commands may be in flight without waiting for each other.
 */
export class RespClient<B extends Uint8Array = Uint8Array> {
  /** The read of the previous command's reply: the next one starts after it (one read at a time). */
  private last: Promise<unknown> = Promise.resolve();

  constructor(readonly stream: BaseIOStream<B>) {}

  /**
   * Sends a command and resolves with its reply (an error reply resolves with a
   * {@link RespError}). Rejects with `StreamClosedError` if the connection ends first and with
   * {@link RespProtocolError} (after closing the stream) if the server breaks the protocol.
   */
  command(...args: RespArg[]): Promise<RespValue> {
    if (args.length === 0) throw new TypeError('command needs at least a name');
    const sent = this.stream.write(encodeCommand(args));
    const reply = this.last.then(async () => {
      try {
        return await readValue(this.stream);
      } catch (err) {
        // A reply we could not parse leaves the stream out of step: nothing after it can be trusted.
        if (err instanceof RespProtocolError) this.stream.close(err);
        throw err;
      }
    });
    this.last = reply.catch(() => undefined);
    sent.catch((err: unknown) => {
      // On a closed stream the reply read fails the same way. A refused write (maxWriteBufferSize)
      // leaves the stream open but the protocol out of step: close it, or the reply never comes.
      if (!(err instanceof StreamClosedError)) this.stream.close(err instanceof Error ? err : new Error(String(err)));
    });
    return reply;
  }

  /** Closes the connection. */
  close(): void {
    this.stream.close();
  }
}
