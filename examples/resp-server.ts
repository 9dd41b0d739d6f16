/**
 * A RESP server (a small Redis: the commands of ./resp-commands.ts) written against
 * {@link BaseIOStream}'s public methods only, like the client in ./resp.ts, so `serveResp`
 * runs over any driver; `listenResp` puts it on TCP.
 *
 * Run: node --import tsx examples/resp-server.ts [--port=6380] [--host=127.0.0.1]
 * then e.g. `redis-cli -p 6380 ping` or `redis-benchmark -p 6380 -t set,get,ping`.
 *
 * Requests are parsed in place out of what has arrived: one `readBytes(CHUNK, { partial: true })`
 * with a Tornado-4.4 `callback` (no promise) takes what is buffered and every whole request
 * in it is parsed and run, so a batch of pipelined commands costs one read, not one read per
 * RESP element (7 for a SET). A request cut off at the end of a chunk waits for exactly what
 * it lacks: `readBytes(missing)` for the rest of a bulk argument, `readUntil('\n')` for the
 * rest of a line. (One `await readUntil()` / `readBytes()` per element is simpler to write and
 * costs a promise per element: bench/README.md, RESP, has the figures for both ways.)
 * Besides RESP arrays it accepts inline commands (`PING\r\n`, words split on spaces, `"..."`
 * and `'...'` quoting), as Redis does: `redis-benchmark -t ping` and telnet send those.
 * Replies are queued and written together whenever the next read has to wait for the
 * network, so a batch of pipelined commands is answered in one write.
 */
import * as net from 'node:net';
import { IOStream, StreamClosedError, type BaseIOStream } from 'sansio-iostream';
import { RespError, RespProtocolError, RespWriter, type RespValue } from './resp.js';
import { commandName, execute, type RespStore } from './resp-commands.js';

export type { RespStore } from './resp-commands.js';

/** Longest header or inline line accepted (Redis's PROTO_INLINE_MAX_SIZE). */
const MAX_LINE = 64 * 1024;
const LF = Uint8Array.of(0x0a);
/**
 * How much of what has arrived one read takes (Redis reads 16 KiB at a time too). At most
 * MAX_LINE, so that a line found in one chunk is never too long.
 */
const CHUNK = 16 * 1024;
/** Redis's limits on the argument count and on one bulk argument (proto-max-bulk-len). */
const MAX_ARGS = 1024 * 1024;
const MAX_BULK = 512 * 1024 * 1024;
/** Queued replies past this size go out without waiting for the batch to end. */
const FLUSH_AT = 64 * 1024;

/**
 * The integer of the `*n` / `$n` header line `buf[start, end)` (type byte, digits, CRLF);
 * throws on anything else. Read in place: a header makes no view of its own.
 */
function headerInteger(buf: Uint8Array, start: number, end: number, what: string): number {
  const neg = buf[start + 1] === 0x2d; // '-'
  const last = end - 2;
  let i = neg ? start + 2 : start + 1;
  let n = 0;
  if (last <= i || last - i > 16 || buf[last] !== 0x0d) throw new RespProtocolError(`invalid ${what}`);
  for (; i < last; i++) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) throw new RespProtocolError(`invalid ${what}`);
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

const isSpace = (c: number | undefined): boolean =>
  c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
const hexValue = (c: number | undefined): number => {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
};
const ESCAPES: Record<number, number> = { 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x61: 0x07 }; // n r t b a

/**
 * The arguments of an inline command line (without its line end), split as Redis's
 * `sdssplitargs` does: on whitespace, with `"..."` (backslash escapes, `\xHH`) and `'...'`
 * (only `\'`) quoting; a closing quote must be followed by whitespace or the end.
 */
export function splitInline(line: Uint8Array): Uint8Array[] {
  const args: Uint8Array[] = [];
  const n = line.length;
  let i = 0;
  for (;;) {
    while (i < n && isSpace(line[i])) i++;
    if (i === n) return args;
    const start = i;
    while (i < n && !isSpace(line[i]) && line[i] !== 0x22 && line[i] !== 0x27) i++;
    if (i === n || isSpace(line[i])) { // a plain word: a view, no copy
      args.push(line.subarray(start, i));
      continue;
    }
    const word = Array.from(line.subarray(start, i));
    while (i < n && !isSpace(line[i])) {
      const quote = line[i++] as number;
      if (quote !== 0x22 && quote !== 0x27) { word.push(quote); continue; }
      for (;;) {
        if (i >= n) throw new RespProtocolError('unbalanced quotes in request');
        const c = line[i++] as number;
        if (c === quote) break;
        if (c === 0x5c && quote === 0x22 && i < n) { // backslash in "..."
          const e = line[i++] as number;
          const hi = hexValue(line[i]);
          const lo = hexValue(line[i + 1]);
          if (e === 0x78 && hi >= 0 && lo >= 0) { // \xHH
            word.push(hi * 16 + lo);
            i += 2;
          } else {
            word.push(ESCAPES[e] ?? e);
          }
        } else if (c === 0x5c && quote === 0x27 && line[i] === 0x27) { // \' in '...'
          word.push(0x27);
          i++;
        } else {
          word.push(c);
        }
      }
      if (i < n && !isSpace(line[i])) throw new RespProtocolError('unbalanced quotes in request');
    }
    args.push(Uint8Array.from(word));
  }
}

/**
 * Replies not yet written. They go out together when the server is about to wait for the
 * network: the replies to a batch of pipelined commands leave in one write (as Redis sends
 * them), not one write each, which costs a promise and a system call per reply and, with
 * Nagle's algorithm on, could hold the later ones back for a delayed ACK.
 */
class Replies<B extends Uint8Array> {
  private readonly writer = new RespWriter();
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly stream: BaseIOStream<B>) {}

  add(value: RespValue): void {
    this.writer.value(value);
    if (this.writer.length >= FLUSH_AT) void this.flush();
  }

  /** Writes the queued replies; resolves once the last write was handed on (never rejects). */
  flush(): Promise<void> {
    if (this.writer.length > 0) {
      const stream = this.stream;
      this.last = stream.write(this.writer.take()).catch((err: unknown) => {
        // A refused write (maxWriteBufferSize) leaves the client waiting for a reply that
        // never comes: close. On a closed stream there is nobody left to answer.
        if (!(err instanceof StreamClosedError)) stream.close(err instanceof Error ? err : new Error(String(err)));
      });
    }
    return this.last;
  }
}

/**
 * One connection: a parser over the received bytes, fed by callback reads. What a read brings
 * is appended to the unparsed bytes (copied only when a request was cut off: otherwise the
 * chunk itself is parsed) and every whole request in it runs; the parser keeps its place in a
 * cut-off request (arguments so far, a pending `$len`) and resumes there. Arguments are views
 * of the received bytes. A read that fails (the client went away, a line over MAX_LINE)
 * closes the stream without calling its callback: the close callback ends the connection.
 */
class RespConnection<B extends Uint8Array> {
  private readonly replies: Replies<B>;
  /** Received bytes; those before `at` are parsed. */
  private buf: Uint8Array = new Uint8Array(0);
  private at = 0;
  /** The request being parsed: its arguments so far and how many it has (-1: none begun). */
  private args: Uint8Array[] = [];
  private argc = -1;
  /** The length of the argument whose `$len` line was parsed but not its bytes (-1: none). */
  private bulkLen = -1;
  /** What parsing or a command threw that was not the client's fault: `serve()` rejects with it. */
  private failure: Error | null = null;
  /** Every read's callback, and the options of the usual read, made once. */
  private readonly callback = (data: B): void => { this.received(data); };
  private readonly someBytes = { partial: true, callback: this.callback };

  constructor(private readonly stream: BaseIOStream<B>, private readonly store: RespStore) {
    this.replies = new Replies(stream);
  }

  /** Serves until the stream closes; takes the stream's close callback. */
  serve(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.setCloseCallback(() => { if (this.failure === null) resolve(); else reject(this.failure); });
      this.readMore();
    });
  }

  /**
   * Reads what parsing needs next: whatever has come, or the rest of a cut-off bulk argument,
   * or the rest of a cut-off line (`maxBytes` keeps the line within MAX_LINE). The queued
   * replies go out when the read has to wait for the network.
   */
  private readMore(): void {
    const left = this.buf.length - this.at;
    if (this.bulkLen < 0 && left === 0) {
      this.stream.readBytes(CHUNK, this.someBytes);
      if (this.stream.reading()) void this.replies.flush();
      return;
    }
    // The replies go first here: this read may fail at once (past maxBytes or maxBufferSize),
    // and the stream it closes sends nothing more.
    void this.replies.flush();
    if (this.bulkLen >= 0) this.stream.readBytes(this.bulkLen + 2 - left, { callback: this.callback });
    else this.stream.readUntil(LF, { maxBytes: MAX_LINE - left, callback: this.callback });
  }

  /**
   * What a read brought: parses and runs every whole request in it, then reads on. A malformed
   * request gets Redis's error reply and the connection is closed cleanly; anything else
   * thrown closes it with that error.
   */
  private received(chunk: B): void {
    try {
      this.append(chunk);
      for (let args = this.parse(); args !== null; args = this.parse()) {
        if (args.length === 0) continue; // an empty line, *0: no reply, as in Redis
        const name = commandName(args);
        this.replies.add(execute(this.store, name, args));
        if (name === 'quit') {
          this.end();
          return;
        }
      }
    } catch (err) {
      if (err instanceof RespProtocolError) {
        this.replies.add(new RespError(`ERR Protocol error: ${err.message}`));
        this.end();
      } else {
        this.failure = err instanceof Error ? err : new Error(String(err));
        this.stream.close(this.failure);
      }
      return;
    }
    this.readMore();
  }

  /** Adds `chunk` after the unparsed bytes (a copy only when some are left). */
  private append(chunk: Uint8Array): void {
    const left = this.buf.length - this.at;
    if (left === 0) {
      // A plain Uint8Array view, even of a Buffer: the arguments are views of it, and
      // Uint8Array#subarray costs a fraction of Buffer#subarray.
      this.buf = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    } else {
      const joined = new Uint8Array(left + chunk.length);
      joined.set(this.buf.subarray(this.at));
      joined.set(chunk, left);
      this.buf = joined;
    }
    this.at = 0;
  }

  /**
   * The next whole request's arguments (`[]` for an empty line or `*0`), or `null` when the
   * buffered bytes end first; throws {@link RespProtocolError} on malformed input. Each
   * argument is a view of the received bytes.
   */
  private parse(): Uint8Array[] | null {
    const buf = this.buf;
    if (this.argc < 0) {
      const start = this.at;
      const end = this.lineEnd();
      if (end < 0) return null;
      if (buf[start] !== 0x2a) { // not '*': inline
        return splitInline(buf.subarray(start, end - (buf[end - 2] === 0x0d ? 2 : 1)));
      }
      const n = headerInteger(buf, start, end, 'multibulk length');
      if (n > MAX_ARGS) throw new RespProtocolError('invalid multibulk length');
      if (n <= 0) return []; // *0 and *-1
      this.argc = n;
      this.args = [];
    }
    const args = this.args;
    while (args.length < this.argc) {
      if (this.bulkLen < 0) {
        const start = this.at;
        const end = this.lineEnd();
        if (end < 0) return null;
        if (buf[start] !== 0x24) throw new RespProtocolError(`expected '$', got '${String.fromCharCode(buf[start] as number)}'`);
        const len = headerInteger(buf, start, end, 'bulk length');
        if (len < 0 || len > MAX_BULK) throw new RespProtocolError('invalid bulk length');
        this.bulkLen = len;
      }
      const at = this.at;
      const end = at + this.bulkLen;
      if (buf.length < end + 2) return null;
      if (buf[end] !== 0x0d || buf[end + 1] !== 0x0a) throw new RespProtocolError('bulk string not followed by CRLF');
      args.push(buf.subarray(at, end));
      this.at = end + 2;
      this.bulkLen = -1;
    }
    this.argc = -1;
    return args;
  }

  /**
   * Takes the next line (its `\n` included) and returns the index just past it, or -1 when it
   * has not all come yet. No line here is longer than MAX_LINE: a chunk is smaller, and the
   * rest of a cut-off line was read with `maxBytes` (past it, the stream closed).
   */
  private lineEnd(): number {
    const buf = this.buf;
    // A loop, not indexOf: RESP lines are a few bytes, and a call costs more than the scan.
    let i = this.at;
    while (i < buf.length && buf[i] !== 0x0a) i++;
    if (i === buf.length) return -1;
    this.at = i + 1;
    return this.at;
  }

  /** Sends what is queued, then closes: `close()` drops what was not handed to the transport yet. */
  private end(): void {
    void this.replies.flush().then(() => { this.stream.close(); });
  }
}

/**
 * Serves RESP on `stream` until the client closes it (or sends QUIT), sharing `store` with
 * other connections. A malformed request gets an error reply and the connection is closed.
 * Resolves when the connection is over; never rejects for a closed connection. Takes the
 * stream's close callback (that is how a failed callback read is seen).
 */
export function serveResp<B extends Uint8Array>(stream: BaseIOStream<B>, store: RespStore = new Map()): Promise<void> {
  return new RespConnection(stream, store).serve();
}

/** A listening RESP server. */
export interface RespServer {
  /** The TCP port it listens on. */
  port: number;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

/**
 * Listens for RESP on `host:port` (default 127.0.0.1, a free port), every connection an
 * {@link IOStream} over the accepted socket (TCP_NODELAY on: IOStream's default), all sharing
 * `store`.
 */
export function listenResp(opts: { port?: number; host?: string; store?: RespStore } = {}): Promise<RespServer> {
  const store = opts.store ?? new Map<string, Uint8Array>();
  const open = new Set<IOStream>();
  const server = net.createServer((socket) => {
    const stream = new IOStream(socket);
    open.add(stream);
    serveResp(stream, store)
      .catch((err: unknown) => { console.error('resp-server: connection failed:', err); })
      .finally(() => { open.delete(stream); });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as net.AddressInfo).port,
        close: () => new Promise<void>((done) => {
          for (const s of open) s.close();
          server.close(() => done());
        }),
      });
    });
  });
}

async function main(): Promise<void> {
  const option = (name: string): string | undefined =>
    process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const host = option('host') ?? '127.0.0.1';
  const { port, close } = await listenResp({ port: Number(option('port') ?? 6380), host });
  console.log(`RESP server listening on ${host}:${port}`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => { void close().then(() => process.exit(0)); });
  }
}

// No top-level await: test/resp.test.ts loads this file through require().
if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
