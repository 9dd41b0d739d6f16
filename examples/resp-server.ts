/**
 * A RESP server (a small Redis: the commands of ./resp-commands.ts) written against
 * {@link BaseIOStream}'s public methods only, like the client in ./resp.ts, so `serveResp`
 * runs over any driver; `listenResp` puts it on TCP.
 *
 * Run: node --import tsx examples/resp-server.ts [--port=6380] [--host=127.0.0.1]
 * then e.g. `redis-cli -p 6380 ping` or `redis-benchmark -p 6380 -t set,get,ping`.
 *
 * Requests are read with `readUntil('\n')` for each header line and `readBytes(n + 2)` for
 * each bulk argument. Besides RESP arrays it accepts inline commands (`PING\r\n`, words split
 * on spaces, `"..."` and `'...'` quoting), as Redis does: `redis-benchmark -t ping` and telnet
 * send those. Replies are queued and written together whenever the next read has to wait for
 * the network, so a batch of pipelined commands is answered in one write.
 */
import * as net from 'node:net';
import { IOStream, StreamClosedError, type BaseIOStream } from 'sansio-iostream';
import { RespError, RespProtocolError, RespWriter, type RespValue } from './resp.js';
import { commandName, execute, type RespStore } from './resp-commands.js';

export type { RespStore } from './resp-commands.js';

/** Longest header or inline line accepted (Redis's PROTO_INLINE_MAX_SIZE). */
const MAX_LINE = 64 * 1024;
const LINE = { maxBytes: MAX_LINE } as const;
const LF = Uint8Array.of(0x0a);
/** Redis's limits on the argument count and on one bulk argument (proto-max-bulk-len). */
const MAX_ARGS = 1024 * 1024;
const MAX_BULK = 512 * 1024 * 1024;
/** Queued replies past this size go out without waiting for the batch to end. */
const FLUSH_AT = 64 * 1024;

/** The integer of a `*n` / `$n` header line (type byte, digits, CRLF); throws on anything else. */
function headerInteger(line: Uint8Array, what: string): number {
  const end = line.length - 2;
  let i = line[1] === 0x2d ? 2 : 1; // '-'
  let n = 0;
  if (end <= i || end - i > 16 || line[end] !== 0x0d) throw new RespProtocolError(`invalid ${what}`);
  for (; i < end; i++) {
    const d = (line[i] as number) - 0x30;
    if (d < 0 || d > 9) throw new RespProtocolError(`invalid ${what}`);
    n = n * 10 + d;
  }
  return line[1] === 0x2d ? -n : n;
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

  /** `read`, just started; when it has to wait for bytes (`reading()`), queued replies go out. */
  before<T>(read: Promise<T>): Promise<T> {
    if (this.writer.length > 0 && this.stream.reading()) void this.flush();
    return read;
  }
}

/**
 * Reads one request: a RESP array of bulk strings (what client libraries send) or an inline
 * command line. Resolves with its arguments; `[]` for an empty line or `*0`, which Redis
 * ignores. Malformed input rejects with {@link RespProtocolError}, Redis's wording.
 */
async function readRequest<B extends Uint8Array>(stream: BaseIOStream<B>, replies: Replies<B>): Promise<Uint8Array[]> {
  const line = await replies.before(stream.readUntil(LF, LINE));
  if (line[0] !== 0x2a) { // not '*': inline
    return splitInline(line.subarray(0, line.length - (line[line.length - 2] === 0x0d ? 2 : 1)));
  }
  const n = headerInteger(line, 'multibulk length');
  if (n > MAX_ARGS) throw new RespProtocolError('invalid multibulk length');
  const args: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const head = await replies.before(stream.readUntil(LF, LINE));
    if (head[0] !== 0x24) throw new RespProtocolError(`expected '$', got '${String.fromCharCode(head[0] as number)}'`);
    const len = headerInteger(head, 'bulk length');
    if (len < 0 || len > MAX_BULK) throw new RespProtocolError('invalid bulk length');
    const data = await replies.before(stream.readBytes(len + 2));
    if (data[len] !== 0x0d || data[len + 1] !== 0x0a) throw new RespProtocolError('bulk string not followed by CRLF');
    args.push(data.subarray(0, len));
  }
  return args;
}

/**
 * Serves RESP on `stream` until the client closes it (or sends QUIT), sharing `store` with
 * other connections. A malformed request gets an error reply and the connection is closed.
 * Resolves when the connection is over; never rejects for a closed connection.
 */
export async function serveResp<B extends Uint8Array>(stream: BaseIOStream<B>, store: RespStore = new Map()): Promise<void> {
  const replies = new Replies(stream);
  try {
    for (;;) {
      const args = await readRequest(stream, replies);
      if (args.length === 0) continue;
      const name = commandName(args);
      replies.add(execute(store, name, args));
      if (name === 'quit') break;
    }
  } catch (err) {
    if (err instanceof RespProtocolError) {
      replies.add(new RespError(`ERR Protocol error: ${err.message}`));
    } else if (!(err instanceof StreamClosedError)) {
      stream.close(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }
  // close() drops what was not handed to the transport yet: the last replies go first.
  await replies.flush();
  stream.close();
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
