/**
 * Aborting a pending read (AbortSignal, through the facade) and `StreamCore.cancel(id)`: the
 * read slot is freed, the read rejects with the signal's reason, and no byte is lost.
 */
import type { StreamCore } from '../core/index.js';
import { memoryPair, type BaseIOStream } from '../drivers/index.js';
import { CoreDriver, eachChunking, latin1 } from './_support/core-driver.js';
import { nextImmediate, test, withTimeout, type Test } from './_support/harness.js';

const CHUNKINGS = ['whole', 'byte', 'random'] as const;

/** The facade's core, for observing how many bytes arrived (tests only). */
function coreOf(s: BaseIOStream): StreamCore {
  return (s as unknown as { core: StreamCore }).core;
}

/** Lets the memory pair deliver until `n` bytes are buffered on `s` (bounded). */
async function buffered(s: BaseIOStream, n: number): Promise<void> {
  for (let i = 0; i < 10_000 && coreOf(s).readBufferSize < n; i++) await nextImmediate();
  if (coreOf(s).readBufferSize < n) throw new Error(`only ${coreOf(s).readBufferSize} of ${n} bytes arrived`);
}

async function rejectsWith(t: Test, p: Promise<unknown>, reason: unknown, what: string): Promise<void> {
  try {
    await withTimeout(p, 5000, what);
    t.fail(`${what}: resolved`);
  } catch (err) {
    t.equal(err, reason, `${what}: rejects with the signal's reason`);
  }
}

const text = async (p: Promise<Uint8Array>, what: string): Promise<string> => latin1(await withTimeout(p, 5000, what));

for (const chunking of CHUNKINGS) {
  const opts = { chunking, seed: 11 } as const;

  test(`abort a pending readUntil after some bytes arrived, then read again (${chunking})`, async (t) => {
    const [a, b] = memoryPair(opts);
    try {
      const ac = new AbortController();
      const reason = new Error('give up');
      const p = a.readUntil('\r\n', { signal: ac.signal });
      await b.write('HEAD');
      await buffered(a, 4);
      ac.abort(reason);
      await rejectsWith(t, p, reason, 'readUntil');
      t.notOk(a.reading(), 'the read slot is free');
      t.notOk(a.closed(), 'the stream stays open');
      await b.write('ER\r\nnext');
      t.equal(await text(a.readUntil('\r\n'), 'readUntil'), 'HEADER\r\n', 'every byte is still there');
      t.equal(await text(a.readBytes(4), 'readBytes'), 'next');
      ac.abort(new Error('again'));
    } finally {
      a.close();
      b.close();
    }
  });

  test(`an already-aborted signal rejects without consuming, for every read kind (${chunking})`, async (t) => {
    const [a, b] = memoryPair(opts);
    try {
      await b.write('abc\ndef');
      await buffered(a, 7);
      const reason = new Error('pre-aborted');
      const signal = AbortSignal.abort(reason);
      await rejectsWith(t, a.readBytes(3, { signal }), reason, 'readBytes');
      await rejectsWith(t, a.readUntil('\n', { signal }), reason, 'readUntil');
      await rejectsWith(t, a.readUntilRegex(/\n/, { signal }), reason, 'readUntilRegex');
      await rejectsWith(t, a.readUntilClose({ signal }), reason, 'readUntilClose');
      const buf = new Uint8Array(3);
      await rejectsWith(t, a.readInto(buf, { signal }), reason, 'readInto');
      t.equal(latin1(buf), '\0\0\0', 'readInto target untouched');
      let called = false;
      t.equal(a.readBytes(1, { signal, callback: () => { called = true; } }), undefined, 'readBytes with callback returns undefined');
      await new Promise((resolve) => setTimeout(resolve, 5));
      t.notOk(called, 'the callback is not called for an aborted read');
      t.notOk(a.reading());
      t.equal(await text(a.readUntil('\n'), 'readUntil'), 'abc\n', 'nothing consumed');
      t.equal(await text(a.readBytes(3), 'readBytes'), 'def');
    } finally {
      a.close();
      b.close();
    }
  });

  test(`abort readBytes, readUntilRegex, readInto and readUntilClose mid-way (${chunking})`, async (t) => {
    const [a, b] = memoryPair(opts);
    try {
      await b.write('0123');
      const kinds: [string, (s: AbortSignal) => Promise<unknown>][] = [
        ['readBytes(10)', (signal) => a.readBytes(10, { signal })],
        ['readUntilRegex', (signal) => a.readUntilRegex(/\r?\n\r?\n/, { signal })],
        ['readInto(10 bytes)', (signal) => a.readInto(target, { signal })],
        ['readUntilClose', (signal) => a.readUntilClose({ signal })],
      ];
      const target = new Uint8Array(10);
      for (const [what, start] of kinds) {
        const ac = new AbortController();
        const p = start(ac.signal);
        await buffered(a, 4);
        t.ok(a.reading(), `${what}: pending`);
        const reason = new Error(what);
        ac.abort(reason);
        await rejectsWith(t, p, reason, what);
        t.notOk(a.reading(), `${what}: slot freed`);
      }
      // readInto copies the bytes into its target as they arrive; aborted, it gives them back.
      t.equal(latin1(target), `0123${'\0'.repeat(6)}`, 'the aborted readInto had the bytes in its target');
      const rest = a.readUntilClose();
      await b.write('45');
      b.close();
      t.equal(await text(rest, 'readUntilClose'), '012345', 'no byte lost across four aborted reads');
    } finally {
      a.close();
      b.close();
    }
  });
}

eachChunking('core cancel(id): frees the slot, settles nothing, keeps every byte', (t, ch) => {
  const d = new CoreDriver(ch, { readChunkSize: 4 }).queue('abcdefgh').queue('!');
  const target = new Uint8Array(9);
  const into = d.core.readInto(target);
  d.feed(1);
  t.notOk(d.settled.has(into));
  t.ok(d.core.cancel(into), 'cancel(pending id) is true');
  d.drain();
  t.notOk(d.core.reading, 'slot freed');
  t.notOk(d.settled.has(into), 'a cancelled request is never settled by the core');
  t.equal(d.core.readBufferSize, d.fed, 'what the readInto had taken is buffered again');
  const size = d.core.readBufferSize;
  t.equal(d.interest[d.interest.length - 1], size >= 4 ? 'pause-read' : 'want-read',
    'read-ahead follows the buffer once no read is pending');
  t.notOk(d.core.cancel(into), 'cancel twice is false');
  t.notOk(d.core.cancel(0), 'cancel(0) is false');
  t.notOk(d.core.cancel(12345), 'cancel(unknown) is false');
  const until = d.core.readUntil('!');
  t.notOk(d.core.cancel(until + 1), 'cancel(other id) leaves the pending read alone');
  t.ok(d.core.reading);
  d.until(until);
  t.equal(d.text(t, until), 'abcdefgh!', 'the next read gets every byte');
  t.notOk(d.core.cancel(until), 'cancel after settlement is false');
  const w = d.core.write('x');
  t.notOk(d.core.cancel(w), 'a write cannot be cancelled as a read');
  d.checkInvariants(t);
});

eachChunking('core cancel(id) mid-search: the next search still sees every byte', (t, ch) => {
  const d = new CoreDriver(ch).queue('xx\r').queue('\n\r\ny');
  const r1 = d.core.readUntil('\r\n\r\n');
  while (d.fed < 3) d.feed(1);
  t.ok(d.core.cancel(r1), 'cancelled with part of the match buffered');
  const r2 = d.core.readUntilRegex(/\r\n\r\n/);
  d.until(r2);
  t.equal(d.text(t, r2), 'xx\r\n\r\n', 'a match straddling the cancel point is found');
  const r3 = d.core.readUntil('y');
  d.until(r3);
  t.equal(d.text(t, r3), 'y');
  t.notOk(d.settled.has(r1));
  d.checkInvariants(t);
});
