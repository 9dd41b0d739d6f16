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
 * it lacks: `readBytes(missing)` for the rest of a bulk argument, a partial read for more of a
 * line. (One `await readUntil()` / `readBytes()` per element is simpler to write and costs a
 * promise per element: bench/README.md, RESP, has the figures for both ways.)
 * Besides RESP arrays it accepts inline commands (`PING\r\n`, words split on spaces, `"..."`
 * and `'...'` quoting), as Redis does: `redis-benchmark -t ping` and telnet send those.
 * Replies are queued and written together whenever the next read has to wait for the
 * network, so a batch of pipelined commands is answered in one write.
 *
 * Limits (./resp-limits.ts, `RespLimits`): a line over `maxLine` (64 KiB), a bulk over
 * `maxBulk` (64 MiB) or more than `maxArgs` arguments get Redis's `-ERR Protocol error: ...`
 * after the replies to the requests before them, then the connection closes; so does a bulk
 * that would take the bytes held by the pending bulks of all connections sharing a
 * `RespBudget` past `maxPendingBulkBytes` (256 MiB), with `-OOM ...`. The parser finds every
 * breach itself (a stream limit would close the connection before the reply went out), and
 * `listenResp` sizes the streams' `maxBufferSize` to fit `maxBulk`.
 *
 * Longer than ~400 lines, on purpose: the parser, the reads that feed it and the limits they
 * keep are one state machine, easier to check in one file.
 */
import * as net from 'node:net';
import { IOStream, StreamClosedError, type BaseIOStream } from 'sansio-iostream';
import { RespError, RespProtocolError, RespWriter, type RespValue } from './resp.js';
import { commandName, execute, type RespStore } from './resp-commands.js';
import { RESP_BUDGET_REPLY, RespBudget, respLimits, respStreamBufferSize, type RespLimits } from './resp-limits.js';

export type { RespStore } from './resp-commands.js';
export { DEFAULT_RESP_LIMITS, RESP_BUDGET_REPLY, RespBudget, respLimits, respStreamBufferSize, type RespLimits } from './resp-limits.js';

/** How much of what has arrived one read takes (Redis reads 16 KiB at a time too). */
const CHUNK = 16 * 1024;
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
 * of the received bytes. A read that fails (the client went away) closes the stream without
 * calling its callback: the close callback ends the connection. A breach of the limits is
 * found here, not by the stream, so that it gets its reply before the close.
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
  /** Bytes this connection has reserved in `budget` for the pending bulk (0: none). */
  private reserved = 0;
  /** The array a line cut off by the end of a read grows in while its end has not come. */
  private lineRoom: Uint8Array | null = null;
  private readonly maxLine: number;
  private readonly maxBulk: number;
  private readonly maxArgs: number;
  /** What parsing or a command threw that was not the client's fault: `serve()` rejects with it. */
  private failure: Error | null = null;
  /** Every read's callback, and the options of the usual read, made once. */
  private readonly callback = (data: B): void => { this.received(data); };
  private readonly someBytes = { partial: true, callback: this.callback };
  /** The read of the rest of a cut-off bulk, and of more of a cut-off line. */
  private readonly bulkRest = { callback: (data: B): void => { this.giveBack(); this.received(data); } };
  private readonly linePiece = { partial: true, callback: (data: B): void => { this.lineReceived(data); } };

  constructor(private readonly stream: BaseIOStream<B>, private readonly store: RespStore,
    limits: RespLimits, private readonly budget: RespBudget) {
    this.replies = new Replies(stream);
    this.maxLine = limits.maxLine;
    this.maxBulk = limits.maxBulk;
    this.maxArgs = limits.maxArgs;
  }

  /** Serves until the stream closes; takes the stream's close callback. */
  serve(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.setCloseCallback(() => {
        this.giveBack(); // however it closed: a bulk still pending holds nothing any more
        if (this.failure === null) resolve(); else reject(this.failure);
      });
      this.readMore();
    });
  }

  /**
   * Reads what parsing needs next: whatever has come, or the rest of a cut-off bulk argument
   * (once its size is reserved in the budget), or more of a cut-off line (a partial read, not
   * `readUntil` with `maxBytes`: past that the stream would close before the error reply went
   * out). The queued replies go out when the read has to wait for the network.
   */
  private readMore(): void {
    const left = this.buf.length - this.at;
    if (this.bulkLen < 0 && left === 0) {
      this.stream.readBytes(CHUNK, this.someBytes);
      if (this.stream.reading()) void this.replies.flush();
      return;
    }
    if (this.bulkLen >= 0 && this.reserved === 0) {
      const size = this.bulkLen + 2;
      if (!this.budget.reserve(size)) {
        this.refuse(RESP_BUDGET_REPLY);
        return;
      }
      this.reserved = size;
    }
    // The replies go first here: this read may fail at once (a stream whose maxBufferSize is
    // below maxBulk + 2), and the stream it closes sends nothing more.
    void this.replies.flush();
    if (this.bulkLen >= 0) this.stream.readBytes(this.bulkLen + 2 - left, this.bulkRest);
    else this.stream.readBytes(CHUNK, this.linePiece);
  }

  /**
   * More of a cut-off line. With its end in it, parsing goes on as after any read. Without,
   * the piece is added to the line's own array, which doubles when full, so a line that comes
   * a byte at a time costs O(length), not O(length²) copying; past `maxLine` it is refused.
   */
  private lineReceived(piece: B): void {
    if (piece.indexOf(0x0a) >= 0) {
      this.lineRoom = null;
      this.received(piece);
      return;
    }
    const buf = this.buf;
    const left = buf.length - this.at;
    const room = this.lineRoom;
    if (room !== null && buf.buffer === room.buffer && buf.length + piece.length <= room.length) {
      room.set(piece, buf.length); // after every byte a view may cover: nothing is overwritten
      this.buf = room.subarray(0, buf.length + piece.length);
    } else {
      const bigger = new Uint8Array(Math.max(2 * (left + piece.length), 1024));
      bigger.set(buf.subarray(this.at));
      bigger.set(piece, left);
      this.buf = bigger.subarray(0, left + piece.length);
      this.at = 0;
      this.lineRoom = bigger;
    }
    if (this.buf.length - this.at >= this.maxLine) this.refuse(`ERR Protocol error: ${this.lineTooLong().message}`);
    else this.readMore();
  }

  /** Gives back what the pending bulk reserved in the budget. */
  private giveBack(): void {
    if (this.reserved > 0) {
      this.budget.release(this.reserved);
      this.reserved = 0;
    }
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
        this.refuse(`ERR Protocol error: ${err.message}`);
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
      if (n > this.maxArgs) throw new RespProtocolError('invalid multibulk length');
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
        if (len < 0 || len > this.maxBulk) throw new RespProtocolError('invalid bulk length');
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
   * has not all come yet. Throws when the line is longer than `maxLine`, or already has
   * `maxLine` bytes without its end: the same error however the bytes were split.
   */
  private lineEnd(): number {
    const buf = this.buf;
    // A loop, not indexOf: RESP lines are a few bytes, and a call costs more than the scan.
    let i = this.at;
    while (i < buf.length && buf[i] !== 0x0a) i++;
    if (i - this.at >= this.maxLine) throw this.lineTooLong();
    if (i === buf.length) return -1;
    this.at = i + 1;
    return this.at;
  }

  /** The error for a line at `at` longer than `maxLine`, in Redis's words for its kind. */
  private lineTooLong(): RespProtocolError {
    if (this.argc >= 0) return new RespProtocolError('too big bulk count string');
    return new RespProtocolError(this.buf[this.at] === 0x2a ? 'too big mbulk count string' : 'too big inline request');
  }

  /** Queues the error reply `message` (after the replies before it), then ends the connection. */
  private refuse(message: string): void {
    this.replies.add(new RespError(message));
    this.end();
  }

  /** Sends what is queued, then closes: `close()` drops what was not handed to the transport yet. */
  private end(): void {
    void this.replies.flush().then(() => { this.stream.close(); });
  }
}

/** How one connection is served (see {@link serveResp}). */
export interface RespServeOptions {
  /** Limits over {@link DEFAULT_RESP_LIMITS}. */
  limits?: Partial<RespLimits>;
  /**
   * The budget this connection's pending bulks count against; give the connections of one
   * server the same one. Its own `limit` applies (`limits.maxPendingBulkBytes` does not).
   * Default: a budget of this connection's own, of `maxPendingBulkBytes`.
   */
  budget?: RespBudget;
}

/**
 * Serves RESP on `stream` until the client closes it (or sends QUIT), sharing `store` with
 * other connections. A malformed request, or one over the limits, gets an error reply (after
 * the replies to the requests before it) and the connection is closed. The stream's
 * `maxBufferSize` must be at least {@link respStreamBufferSize} of the limits (the default
 * 100 MiB is, for the default limits). Resolves when the connection is over; never rejects
 * for a closed connection. Takes the stream's close callback (that is how a failed callback
 * read is seen).
 */
export function serveResp<B extends Uint8Array>(stream: BaseIOStream<B>, store: RespStore = new Map(),
  options: RespServeOptions = {}): Promise<void> {
  const limits = respLimits(options.limits);
  const budget = options.budget ?? new RespBudget(limits.maxPendingBulkBytes);
  return new RespConnection(stream, store, limits, budget).serve();
}

/** A listening RESP server. */
export interface RespServer {
  /** The TCP port it listens on. */
  port: number;
  /** The limits every connection is served with. */
  limits: Readonly<RespLimits>;
  /** What the pending bulks of all its connections hold, against `limits.maxPendingBulkBytes`. */
  budget: RespBudget;
  /** Stops listening and closes every open connection. */
  close(): Promise<void>;
}

/** Where and how {@link listenResp} serves. */
export interface RespListenOptions {
  /** TCP port (default 0: a free one). */
  port?: number;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** The store every connection shares (default a new one). */
  store?: RespStore;
  /** Limits over {@link DEFAULT_RESP_LIMITS}, for every connection. */
  limits?: Partial<RespLimits>;
}

/**
 * Listens for RESP on `host:port` (default 127.0.0.1, a free port), every connection an
 * {@link IOStream} over the accepted socket (TCP_NODELAY on: IOStream's default, and a
 * `maxBufferSize` that fits `maxBulk`), all sharing `store` and one {@link RespBudget}.
 */
export function listenResp(opts: RespListenOptions = {}): Promise<RespServer> {
  const store = opts.store ?? new Map<string, Uint8Array>();
  const limits = respLimits(opts.limits);
  const budget = new RespBudget(limits.maxPendingBulkBytes);
  const streamOptions = { maxBufferSize: respStreamBufferSize(limits) };
  const open = new Set<IOStream>();
  const server = net.createServer((socket) => {
    const stream = new IOStream(socket, streamOptions);
    open.add(stream);
    serveResp(stream, store, { limits, budget })
      .catch((err: unknown) => { console.error('resp-server: connection failed:', err); })
      .finally(() => { open.delete(stream); });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as net.AddressInfo).port,
        limits,
        budget,
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
