/**
 * What `npm run test:runtimes` runs inside Node, Bun and Deno, against the packed tarball
 * installed in a scratch directory (build.ts turns this file into probe.mjs there, importing
 * `sansio-iostream`, `sansio-iostream/web`, ... from that install).
 *
 * Checks: the common ones (common.ts), then TCP through the Node drivers (`IOStream` over the
 * runtime's `node:net` on 127.0.0.1: the conformance suite, an echo, `ECONNREFUSED`), then the
 * runtime's own sockets as web streams (`Duplex.toWeb` on Node and Bun, `Deno.connect` on Deno).
 * Every event goes to stdout as one `@@rt {json}` line; the process exits 0 only if all passed.
 */
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { Buffer } from 'node:buffer';
import { runConformance } from '../../conformance/index.js';
import type { Assertions } from '../../conformance/index.js';
import { IOStream, StreamClosedError } from '../../drivers/index.js';
import { WebIOStream } from '../../drivers/web/index.js';
import type { WebStreamPair } from '../../drivers/web/index.js';
import type { StreamOptions } from '../../core/index.js';
import { LINE_PREFIX, Suite, type RtEvent } from './mini-tape.js';
import { addCommonChecks } from './common.js';

interface DenoConn { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array>; close(): void }
interface DenoApi {
  version: { deno: string };
  args: string[];
  exit(code: number): never;
  listen(o: { hostname: string; port: number }): { addr: { port: number }; accept(): Promise<DenoConn>; close(): void };
  connect(o: { hostname: string; port: number }): Promise<DenoConn>;
}
const g = globalThis as { Deno?: DenoApi; Bun?: { version: string } };
const runtime = g.Deno ? 'deno' : g.Bun ? 'bun' : 'node';
const version = g.Deno ? g.Deno.version.deno : g.Bun ? g.Bun.version : process.versions.node;
const args = g.Deno ? g.Deno.args : process.argv.slice(2);
const exit = (code: number): void => { if (g.Deno) g.Deno.exit(code); else process.exit(code); };

const emit = (e: RtEvent): void => { console.log(LINE_PREFIX + JSON.stringify(e)); };
const HOST = '127.0.0.1';

// ------------------------------------------------------------------ node:net helpers
/** Listens on 127.0.0.1:0 and hands the first accepted socket to `onSocket`, then stops listening. */
function acceptOnce(onSocket: (s: net.Socket) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => { server.close(); onSocket(socket); });
    server.once('error', reject);
    server.listen(0, HOST, () => { resolve((server.address() as net.AddressInfo).port); });
  });
}

/** `[client, server]` IOStreams over one loopback TCP connection. */
async function tcpPair(options: StreamOptions = {}): Promise<[IOStream, IOStream]> {
  let resolveServer!: (s: IOStream) => void;
  const server = new Promise<IOStream>((r) => { resolveServer = r; });
  const port = await acceptOnce((socket) => { resolveServer(new IOStream(socket, options)); });
  const client = await new IOStream(undefined, options).connect({ host: HOST, port });
  return [client, await server];
}

/** Whether `s` reads into the process's shared receive buffer (internal state, read to check it). */
const onSharedBuffer = (s: IOStream): boolean =>
  (s as unknown as { transportRef?: { reusesMemory?: boolean } }).transportRef?.reusesMemory === true;

/**
 * Which receive path ran (drivers/node/reused-receive.ts): on Node the connect side reads into
 * the shared `onread` buffer and the accepted side moves there at its first pending readInto;
 * elsewhere (Bun, Deno: their `onread` differs) both stay on 'data'. Either way the bytes match.
 */
async function receivePath(t: Assertions): Promise<void> {
  const [c, s] = await tcpPair();
  try {
    const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    const sent = c.write(data);
    const into = new Uint8Array(65536);
    let ok = true;
    for (let at = 0; at < data.length;) {
      const n = await s.readInto(into, { partial: true });
      for (let i = 0; i < n; i++) if (into[i] !== data[at + i]) ok = false;
      at += n;
    }
    await sent;
    t.ok(ok, '300,000 bytes intact through readInto');
    const onNode = runtime === 'node';
    t.equal(onSharedBuffer(c), onNode, `connect side ${onNode ? 'reads into the shared buffer' : "stays on 'data'"}`);
    t.equal(onSharedBuffer(s), onNode, `accepted side ${onNode ? 'moved to the shared buffer at readInto' : "stays on 'data'"}`);
    emit({
      type: 'note', check: 'tcp/echo+refused',
      text: `receive path: connect side ${onSharedBuffer(c) ? 'onread into the shared buffer' : "'data' events"}, accepted side after a readInto ${onSharedBuffer(s) ? 'onread (switched)' : "'data' events"}`,
    });
  } finally {
    c.close();
    s.close();
  }
}
let byobNoted = false;

/** Both ends of one loopback TCP connection as plain sockets. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  let resolveServer!: (s: net.Socket) => void;
  const server = new Promise<net.Socket>((r) => { resolveServer = r; });
  const port = await acceptOnce(resolveServer);
  const client = net.connect(port, HOST);
  await new Promise<void>((resolve, reject) => { client.once('connect', resolve); client.once('error', reject); });
  return [client, await server];
}

/**
 * `Duplex.toWeb(socket)`, or with `safeWritable` its readable plus a small WritableStream over
 * the socket: Node 20's writable adapter can throw an uncatchable TypeError when closed after
 * the peer's FIN (nodejs/node#64120; README, WebIOStream). Which runtimes need it: RAW_TOWEB_OK.
 */
function socketToWeb(s: net.Socket, safeWritable: boolean): WebStreamPair {
  const web = Duplex.toWeb(s) as unknown as { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
  if (!safeWritable) return web;
  const writable = new WritableStream<Uint8Array>({
    write: (chunk) => new Promise<void>((resolve, reject) => { s.write(chunk, (err) => { if (err) reject(err); else resolve(); }); }),
    close: () => new Promise<void>((resolve) => { s.end(resolve); }),
    abort: (reason) => { s.destroy(reason instanceof Error ? reason : undefined); },
  });
  return { readable: web.readable, writable };
}

/**
 * Where `Duplex.toWeb(socket)`'s own writable survives the conformance suite. Measured with
 * `--raw-toweb` (5 runs each): Node 20.20.2 and 22.23.3 crash (3 uncaught TypeErrors per run),
 * Node 24.21.0 and Bun 1.4.5 pass. `--raw-toweb` / `--safe-toweb` force either.
 */
function rawToWebOk(): boolean {
  if (args.includes('--raw-toweb')) return true;
  if (args.includes('--safe-toweb')) return false;
  return runtime !== 'node' || Number(version.split('.')[0]) >= 24;
}

// ------------------------------------------------------------------ TCP checks
async function echo(t: Assertions): Promise<void> {
  const served: Promise<void>[] = [];
  const server = net.createServer((socket) => {
    const s = new IOStream(socket);
    served.push((async () => {
      try {
        for (;;) await s.write(await s.readUntil('\n'));
      } catch (err) {
        if (!(err instanceof StreamClosedError)) throw err;
      }
    })());
  });
  await new Promise<void>((resolve) => { server.listen(0, HOST, resolve); });
  try {
    const { port } = server.address() as net.AddressInfo;
    const c = await new IOStream().connect({ host: HOST, port });
    const lines = ['hello\n', 'wörld\n', `${'x'.repeat(200_000)}\n`];
    const writes = lines.map((l) => c.write(l));
    for (const l of lines) t.equal(new TextDecoder().decode(await c.readUntil('\n')), l, `echoed ${l.length} chars`);
    await Promise.all(writes);
    const [, z] = await Promise.all([c.write('z\n'), c.readBytes(2)]);
    t.ok(Buffer.isBuffer(z), 'IOStream reads resolve with Buffer');
    c.close();
    await Promise.all(served);
    t.equal(c.closed(), true, 'client closed');
  } finally {
    server.close();
  }
}

async function refused(t: Assertions): Promise<void> {
  const server = net.createServer();
  await new Promise<void>((resolve) => { server.listen(0, HOST, resolve); });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
  const s = new IOStream();
  const err = await s.connect({ host: HOST, port }).then(() => null, (e: unknown) => e);
  t.ok(err instanceof StreamClosedError, `connect to a closed port rejects with StreamClosedError (got ${String(err)})`);
  const real = (err as StreamClosedError | null)?.realError as { code?: unknown } | undefined;
  t.equal(real?.code, 'ECONNREFUSED', 'realError.code is ECONNREFUSED');
  t.equal(s.closed(), true, 'the stream is closed');
  t.equal(s.error, real, 'stream.error is the realError');
}

// ------------------------------------------------------------------ Deno sockets
async function denoPair(options: StreamOptions = {}): Promise<[WebIOStream, WebIOStream]> {
  const deno = g.Deno as DenoApi;
  const listener = deno.listen({ hostname: HOST, port: 0 });
  try {
    const [client, server] = await Promise.all([deno.connect({ hostname: HOST, port: listener.addr.port }), listener.accept()]);
    const pair: [WebIOStream, WebIOStream] = [WebIOStream.fromStreams(client, options), WebIOStream.fromStreams(server, options)];
    if (!byobNoted) {
      byobNoted = true;
      const byob = (pair[0] as unknown as { transport?: { byob?: boolean } }).transport?.byob === true;
      emit({ type: 'note', check: 'web/Deno.connect', text: byob ? 'conn.readable read with a BYOB reader into reused memory' : 'conn.readable read with a default reader' });
    }
    return pair;
  } finally {
    listener.close();
  }
}

// ------------------------------------------------------------------ main
const suite = new Suite(emit);
emit({ type: 'runtime', runtime, version });
addCommonChecks(suite);
suite.check('tcp/IOStream', (test) => { runConformance(test, { name: 'tcp/IOStream', makePair: tcpPair }); });
suite.check('tcp/echo+refused', (test) => {
  test('tcp: IOStream echo over 127.0.0.1', echo);
  test('tcp: ECONNREFUSED is StreamClosedError { realError.code }', refused);
  test('tcp: receive path', receivePath);
});
if (runtime === 'deno') {
  suite.check('web/Deno.connect', (test) => { runConformance(test, { name: 'web/Deno.connect', makePair: denoPair }); });
} else {
  const safe = !rawToWebOk();
  if (safe) emit({ type: 'note', check: 'web/Duplex.toWeb', text: 'Duplex.toWeb(socket).readable with its own WritableStream (nodejs/node#64120)' });
  suite.check('web/Duplex.toWeb', (test) => {
    runConformance(test, {
      name: `web/Duplex.toWeb${safe ? ' (own writable)' : ''}`,
      makePair: async (options) => {
        const [c, s] = await socketPair();
        return [WebIOStream.fromStreams(socketToWeb(c, safe), options), WebIOStream.fromStreams(socketToWeb(s, safe), options)];
      },
    });
  });
}
suite.run().then((failed) => { exit(failed > 0 ? 1 : 0); }, (err: unknown) => {
  console.error(err);
  exit(2);
});
