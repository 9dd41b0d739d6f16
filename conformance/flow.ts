/**
 * Traffic: writes during a pending read, many small writes, bulk transfer both ways at once,
 * async iteration, the reading()/writing() flags, write ordering and UTF-8 strings.
 */
import type { AnyStream, Case, CaseContext } from './types.js';
import { dec, enc, errName, expectThrow, patternByte, sameBytes, settle, within, WAIT_MS, pattern, concat , send, readAll, sleep, waitFor } from './util.js';
import { IN_FLIGHT_BYTES } from '../drivers/facade/contract-check.js';

const needEof = (c: { peerEof: boolean }): string | null => (c.peerEof ? null : 'driver cannot signal a clean EOF to the peer');
const needBidi = (c: { bidirectional: boolean }): string | null => (c.bidirectional ? null : 'driver is one-directional (a → b only)');
const FULL_BULK = 16 * 1024 * 1024;

/** Writes `size` pattern bytes in 256 KiB writes; resolves when every write has. */
async function sendPattern(s: AnyStream, seed: number, size: number): Promise<void> {
  const step = 256 * 1024;
  const writes: Promise<void>[] = [];
  for (let at = 0; at < size; at += step) writes.push(s.write(pattern(seed, Math.min(step, size - at), at)));
  await Promise.all(writes);
}

/** Reads `size` bytes and checks each against the pattern without keeping them; returns the first bad offset or -1. */
async function receivePattern(s: AnyStream, seed: number, size: number): Promise<number> {
  let at = 0;
  while (at < size) {
    const c = await s.readBytes(Math.min(1 << 20, size - at), { partial: true });
    for (let i = 0; i < c.length; i++) if (c[i] !== patternByte(seed, at + i)) return at + i;
    at += c.length;
  }
  return -1;
}

async function bulk({ t, pair }: CaseContext, size: number): Promise<void> {
  const [a, b] = await pair();
  const bound = Math.max(WAIT_MS, 30_000);
  const [, , badAtB, badAtA] = await within(Promise.all([
    sendPattern(a, 11, size), sendPattern(b, 12, size), receivePattern(b, 11, size), receivePattern(a, 12, size),
  ]), bound, `bulk ${size} bytes both ways`);
  t.equal(badAtB, -1, `a → b: ${size} bytes intact`);
  t.equal(badAtA, -1, `b → a: ${size} bytes intact`);
}

/**
 * Flow control, seen from outside: with no read pending the stream reads ahead to about
 * `readChunkSize` and pauses its transport; a transport that keeps delivering after `pause()`
 * would buffer everything the peer sends. Bounded by readChunkSize + IN_FLIGHT_BYTES (what a
 * transport may still have in hand when paused), well below what is sent.
 */
async function pausedTransportIsBounded({ t, pair, caps }: CaseContext): Promise<void> {
  const chunkSize = 4096;
  const piece = 1024;
  const total = Math.min(2 * IN_FLIGHT_BYTES + 8 * chunkSize, caps.maxTransfer);
  const bound = chunkSize + IN_FLIGHT_BYTES;
  const [a, b] = await pair({ readChunkSize: chunkSize });
  // 1 KiB writes, each after the one before went out, so every delivery is small (a transport
  // may hand over a whole write at once) and a paused transport can stop between two of them.
  // Not awaited as a whole: a transport with little buffering stalls the writer until b reads.
  let sent = 0;
  const writer = (async () => {
    for (let at = 0; at < total; at += piece) {
      await a.write(pattern(21, Math.min(piece, total - at), at));
      sent = Math.min(total, at + piece);
    }
  })();
  writer.catch(() => {});
  await waitFor(() => b.readableLength >= chunkSize, 'read-ahead fills to readChunkSize');
  let most = b.readableLength;
  for (const until = Date.now() + 300; Date.now() < until && most <= bound && sent < total;) {
    await sleep(5);
    most = Math.max(most, b.readableLength);
  }
  await sleep(20);
  most = Math.max(most, b.readableLength);
  t.ok(most <= bound, `rule pause-stops-delivery: with no read pending at most readChunkSize + ${IN_FLIGHT_BYTES} `
    + `= ${bound} bytes are buffered (saw ${most}, ${sent} of ${total} sent); pause() must stop delivery`);
  const got = await within(readAll(b, total), WAIT_MS, 'reading after the pause');
  t.ok(sameBytes(got, pattern(21, total)), 'a read resumes the transport: every byte arrives, in order');
  await within(writer, WAIT_MS, 'the writes');
}

export function flowCases(maxTransfer: number): Case[] {
  const cases: Case[] = [
    {
      behaviour: 'readableLength counts the bytes received and not yet read',
      async run({ t, pair }) {
        const [a, b] = await pair();
        t.equal(b.readableLength, 0, '0 before anything arrived');
        await a.write('0123456789');
        await waitFor(() => b.readableLength === 10, 'the 10 bytes are buffered by read-ahead');
        t.equal(dec(await b.readBytes(4)), '0123', 'a read takes from the buffer');
        t.equal(b.readableLength, 6, 'the 6 left are counted');
        const r = b.readUntil('\n');
        t.equal(b.readableLength, 6, 'a pending read that is not satisfied takes nothing');
        send(a, 'ab\n');
        t.equal(dec(await r), '456789ab\n');
        t.equal(b.readableLength, 0, 'all read');
        expectThrow(t, () => { (b as { readableLength: number }).readableLength = 5; }, 'TypeError', null, 'assigning readableLength');
      },
    },
    {
      behaviour: 'read-ahead stops near readChunkSize: a paused transport delivers a bounded amount',
      run: pausedTransportIsBounded,
    },
    {
      behaviour: 'writes go out while a read is pending on the same stream',
      skip: needBidi,
      async run({ t, pair }) {
        const [a, b] = await pair();
        const pending = b.readUntil('\n');
        await b.write('ping');
        t.equal(dec(await a.readBytes(4)), 'ping', 'b wrote while its read was pending');
        send(a, 'pong\n');
        t.equal(dec(await pending), 'pong\n', 'the pending read completes');
      },
    },
    {
      behaviour: '10,000 small writes arrive intact and in order',
      async run({ t, pair }) {
        const [a, b] = await pair();
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 10_000; i++) writes.push(a.write(`${i}\n`));
        let bad = -1;
        for (let i = 0; i < 10_000 && bad < 0; i++) {
          if (dec(await b.readUntil('\n')) !== `${i}\n`) bad = i;
        }
        t.equal(bad, -1, 'every line in order');
        await within(Promise.all(writes), WAIT_MS, 'writes resolve');
        t.pass('all 10,000 writes resolved');
      },
    },
    {
      behaviour: 'pending writes resolve in order; strings are UTF-8',
      async run({ t, pair }) {
        const [a, b] = await pair();
        const order: number[] = [];
        const texts = ['héllo ', '✓ ', 'wörld ', '🙂', '!'];
        const ps = texts.map((s, i) => a.write(s).then(() => { order.push(i); }));
        const want = concat(texts.map(enc));
        t.ok(sameBytes(await b.readBytes(want.length), want), 'UTF-8 bytes arrive');
        await within(Promise.all(ps), WAIT_MS, 'writes');
        t.deepEqual(order, [0, 1, 2, 3, 4], 'resolved in order');
        let called = false;
        await a.write('x', () => { called = true; });
        t.equal(called, true, 'write callback ran by the time the promise resolved');
      },
    },
    {
      behaviour: 'reading() and writing() flags',
      async run({ t, pair }) {
        const [a, b] = await pair();
        t.equal(b.reading(), false, 'not reading initially');
        const p = b.readBytes(2);
        t.equal(b.reading(), true, 'reading while a read is pending');
        const w = a.write('hi');
        t.equal(a.writing(), true, 'writing right after write()');
        await w;
        await p;
        t.equal(b.reading(), false, 'not reading after the read resolved');
        t.equal(a.writing(), false, 'not writing after the write resolved');
      },
    },
    {
      behaviour: 'async iteration yields the bytes in order and ends at a clean close',
      skip: needEof,
      async run({ t, pair }) {
        const [a, b] = await pair();
        const data = pattern(13, 200_000);
        const parts: Uint8Array[] = [];
        // Iterating from the start: the EOF arrives while the iterator's read is pending.
        const loop = settle((async () => { for await (const c of b) parts.push(c.slice()); })(), 'for await');
        await Promise.all([a.write(data.subarray(0, 70_000)), a.write(data.subarray(70_000))]);
        a.close();
        const r = await loop;
        t.ok(r.ok, r.ok ? 'loop ended without throwing' : `loop threw ${errName(r.error)}`);
        t.ok(sameBytes(concat(parts), data), 'all bytes, in order');
        t.equal(b.error, null);
      },
    },
    {
      behaviour: 'async iteration throws StreamClosedError after an error close',
      async run({ t, pair }) {
        const [a, b] = await pair();
        send(a, 'x');
        const boom = new Error('boom');
        const r = await settle((async () => { for await (const _ of b) b.close(boom); })(), 'for await');
        t.ok(!r.ok && errName(r.error) === 'StreamClosedError', 'loop throws StreamClosedError');
        t.equal(!r.ok && (r.error as { realError?: unknown }).realError, boom, 'realError is the close error');
      },
    },
  ];
  const skipBulk = (c: { bidirectional: boolean }): string | null => needBidi(c);
  if (maxTransfer >= FULL_BULK) {
    cases.push({
      behaviour: '16 MiB written by both sides at once while both read (no deadlock)',
      skip: skipBulk,
      run: (ctx) => bulk(ctx, FULL_BULK),
    });
  } else {
    cases.push({
      behaviour: '16 MiB written by both sides at once while both read (no deadlock)',
      skip: () => `maxTransfer ${maxTransfer} < 16 MiB (a smaller run follows)`,
      run: async () => {},
    });
    cases.push({
      behaviour: `${maxTransfer} bytes written by both sides at once while both read (no deadlock)`,
      skip: skipBulk,
      run: (ctx) => bulk(ctx, maxTransfer),
    });
  }
  return cases;
}
