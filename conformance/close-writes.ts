/**
 * Writes at close: a write rejects only if its bytes are not sent. A clean `close()` flushes
 * every write issued before it (those in flight, those still queued in the stream behind a
 * slow peer or `maxWriteBufferSize`), each resolves as the transport takes it, and the peer
 * gets exactly those bytes; `close(error)` rejects the writes not confirmed and the peer never
 * gets bytes of a write that was still queued; a peer failing during the flush rejects what
 * was not confirmed; writes after the close reject; the close callback and `asyncDispose`
 * come after every flushed write settled.
 */
import type { AnyStream, Assertions, Case, CaseContext } from './types.js';
import {
  closeCallbackRan, concat, dec, errName, pattern, patternByte, readAll, realErrorOf, sameBytes, settle, sleep, within, WAIT_MS,
} from './util.js';

const needEof = (c: { peerEof: boolean }): string | null => (c.peerEof ? null : 'driver cannot signal a clean EOF to the peer');
const MIB = 1024 * 1024;
/** The size of the "slow reader" case when the driver allows it (`maxTransfer`). */
const SLOW_FULL = 64 * MIB;
/** Bound of the waits in the big cases (a 64 MiB TLS flush under coverage is not instant). */
const BIG_WAIT_MS = 30_000;

/** Settlements of `writes`, in the order they happened: indices, or -1 - index for a rejection. */
function settleOrder(writes: readonly Promise<void>[]): number[] {
  const order: number[] = [];
  writes.forEach((w, i) => { w.then(() => { order.push(i); }, () => { order.push(-1 - i); }); });
  return order;
}

/**
 * Reads until the stream closes (or, with `limit`, until that many bytes came), checking each
 * byte against pattern `seed` without keeping them. Returns the count, the first bad offset
 * (-1: none) and what ended the reading.
 */
async function drainPattern(s: AnyStream, seed: number, limit = Infinity, pauseEvery = Infinity):
  Promise<{ count: number; badAt: number; end: unknown }> {
  let count = 0;
  let badAt = -1;
  let nextPause = pauseEvery;
  for (;;) {
    if (count >= limit) return { count, badAt, end: null };
    let c: Uint8Array;
    try {
      c = await s.readBytes(Math.min(MIB, limit - count), { partial: true });
    } catch (end) {
      return { count, badAt, end };
    }
    for (let i = 0; i < c.length && badAt < 0; i++) if (c[i] !== patternByte(seed, count + i)) badAt = count + i;
    count += c.length;
    if (count >= nextPause) {
      nextPause += pauseEvery;
      await sleep(1); // a slow reader: it lets the writer's queue fill up again
    }
  }
}

/** Everything `s` delivers until it closes, either way (reads served from the buffer included). */
async function readToEnd(s: AnyStream): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (;;) {
    try {
      parts.push((await s.readBytes(65536, { partial: true })).slice());
    } catch {
      return concat(parts);
    }
  }
}

/** Whether `got` is a prefix of `all`. */
function isPrefix(got: Uint8Array, all: Uint8Array): boolean {
  return got.length <= all.length && sameBytes(got, all.subarray(0, got.length));
}

/**
 * `size` pattern bytes written as a few writes (the first goes to the transport, the rest wait
 * in the stream's queue), then `close()` at once; with `slow`, the peer starts reading late and
 * pauses now and then. Every write resolves, in order, before the close callback; the peer
 * gets exactly `size` bytes, then a clean EOF.
 */
async function writeThenClose({ t, pair, caps }: CaseContext, size: number, slow: boolean): Promise<void> {
  // maxWriteBufferSize = size: the stream queues all of it, and not a byte more.
  const [a, b] = await pair(slow ? { maxWriteBufferSize: size } : {});
  const seed = 40 + (size % 7);
  const cuts = size < 4 ? [0, size] : [0, Math.floor(size / 8), Math.floor(size / 2), size - 1, size];
  const writes: Promise<void>[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const from = cuts[i] as number;
    writes.push(a.write(pattern(seed, (cuts[i + 1] as number) - from, from)));
  }
  const order = settleOrder(writes);
  const refused = slow ? settle(a.write('x'), 'write past maxWriteBufferSize') : null;
  const log: string[] = [];
  const closed = within(new Promise<void>((resolve) => {
    a.setCloseCallback(() => { log.push(`close callback after ${order.length} settlements`); resolve(); });
  }), BIG_WAIT_MS, 'close callback');
  a.close();
  t.equal(a.writing(), size > 0, 'writing() while the close flushes');
  if (slow) await sleep(50);
  const bound = slow ? BIG_WAIT_MS : WAIT_MS;
  const got = await within(drainPattern(b, seed, caps.peerEof ? Infinity : size, slow ? 4 * MIB : Infinity), bound, 'peer read');
  await closed;
  t.deepEqual(order, writes.map((_, i) => i), `all ${writes.length} writes resolved, in order`);
  t.deepEqual(log, [`close callback after ${writes.length} settlements`], 'the close callback came after every write settled');
  t.equal(got.count, size, `the peer got exactly ${size} bytes`);
  t.equal(got.badAt, -1, 'intact and in order');
  if (caps.peerEof) {
    t.equal(errName(got.end), 'StreamClosedError', 'then the stream ended');
    t.equal(b.error, null, 'with a clean EOF');
  }
  if (refused !== null) {
    const r = await refused;
    t.ok(!r.ok && errName(r.error) === 'StreamBufferFullError', 'the write past maxWriteBufferSize was refused (and not sent)');
  }
  t.equal(a.error, null, 'the writer closed cleanly');
}

/** The slow-reader case at `size`, or listed as skipped when the driver's `maxTransfer` is smaller. */
function slowCases(maxTransfer: number): Case[] {
  const name = (n: number): string =>
    `writes of ${n >= MIB ? `${n / MIB} MiB` : `${n} bytes`} queued behind a slow reader, then close(): all resolve and the peer gets exactly those bytes`;
  if (maxTransfer >= SLOW_FULL) return [{ behaviour: name(SLOW_FULL), run: (ctx) => writeThenClose(ctx, SLOW_FULL, true) }];
  return [
    { behaviour: name(SLOW_FULL), skip: () => `maxTransfer ${maxTransfer} < 64 MiB (a smaller run follows)`, run: async () => {} },
    { behaviour: name(maxTransfer), run: (ctx) => writeThenClose(ctx, maxTransfer, true) },
  ];
}

/** Asserts every settled write in `results` from `from` on rejected with StreamClosedError { realError: `real` }. */
function allRejected(t: Assertions, results: readonly { ok: boolean; error?: unknown }[], from: number, real: unknown, what: string): void {
  let bad = 0;
  for (let i = from; i < results.length; i++) {
    const r = results[i] as { ok: boolean; error?: unknown };
    if (r.ok || errName(r.error) !== 'StreamClosedError' || realErrorOf(r.error as Error) !== real) bad++;
  }
  t.equal(bad, 0, `${what}: ${results.length - from} writes rejected with StreamClosedError { realError }`);
}

export function closeWriteCases(maxTransfer: number): Case[] {
  const oneMiB = Math.min(MIB, maxTransfer);
  return [
    {
      behaviour: 'write(1 byte) then close() at once: the write resolves and the peer gets that byte, then EOF',
      run: (ctx) => writeThenClose(ctx, 1, false),
    },
    {
      behaviour: `write(${oneMiB === MIB ? '1 MiB' : `${oneMiB} bytes`}) then close() at once: every write resolves and the peer gets exactly those bytes`,
      run: (ctx) => writeThenClose(ctx, oneMiB, false),
    },
    ...slowCases(maxTransfer),
    {
      behaviour: 'close(error) right after writes: those not confirmed reject; the peer never gets bytes of a write still queued',
      async run({ t, pair }) {
        const [a, b] = await pair();
        const head = pattern(50, 1000);
        await a.write(head);
        // Read by the peer first: some transports (a TransformStream) drop even what they took on an abort.
        t.ok(sameBytes(await within(b.readBytes(head.length), WAIT_MS, 'first write'), head), 'the peer read the first write');
        const inFlight = pattern(51, Math.min(256 * 1024, maxTransfer)); // handed to the transport at once
        const queued = [pattern(52, 300), pattern(53, 300)];           // wait in the stream's queue
        const writes = [a.write(inFlight), ...queued.map((q) => a.write(q))];
        const order = settleOrder(writes);
        const closed = closeCallbackRan(a);
        const boom = new Error('boom');
        a.close(boom);
        const results = await Promise.all(writes.map((w, i) => settle(w, `write ${i}`)));
        allRejected(t, results, 0, boom, 'close(error)');
        await closed;
        t.equal(order.length, writes.length, 'every write settled before the close callback');
        t.equal(a.error, boom, 'error is the close error');
        const rest = await within(readToEnd(b), WAIT_MS, 'peer read to the end');
        t.ok(isPrefix(rest, concat([inFlight, ...queued])), `the peer got ${rest.length} bytes, in order`);
        t.ok(rest.length <= inFlight.length,
          `at most the write the transport had taken (${rest.length} <= ${inFlight.length}), nothing of the queued ones`);
      },
    },
    {
      behaviour: 'the peer failing during a clean close: writes not yet confirmed reject, the confirmed ones stay resolved',
      async run({ t, pair }) {
        const [a, b] = await pair();
        // Fill every buffer between a and b (b reads nothing): write until a write stays unconfirmed.
        const chunk = 256 * 1024;
        const writes: Promise<void>[] = [];
        const settled: boolean[] = [];
        const add = (n: number): Promise<void> => {
          const i = writes.length;
          settled.push(false);
          const w = a.write(pattern(60, n, i * chunk));
          w.then(() => { settled[i] = true; }, () => { settled[i] = true; });
          writes.push(w);
          return w;
        };
        let stalled = false;
        for (let total = 0; total < SLOW_FULL && !stalled; total += chunk) {
          const w = add(chunk);
          stalled = await Promise.race([w.then(() => false, () => false), sleep(150).then(() => true)]);
        }
        t.ok(stalled, `the peer stopped taking bytes after about ${writes.length * chunk} bytes`);
        const firstPending = settled.indexOf(false);
        add(4 * MIB); // queued in the stream behind the stall
        const order = settleOrder(writes);
        const closed = closeCallbackRan(a);
        a.close();
        await sleep(50);
        t.equal(settled.slice(firstPending).some((s) => s), false, 'a clean close rejects nothing by itself: the writes wait for the flush');
        b.close(new Error('peer gone')); // b drops what it holds unread: a reset, or a broken pipe
        const results = await within(Promise.all(writes.map((w) => settle(w, 'write'))), WAIT_MS, 'writes settle');
        await closed;
        const firstRejected = results.findIndex((r) => !r.ok);
        t.ok(firstRejected >= firstPending, `the writes confirmed before stay resolved (${firstPending} of ${writes.length})`);
        t.ok(firstRejected > 0 && firstRejected < writes.length, 'the writes behind the stall reject');
        t.ok(a.error instanceof Error, `the flush failed: a.error is ${errName(a.error)} ${String((a.error as { code?: unknown } | null)?.code)}`);
        if (firstRejected >= 0) allRejected(t, results, firstRejected, a.error, 'after the failure');
        t.equal(order.length, writes.length, 'every write settled before the close callback');
      },
    },
    {
      behaviour: 'writes issued after close() or from the close callback reject and are never sent',
      skip: needEof,
      async run({ t, pair }) {
        const [a, b] = await pair();
        const first = a.write('first');
        a.close();
        const late = settle(a.write('late'), 'write after close()');
        let fromCallback: Promise<{ ok: boolean; error?: unknown }> | null = null;
        const closed = within(new Promise<void>((resolve) => {
          a.setCloseCallback(() => { fromCallback = settle(a.write('from the close callback'), 'write in the close callback'); resolve(); });
        }), WAIT_MS, 'close callback');
        const all = await within(readToEnd(b), WAIT_MS, 'peer read to the end');
        await closed;
        t.ok((await settle(first, 'first')).ok, 'the write before close() resolved');
        const r1 = await late;
        t.ok(!r1.ok && errName(r1.error) === 'StreamClosedError', 'the write after close() rejected');
        const r2 = await (fromCallback as unknown as Promise<{ ok: boolean; error?: unknown }>);
        t.ok(!r2.ok && errName(r2.error) === 'StreamClosedError', 'the write from the close callback rejected');
        t.equal(dec(all), 'first', 'the peer got only the bytes written before close()');
      },
    },
    {
      behaviour: '[Symbol.asyncDispose] resolves after the writes it flushed have settled',
      async run({ t, pair }) {
        const [a, b] = await pair();
        const data = pattern(70, Math.min(MIB, maxTransfer));
        let resolved = false;
        const w = a.write(data).then(() => { resolved = true; });
        const reading = within(readAll(b, data.length), WAIT_MS, 'peer read');
        await within((a as AnyStream & AsyncDisposable)[Symbol.asyncDispose](), WAIT_MS, 'asyncDispose');
        t.equal(resolved, true, 'the write had resolved (and its handler run) when asyncDispose resolved');
        await w;
        t.ok(sameBytes(await reading, data), 'the peer got the bytes');
      },
    },
  ];
}
