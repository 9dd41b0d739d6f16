/**
 * The web-streams driver on Node: over `Duplex.toWeb(socket)` with real loopback TCP sockets
 * (both ends wrapped), and over a pair of in-memory `TransformStream`s. Driver-specific cases
 * first, then the whole conformance suite over both pair kinds.
 */
import * as net from 'node:net';
import { test, withTimeout } from './_support/harness.js';
import { runConformance, type TestFunction } from '../conformance/index.js';
import { WebIOStream, type WebStreamPair } from '../drivers/web/index.js';
import { socketPair, tcpByteWebPair, tcpWebPair, toWeb, transformPair } from './_support/web-pair.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => { setTimeout(r, ms); });
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Records what the driver does to a hand-made readable/writable pair. */
function probeStreams(opts: { failWrite?: Error; readError?: Error; chunks?: unknown[] } = {}) {
  const log: string[] = [];
  const written: Uint8Array[] = [];
  let cancelReason: unknown = 'not cancelled';
  let abortReason: unknown = 'not aborted';
  const readable = new ReadableStream<unknown>({
    start(c) {
      for (const chunk of opts.chunks ?? []) c.enqueue(chunk);
      if (opts.readError) c.error(opts.readError);
    },
    cancel(reason) { log.push('cancel'); cancelReason = reason; },
  });
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      if (opts.failWrite) throw opts.failWrite;
      written.push(chunk);
    },
    close() { log.push('writer-close'); },
    abort(reason) { log.push('abort'); abortReason = reason; },
  });
  return {
    streams: { readable, writable } as unknown as WebStreamPair,
    log, written, cancelReason: () => cancelReason, abortReason: () => abortReason,
  };
}

test('web: bad arguments throw synchronously; a locked stream is refused and left usable', async (t) => {
  t.throws(() => WebIOStream.fromStreams(null as unknown as WebStreamPair), TypeError);
  t.throws(() => WebIOStream.fromStreams({ readable: {}, writable: {} } as unknown as WebStreamPair), TypeError);
  const ts = new TransformStream<Uint8Array, Uint8Array>();
  const locked = ts.writable.getWriter();
  const other = new TransformStream<Uint8Array, Uint8Array>();
  t.throws(() => WebIOStream.fromStreams({ readable: other.readable, writable: ts.writable }), TypeError, 'locked writable');
  t.equal(other.readable.locked, false, 'the readable lock was released again');
  locked.releaseLock();
});

test('web: clean close flushes the writes, closes the writer, then cancels the reader', async (t) => {
  const p = probeStreams();
  const s = WebIOStream.fromStreams(p.streams);
  const w = s.write('hello');
  await w;
  s.close();
  await withTimeout((async () => { while (!p.log.includes('cancel')) await sleep(1); })(), 2000, 'cancel');
  t.deepEqual(p.log, ['writer-close', 'cancel'], 'writer closed before the reader is cancelled');
  t.equal(text(p.written[0] ?? new Uint8Array(0)), 'hello');
  t.equal(p.cancelReason(), undefined, 'cancelled without a reason');
});

test('web: close(err) aborts the writer and cancels the reader with err', async (t) => {
  const p = probeStreams();
  const s = WebIOStream.fromStreams(p.streams);
  const boom = new Error('boom');
  s.close(boom);
  await withTimeout((async () => { while (p.log.length < 2) await sleep(1); })(), 2000, 'abort+cancel');
  t.deepEqual([...p.log].sort(), ['abort', 'cancel']);
  t.equal(p.abortReason(), boom);
  t.equal(p.cancelReason(), boom);
});

test('web: a readable error closes the stream with StreamClosedError { realError }', async (t) => {
  const boom = new Error('read failed');
  const p = probeStreams({ chunks: [new TextEncoder().encode('ab')], readError: boom });
  const s = WebIOStream.fromStreams(p.streams);
  const err = await s.readBytes(10).then(() => null, (e: unknown) => e as Error & { realError?: unknown });
  t.equal(err?.name, 'StreamClosedError');
  t.equal(s.error, boom);
});

test('web: a writable error closes the stream; a non-bytes chunk is a TypeError', async (t) => {
  const boom = new Error('write failed');
  const p = probeStreams({ failWrite: boom });
  const s = WebIOStream.fromStreams(p.streams);
  const err = await s.write('x').then(() => null, (e: unknown) => e as Error & { realError?: unknown });
  t.equal(err?.name, 'StreamClosedError');
  t.equal(err?.realError, boom);
  const q = probeStreams({ chunks: ['not bytes'] });
  const s2 = WebIOStream.fromStreams(q.streams);
  await s2.readBytes(1).catch(() => {});
  t.equal(s2.error?.name, 'TypeError', 'string chunk rejected');
});

test('web: an unread peer is held back (bounded buffering), then everything arrives', async (t) => {
  const [a, b] = transformPair({ readChunkSize: 4096 });
  const piece = 64 * 1024;
  const writes: Promise<void>[] = [];
  for (let i = 0; i < 64; i++) writes.push(a.write(new Uint8Array(piece).fill(i)));
  await sleep(30);
  t.equal(a.writing(), true, 'writes still unflushed while b does not read');
  const got = await b.readBytes(64 * piece);
  let ok = true;
  for (let i = 0; i < 64; i++) if (got[i * piece] !== i || got[i * piece + piece - 1] !== i) ok = false;
  t.ok(ok, 'all 4 MiB in order');
  await withTimeout(Promise.all(writes), 5000, 'writes');
  a.close(); b.close();
});

test('web/tcp: peer reset is StreamClosedError with realError ECONNRESET', async (t) => {
  const [c, s] = await socketPair();
  const a = WebIOStream.fromStreams(toWeb(c));
  const p = a.readBytes(10).then(() => null, (e: unknown) => e as Error & { realError?: { code?: string } });
  s.resetAndDestroy();
  const err = await withTimeout(p, 5000, 'read after reset');
  t.equal(err?.name, 'StreamClosedError');
  t.equal(err?.realError?.code, 'ECONNRESET');
  a.close();
});

test('web: a byte stream is read with a BYOB reader into reused memory; other streams with a default reader', async (t) => {
  const byob = (s: WebIOStream): boolean => (s as unknown as { transport: { byob: boolean } }).transport.byob;
  const [a, b] = await tcpByteWebPair();
  const [c, d] = await transformPair();
  try {
    t.ok(byob(a) && byob(b), 'byte streams: BYOB');
    t.notOk(byob(c) || byob(d), 'TransformStream readables: default reader');
    // A source that writes into the BYOB request's view: the same memory comes back each read.
    const seen: number[] = [];
    let n = 0;
    const readable = new ReadableStream({
      type: 'bytes',
      pull(ctl) {
        const req = ctl.byobRequest;
        if (req === null || req.view === null) return;
        const v = req.view as Uint8Array;
        seen.push(v.byteLength);
        v[0] = n++;
        req.respond(1);
        if (n === 40) ctl.close();
      },
    });
    const s = WebIOStream.fromStreams({ readable, writable: new WritableStream() } as unknown as WebStreamPair);
    const into = new Uint8Array(1);
    let sum = 0;
    for (let i = 0; i < 40; i++) sum += (await withTimeout(s.readInto(into), 5000, 'readInto')) === 1 ? into[0] as number : -1000;
    t.equal(sum, (39 * 40) / 2, 'readInto got bytes 0..39 in order');
    t.ok(seen.every((x) => x === 8192), `every read offered the same 8 KiB buffer size (${seen.length} reads)`);
    s.close();
  } finally {
    for (const x of [a, b, c, d]) x.close();
  }
});

test('web/tcp: half-close: a.close() is EOF at b after all bytes', async (t) => {
  const [a, b] = await tcpWebPair();
  await a.write('last words');
  a.close();
  t.equal(text(await withTimeout(b.readUntilClose(), 5000, 'readUntilClose')), 'last words');
  t.equal(b.error, null);
});

const run = test as unknown as TestFunction;
runConformance(run, { name: 'web/transform', makePair: async (options) => transformPair(options) });
runConformance(run, { name: 'web/tcp', makePair: (options) => tcpWebPair(options) });
// Byte streams: read with a BYOB reader into reused memory (receiveTransient).
runConformance(run, { name: 'web/tcp-bytes', makePair: (options) => tcpByteWebPair(options) });
