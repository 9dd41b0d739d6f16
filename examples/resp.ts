/**
 * A small RESP (REdis Serialization Protocol, v2) client and server, written once against
 * {@link BaseIOStream}'s public methods only, so the same code runs over TCP, TLS, pipes, web
 * streams and in-memory pairs.
 *
 * Parsing uses two reads: `readUntil('\r\n')` for the type line and `readBytes(n + 2)` for a
 * bulk string's payload and its CRLF. Bulk strings are binary safe (they may contain CRLF).
 *
 * The server keeps an in-memory map and handles PING, ECHO, SET, GET, MGET, DEL, INCR and QUIT.
 */
import type { BaseIOStream } from '../drivers/base.js';
import { StreamClosedError } from '../core/errors.js';

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

/** The wire form of a value (what a server sends). `string` is a simple string. */
export function encodeValue(value: RespValue): Uint8Array {
  const parts: Uint8Array[] = [];
  const add = (v: RespValue): void => {
    if (v === null) parts.push(utf8.encode('$-1\r\n'));
    else if (v instanceof RespError) parts.push(utf8.encode(`-${v.message.replace(/[\r\n]/g, ' ')}\r\n`));
    else if (typeof v === 'string') parts.push(utf8.encode(`+${v.replace(/[\r\n]/g, ' ')}\r\n`));
    else if (typeof v === 'number') parts.push(utf8.encode(`:${v}\r\n`));
    else if (v instanceof Uint8Array) parts.push(utf8.encode(`$${v.length}\r\n`), v, utf8.encode(CRLF));
    else {
      parts.push(utf8.encode(`*${v.length}\r\n`));
      for (const item of v) add(item);
    }
  };
  add(value);
  return concatBytes(parts);
}

/** A command as the client sends it: an array of bulk strings. */
export function encodeCommand(args: readonly RespArg[]): Uint8Array {
  return encodeValue(args.map(toBytes));
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
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

/** The server's data: keys are compared as latin1 text so any bytes work as a key. */
export type RespStore = Map<string, Uint8Array>;

const keyOf = (b: Uint8Array): string => String.fromCharCode(...b);
const wrongArgs = (name: string): RespError => new RespError(`ERR wrong number of arguments for '${name}' command`);

/** One command against `store`: its reply, and whether the connection should close after it. */
export function execute(store: RespStore, args: readonly Uint8Array[]): { reply: RespValue; quit?: boolean } {
  const name = fromUtf8.decode(args[0] ?? new Uint8Array(0)).toLowerCase();
  const argc = args.length - 1;
  const arg = (i: number): Uint8Array => args[i] as Uint8Array;
  switch (name) {
    case 'ping':
      if (argc > 1) return { reply: wrongArgs(name) };
      return { reply: argc === 1 ? arg(1) : 'PONG' };
    case 'echo':
      return { reply: argc === 1 ? arg(1) : wrongArgs(name) };
    case 'set':
      if (argc !== 2) return { reply: wrongArgs(name) };
      store.set(keyOf(arg(1)), arg(2).slice());
      return { reply: 'OK' };
    case 'get':
      return { reply: argc === 1 ? store.get(keyOf(arg(1))) ?? null : wrongArgs(name) };
    case 'mget':
      if (argc < 1) return { reply: wrongArgs(name) };
      return { reply: args.slice(1).map((k) => store.get(keyOf(k)) ?? null) };
    case 'del': {
      if (argc < 1) return { reply: wrongArgs(name) };
      let n = 0;
      for (const k of args.slice(1)) if (store.delete(keyOf(k))) n++;
      return { reply: n };
    }
    case 'incr': {
      if (argc !== 1) return { reply: wrongArgs(name) };
      const key = keyOf(arg(1));
      const old = store.get(key);
      const current = old === undefined ? '0' : fromUtf8.decode(old);
      const n = /^-?\d{1,16}$/.test(current) ? Number(current) + 1 : NaN;
      if (!Number.isSafeInteger(n)) return { reply: new RespError('ERR value is not an integer or out of range') };
      store.set(key, utf8.encode(String(n)));
      return { reply: n };
    }
    case 'quit':
      return { reply: 'OK', quit: true };
    default:
      return { reply: new RespError(`ERR unknown command '${name.slice(0, 64)}'`) };
  }
}

/**
 * Serves RESP on `stream` until the client closes it (or sends QUIT), sharing `store` with
 * other connections. A malformed request gets an error reply and the connection is closed.
 * Resolves when the connection is over; never rejects for a closed connection.
 */
export async function serveResp<B extends Uint8Array>(stream: BaseIOStream<B>, store: RespStore = new Map()): Promise<void> {
  // Replies are not awaited one by one (pipelined replies go out in order anyway); the last one
  // is awaited before closing, since close() drops what was not handed to the transport yet.
  let lastWrite: Promise<void> = Promise.resolve();
  const reply = (value: RespValue): void => {
    lastWrite = stream.write(encodeValue(value)).catch(() => undefined);
  };
  try {
    for (;;) {
      const request = await readValue(stream);
      if (!Array.isArray(request) || request.length === 0 || !request.every((a) => a instanceof Uint8Array)) {
        throw new RespProtocolError('expected an array of bulk strings');
      }
      const result = execute(store, request as Uint8Array[]);
      reply(result.reply);
      if (result.quit === true) break;
    }
  } catch (err) {
    if (err instanceof RespProtocolError) {
      reply(new RespError(`ERR Protocol error: ${err.message}`));
    } else if (!(err instanceof StreamClosedError)) {
      stream.close(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }
  await lastWrite;
  stream.close();
}
