/**
 * Line-rate reads: Tornado-4.4 callback reads that make no promise, and the record iterator
 * (`readUntilIter` / `lines`): records, ends, limits, `break`, one reader at a time, abort.
 */
import type { AnyStream, Case } from './types.js';
import {
  closeCallbackRan, concat, dec, enc, errName, expectClosedError, expectThrow, realErrorOf, send, settle, sleep,
  waitFor, within, WAIT_MS,
} from './util.js';

const needEof = (c: { peerEof: boolean }): string | null => (c.peerEof ? null : 'driver cannot signal a clean EOF to the peer');

/** Every record of `it` until it ends, as text. */
async function collect(it: AsyncIterableIterator<Uint8Array>, label: string): Promise<string[]> {
  const out: string[] = [];
  await within((async () => { for await (const r of it) out.push(dec(r)); })(), WAIT_MS, label);
  return out;
}

/** `n` numbered lines `line <i>\n`. */
const numbered = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `line ${from + i}\n`);

export const recordCases: Case[] = [
  {
    behaviour: 'every read kind given a callback returns undefined and later calls the callback with the result',
    async run({ t, pair }) {
      const [a, b] = await pair();
      send(a, 'abcde\nfg;;hijklmno');
      const got: string[] = [];
      let inCall = false;
      let syncCalls = 0;
      const record = (what: string) => (v: Uint8Array | number): void => {
        if (inCall) syncCalls++;
        got.push(`${what}=${typeof v === 'number' ? v : dec(v)}`);
      };
      const buf = new Uint8Array(3);
      const call = (fn: () => unknown): unknown => { inCall = true; try { return fn(); } finally { inCall = false; } };
      const returned: unknown[] = [];
      returned.push(call(() => b.readBytes(2, { callback: record('bytes') })));
      await waitFor(() => got.length === 1, 'readBytes callback');
      returned.push(call(() => b.readUntil('\n', { callback: record('until') })));
      await waitFor(() => got.length === 2, 'readUntil callback');
      returned.push(call(() => b.readUntilRegex(/;+/, { callback: record('regex') })));
      await waitFor(() => got.length === 3, 'readUntilRegex callback');
      returned.push(call(() => b.readInto(buf, { callback: record('into') })));
      await waitFor(() => got.length === 4, 'readInto callback');
      t.equal(dec(buf), 'hij', 'readInto filled the buffer');
      returned.push(call(() => b.readUntilClose({ callback: record('close') })));
      a.close();
      await waitFor(() => got.length === 5 || b.error !== null, 'readUntilClose callback');
      t.deepEqual(returned, [undefined, undefined, undefined, undefined, undefined], 'no read returned a promise');
      t.deepEqual(got, ['bytes=ab', 'until=cde\n', 'regex=fg;;', 'into=3', 'close=klmno'], 'each callback got its result, in order');
      t.equal(syncCalls, 0, 'no callback ran inside the call that started its read');
    },
  },
  {
    behaviour: 'callback reads over buffered records chain back to back, in order, with no byte lost',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const lines = numbered(500);
      await a.write(lines.join(''));
      const got: string[] = [];
      let depth = 0;
      let maxDepth = 0;
      await within(new Promise<void>((resolve) => {
        const onLine = (line: Uint8Array): void => {
          depth++;
          maxDepth = Math.max(maxDepth, depth);
          got.push(dec(line));
          if (got.length < lines.length) b.readUntil('\n', { callback: onLine });
          else resolve();
          depth--;
        };
        b.readUntil('\n', { callback: onLine });
      }), WAIT_MS, 'chained callback reads');
      t.deepEqual(got, lines, 'every line, in order');
      t.equal(maxDepth, 1, 'a callback never runs inside the read its predecessor started (no recursion)');
      send(a, 'after');
      t.equal(dec(await b.readBytes(5)), 'after', 'the stream reads on normally');
    },
  },
  {
    behaviour: 'a failed callback read closes the stream and skips its callback; an aborted one only frees the slot',
    skip: needEof,
    async run({ t, pair }) {
      const [a, b] = await pair();
      const ac = new AbortController();
      let called = 0;
      t.equal(b.readBytes(10, { signal: ac.signal, callback: () => { called++; } }), undefined, 'returns undefined');
      send(a, 'abc');
      await sleep(10);
      ac.abort(new Error('stop'));
      t.equal(b.reading(), false, 'abort freed the read slot');
      t.equal(b.readBytes(1, { signal: AbortSignal.abort(), callback: () => { called++; } }), undefined,
        'an already aborted signal: returns undefined, nothing read');
      t.equal(dec(await b.readBytes(3)), 'abc', 'the bytes that arrived are still there');
      const closed = closeCallbackRan(b);
      b.readUntil('\n', { callback: () => { called++; } });
      send(a, 'no newline');
      a.close();
      await closed;
      await sleep(5);
      t.equal(called, 0, 'no callback ran: the abort and the failure are reported otherwise');
      t.equal(b.closed(), true, 'the failure closed the stream');
      t.equal(b.error, null, 'a clean close: the peer ended before a newline');
      const late: string[] = [];
      t.equal(b.readUntil('e', { callback: (v) => { late.push(dec(v)); } }), undefined, 'a callback read on a closed stream returns undefined');
      await waitFor(() => late.length === 1, 'readUntil callback after close');
      b.readBytes(6, { callback: (v) => { late.push(dec(v)); } });
      await sleep(5);
      t.deepEqual(late, ['no ne'], 'the read the buffer could satisfy ran its callback; the one it could not, did not');
      t.equal(dec(await b.readBytes(5)), 'wline', 'and left the bytes buffered');
    },
  },
  {
    behaviour: 'readUntilIter yields each record with its delimiter, then ends at a clean close leaving the partial record',
    skip: needEof,
    async run({ t, pair }) {
      const [a, b] = await pair();
      const lines = numbered(300);
      const text = `${lines.join('').replace(/\n/g, '\r\n')}partial`;
      // Written in pieces that split records and delimiters (awaited: a close drops unconfirmed writes).
      for (let at = 0; at < text.length; at += 37) await a.write(text.slice(at, at + 37));
      a.close();
      const got = await collect(b.readUntilIter('\r\n'), 'readUntilIter');
      t.deepEqual(got, lines.map((l) => l.replace('\n', '\r\n')), 'every record, delimiter included, in order');
      t.equal(b.reading(), false, 'the ended iterator freed the reader slot');
      t.equal(b.error, null, 'a clean end');
      t.equal(dec(await within(b.readUntilClose(), WAIT_MS, 'readUntilClose')), 'partial', 'the trailing partial record stays buffered');
    },
  },
  {
    behaviour: 'lines() iterates over records already buffered after the peer closed (no transport read needed)',
    skip: needEof,
    async run({ t, pair }) {
      const [a, b] = await pair();
      const closed = closeCallbackRan(b);
      await a.write(numbered(40).join(''));
      a.close();
      await closed;
      t.equal(b.closed(), true, 'the stream is closed: every record comes from the buffer');
      t.deepEqual(await collect(b.lines(), 'lines()'), numbered(40), 'all 40 lines');
    },
  },
  {
    behaviour: 'break out of readUntilIter frees the reader slot and loses no byte',
    async run({ t, pair }) {
      const [a, b] = await pair();
      send(a, 'one\ntwo\nthree\nfour\n');
      const got: string[] = [];
      await within((async () => {
        for await (const line of b.lines()) {
          got.push(dec(line));
          if (got.length === 2) break;
        }
      })(), WAIT_MS, 'two lines');
      t.deepEqual(got, ['one\n', 'two\n']);
      t.equal(b.reading(), false, 'break freed the slot');
      t.equal(dec(await b.readUntil('\n')), 'three\n', 'the next read starts right after the last record taken');
      t.equal(dec(await b.readUntil('\n')), 'four\n');
      const it = b.lines();
      const pending = it.next();
      send(a, 'fi');
      await sleep(10);
      const ret = await it.return?.();
      t.equal(ret?.done, true, 'return() ends the iterator');
      t.equal((await within(pending, WAIT_MS, 'pending next')).done, true, 'a next() pending at return() resolves done');
      t.equal(b.reading(), false, 'return() with a next() pending frees the slot');
      send(a, 've\n');
      t.equal(dec(await b.readBytes(5)), 'five\n', 'no byte lost');
      t.equal((await it.next()).done, true, 'an ended iterator stays done');
    },
  },
  {
    behaviour: 'readUntilIter holds the reader slot: other reads and a second iterator throw AlreadyReadingError',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const it = b.readUntilIter('\n');
      t.equal(b.reading(), true, 'reading() while the iterator is alive');
      expectThrow(t, () => b.readBytes(1), 'AlreadyReadingError', /Already reading/, 'readBytes', 'ERR_ALREADY_READING');
      expectThrow(t, () => b.readUntil('\n', { callback: () => {} }), 'AlreadyReadingError', /Already reading/, 'readUntil with callback', 'ERR_ALREADY_READING');
      expectThrow(t, () => b.lines(), 'AlreadyReadingError', /Already reading/, 'a second iterator', 'ERR_ALREADY_READING');
      send(a, 'x\n');
      const r = await within(it.next(), WAIT_MS, 'next');
      t.equal(dec(r.value as Uint8Array), 'x\n', 'the iterator still reads');
      await it.return?.();
      const q = b.readBytes(1);
      expectThrow(t, () => b.lines(), 'AlreadyReadingError', /Already reading/, 'an iterator while a read is pending', 'ERR_ALREADY_READING');
      send(a, 'y');
      t.equal(dec(await q), 'y');
      expectThrow(t, () => b.readUntilIter(''), 'RangeError', /empty/, 'an empty delimiter', 'ERR_OUT_OF_RANGE');
      expectThrow(t, () => b.readUntilIter('\n', { maxBytes: -1 }), 'RangeError', null, 'maxBytes -1', 'ERR_OUT_OF_RANGE');
      expectThrow(t, () => b.lines({ signal: 'x' as unknown as AbortSignal }), 'TypeError', /signal/, 'a bad signal', 'ERR_INVALID_ARG_TYPE');
      t.equal(b.reading(), false, 'the bad calls left no iterator behind');
    },
  },
  {
    behaviour: 'readUntilIter rejects like readUntil: maxBytes, and an error close',
    async run({ t, pair }) {
      const [a, b] = await pair();
      send(a, 'short\nthis line is far too long\n');
      const it = b.readUntilIter('\n', { maxBytes: 10 });
      t.equal(dec((await within(it.next(), WAIT_MS, 'first')).value as Uint8Array), 'short\n');
      const err = await expectClosedError(t, it.next(), 'a record past maxBytes');
      t.equal(errName(realErrorOf(err)), 'UnsatisfiableReadError', 'realError is UnsatisfiableReadError');
      t.equal(errName(b.error), 'UnsatisfiableReadError', 'and the stream closed with it');
      t.equal(b.reading(), false, 'the failed iterator freed the slot');
      const [c, d] = await pair();
      const it2 = d.lines();
      const p = it2.next();
      send(c, 'no end');
      await sleep(10);
      const boom = new Error('boom');
      d.close(boom);
      const err2 = await expectClosedError(t, p, 'next() pending at close(err)');
      t.equal(realErrorOf(err2), boom, 'realError is the close error');
      const again = await settle(it2.next(), 'next after failure');
      t.ok(!again.ok && errName(again.error) === 'StreamClosedError', 'later next() calls reject the same way');
    },
  },
  {
    behaviour: 'readUntilIter signal: abort rejects the pending next() with the reason and loses no byte',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const ac = new AbortController();
      const it = b.readUntilIter(enc(';'), { signal: ac.signal });
      send(a, 'a;b');
      t.equal(dec((await within(it.next(), WAIT_MS, 'first')).value as Uint8Array), 'a;');
      const p = it.next();
      await sleep(10);
      const reason = new Error('enough');
      ac.abort(reason);
      const r = await settle(p, 'pending next');
      t.ok(!r.ok && r.error === reason, 'the pending next() rejects with the reason');
      t.equal(b.reading(), false, 'the slot is free');
      t.equal(dec(await b.readBytes(1)), 'b', 'the byte of the unfinished record is still there');
      const r2 = await settle(b.lines({ signal: ac.signal }).next(), 'already aborted');
      t.ok(!r2.ok && r2.error === reason, 'an iterator made with an aborted signal rejects at once');
      t.equal(b.reading(), false, 'and holds no slot');
      const all = concat([enc('x'), enc('\n')]);
      send(a, all);
      t.equal(dec(await b.readUntil('\n')), 'x\n');
    },
  },
  {
    behaviour: 'await using closes a stream at the end of its scope',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const closed = closeCallbackRan(a);
      await (async () => {
        await using s = a as AnyStream & AsyncDisposable;
        await s.write('bye');
      })();
      await closed;
      t.equal(a.closed(), true, 'closed by [Symbol.asyncDispose]');
      t.equal(a.error, null, 'cleanly');
      t.equal(dec(await b.readBytes(3)), 'bye', 'what was written before still arrives');
    },
  },
];
