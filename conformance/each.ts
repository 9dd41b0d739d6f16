/**
 * Records pushed as they arrive: `readUntilEach` / `eachLine` — every record in order, each
 * once; `false`, a clean close, an abort, a limit, an error and a throw end it as documented;
 * stopping loses no byte; the handler may write and close; the read slot is held meanwhile.
 */
import type { AnyStream, Case } from './types.js';
import {
  closeCallbackRan, dec, errName, expectClosedError, expectThrow, readAll, realErrorOf, send, settle, sleep, waitFor, within, WAIT_MS,
} from './util.js';

const needEof = (c: { peerEof: boolean }): string | null => (c.peerEof ? null : 'driver cannot signal a clean EOF to the peer');
const needBoth = (c: { bidirectional: boolean }): string | null => (c.bidirectional ? null : 'driver is one-way');

/** `n` records `rec <i>;;` of varying length (so chunk edges fall everywhere in them). */
const records = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `rec ${from + i}${'-'.repeat((from + i) % 7)};;`);

/** Writes `text` in pieces of `piece` bytes, each awaited (a close drops unconfirmed writes). */
async function writeInPieces(s: AnyStream, text: string, piece: number): Promise<void> {
  for (let at = 0; at < text.length; at += piece) await s.write(text.slice(at, at + piece));
}

export const eachCases: Case[] = [
  {
    behaviour: 'readUntilEach hands over every record in order, never inside the call, and resolves at a clean close leaving the partial record',
    skip: needEof,
    async run({ t, pair }) {
      const [a, b] = await pair();
      const recs = records(200);
      recs.splice(100, 0, `long ${'x'.repeat(3000)};;`); // one record over many deliveries
      await a.write(recs.slice(0, 20).join(''));
      await sleep(10); // some records are buffered before the read starts
      const got: string[] = [];
      let inCall = false;
      let called = 0;
      inCall = true;
      const done = b.readUntilEach(';;', (r) => { if (inCall) called++; got.push(dec(r)); });
      inCall = false;
      t.equal(called, 0, 'no record is handed over inside the readUntilEach() call');
      t.equal(b.reading(), true, 'it holds the read slot');
      // Pieces that split records and delimiters alike.
      await writeInPieces(a, `${recs.slice(20).join('')}partial`, 37);
      a.close();
      t.equal(await within(done, WAIT_MS, 'readUntilEach'), undefined, 'resolves (with nothing) at the clean close');
      t.deepEqual(got, recs, 'every record, delimiter included, once, in order');
      t.equal(b.reading(), false, 'the slot is free');
      t.equal(dec(await within(b.readUntilClose(), WAIT_MS, 'readUntilClose')), 'partial', 'the trailing partial record stays buffered');
    },
  },
  {
    behaviour: 'readUntilEach: false stops after that record, at every record boundary of a chunked input; readUntilClose then gets the rest byte for byte',
    skip: needEof,
    async run({ t, pair }) {
      const [a, b] = await pair();
      const recs = records(40);
      const text = `${recs.join('')}tail`;
      void writeInPieces(a, text, 11).then(() => { a.close(); }, () => {});
      // Each read takes one record and stops: every boundary is a stop, with the next record
      // already buffered (delivered with the one before) or still on its way.
      const got: string[] = [];
      for (let k = 1; k <= recs.length; k++) {
        let n = 0;
        await within(b.readUntilEach(';;', (r) => { got.push(dec(r)); n++; return false; }), WAIT_MS, `readUntilEach #${k}`);
        if (n !== 1 || b.reading()) {
          // (A read that ends with no record, at a close, must not make this loop spin.)
          t.fail(`read #${k} handed over ${n} records (expected 1) or kept the slot`);
          break;
        }
      }
      t.deepEqual(got, recs, `one record per read, in order, over ${recs.length} reads`);
      t.equal(dec(await within(b.readUntilClose(), WAIT_MS, 'readUntilClose')), 'tail', 'readUntilClose gets exactly the rest');
    },
  },
  {
    behaviour: 'eachLine stops on false and the next readUntil continues right after the last line handed over',
    async run({ t, pair }) {
      const [a, b] = await pair();
      send(a, 'one\ntwo\nthree\nfour\n');
      const got: string[] = [];
      await within(b.eachLine((l) => { got.push(dec(l)); return got.length < 2 ? true : false; }), WAIT_MS, 'eachLine');
      t.deepEqual(got, ['one\n', 'two\n'], 'stopped after the second line');
      t.equal(dec(await b.readUntil('\n')), 'three\n');
      t.equal(dec(await b.readUntil('\n')), 'four\n');
    },
  },
  {
    behaviour: 'readUntilEach maxBytes, overflowing mid-stream: records before a too long one go out, then it rejects and the stream closes with UnsatisfiableReadError',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const got: string[] = [];
      const done = b.readUntilEach('\n', (r) => { got.push(dec(r)); }, { maxBytes: 8 });
      // In pieces: the records go out from earlier deliveries, the overflow comes in a later one.
      void writeInPieces(a, 'short\nexactly\nthis one is far too long\nnever\n', 5).catch(() => {});
      const err = await expectClosedError(t, done, 'a record past maxBytes');
      t.equal(errName(realErrorOf(err)), 'UnsatisfiableReadError', 'realError is UnsatisfiableReadError');
      t.deepEqual(got, ['short\n', 'exactly\n'], 'the records within the limit (8 bytes is fine)');
      t.equal(errName(b.error), 'UnsatisfiableReadError', 'the stream closed with the limit error');
      t.equal(b.reading(), false, 'the slot is free');
    },
  },
  {
    behaviour: 'readUntilEach: an abort, inside onRecord or outside, rejects with the reason and loses no byte',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const ac = new AbortController();
      const reason = new Error('enough');
      const got: string[] = [];
      send(a, 'a;b;c;d');
      const done = b.readUntilEach(';', (r) => { got.push(dec(r)); if (got.length === 2) ac.abort(reason); }, { signal: ac.signal });
      const r = await settle(done, 'aborted readUntilEach');
      t.ok(!r.ok && r.error === reason, 'rejects with the reason');
      t.deepEqual(got, ['a;', 'b;'], 'no record after the abort');
      t.equal(b.reading(), false, 'the slot is free');
      t.equal(dec(await b.readUntil(';')), 'c;', 'the next read gets the next record');
      const ac2 = new AbortController();
      const p = b.readUntilEach(';', () => { t.fail('no record should come'); }, { signal: ac2.signal });
      await sleep(10);
      ac2.abort(reason);
      const r2 = await settle(p, 'aborted while waiting');
      t.ok(!r2.ok && r2.error === reason, 'an abort while waiting rejects with the reason');
      const r3 = await settle(b.readUntilEach(';', () => {}, { signal: ac2.signal }), 'already aborted');
      t.ok(!r3.ok && r3.error === reason, 'an already aborted signal rejects at once');
      t.equal(b.reading(), false, 'and holds no slot');
      send(a, ';');
      t.equal(dec(await b.readUntil(';')), 'd;', 'the unfinished record is intact');
    },
  },
  {
    behaviour: 'readUntilEach: a throwing onRecord closes the stream with what it threw and rejects with it',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const closed = closeCallbackRan(b);
      const boom = new Error('handler bug');
      let n = 0;
      await a.write('x\ny\nz\n');
      await sleep(20); // all of it buffered: the record after the throw is there to keep
      const r = await settle(b.readUntilEach('\n', () => { if (++n === 2) throw boom; }), 'throwing onRecord');
      t.ok(!r.ok && r.error === boom, 'rejects with the thrown error');
      t.equal(n, 2, 'no record after the throw');
      await closed;
      t.equal(b.error, boom, 'the stream closed with it');
      t.equal(dec(await b.readUntil('\n')), 'z\n', 'the records not handed over stay buffered');
    },
  },
  {
    behaviour: 'readUntilEach: onRecord may write to the stream (an echo per record) and stop',
    skip: needBoth,
    async run({ t, pair }) {
      const [a, b] = await pair();
      const recs = records(120);
      const writes: Promise<void>[] = [];
      let n = 0;
      const done = b.readUntilEach(';;', (r) => {
        writes.push(b.write(r));
        return ++n < recs.length;
      });
      const sent = writeInPieces(a, `${recs.join('')}rest`, 23);
      await within(done, WAIT_MS, 'readUntilEach');
      await within(Promise.all(writes), WAIT_MS, 'the echo writes');
      t.equal(dec(await within(readAll(a, recs.join('').length), WAIT_MS, 'the echo')), recs.join(''), 'the peer got every echo, in order');
      await sent;
      t.equal(dec(await b.readBytes(4)), 'rest', 'and the stop left the rest');
    },
  },
  {
    behaviour: 'readUntilEach: close() inside onRecord ends it cleanly after the complete records buffered with it',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const recs = records(40);
      const got: string[] = [];
      const closed = closeCallbackRan(b);
      let closedAt = -1;
      const done = b.readUntilEach(';;', (r) => {
        got.push(dec(r));
        if (got.length === 10) {
          b.close();
          closedAt = got.length;
        }
      });
      send(a, `${recs.join('')}rest`);
      t.equal(await within(done, WAIT_MS, 'readUntilEach'), undefined, 'resolves');
      await closed;
      t.equal(closedAt, 10, 'closed at the tenth record');
      t.equal(b.error, null, 'a clean close');
      t.deepEqual(got, recs.slice(0, got.length), `in order, the tenth and those buffered with it (${got.length})`);
      t.equal(b.reading(), false, 'the slot is free');
    },
  },
  {
    behaviour: 'readUntilEach: close(error) inside onRecord rejects with StreamClosedError { realError }, hands over no more records and keeps them buffered',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const boom = new Error('protocol violation');
      await a.write('x\ny\nz\n');
      await sleep(20); // all buffered: records after the close are there to keep
      const got: string[] = [];
      const done = b.readUntilEach('\n', (r) => { got.push(dec(r)); if (got.length === 1) b.close(boom); });
      const err = await expectClosedError(t, done, 'close(error) inside onRecord');
      t.equal(realErrorOf(err), boom, 'realError is the close error');
      t.deepEqual(got, ['x\n'], 'no record after the close');
      t.equal(b.error, boom, 'the stream closed with it');
      t.equal(dec(await b.readUntil('\n')), 'y\n', 'a read after the close still gets the buffered records');
    },
  },
  {
    behaviour: 'readUntilEach: an error close while it waits rejects with StreamClosedError { realError }; the partial record stays buffered',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const boom = new Error('gone');
      const got: string[] = [];
      const done = b.readUntilEach(';', (r) => { got.push(dec(r)); });
      send(a, 'one;two');
      await waitFor(() => got.length === 1 && b.readableLength === 3, 'the first record and the partial one');
      b.close(boom);
      const err = await expectClosedError(t, done, 'an error close while waiting');
      t.equal(realErrorOf(err), boom, 'realError is the close error');
      t.deepEqual(got, ['one;']);
      t.equal(dec(await b.readBytes(3)), 'two', 'the partial record is intact');
    },
  },
  {
    behaviour: 'readUntilEach: write then close() inside onRecord — the peer gets the reply, then a clean EOF',
    skip: (c) => needBoth(c) ?? needEof(c),
    async run({ t, pair }) {
      const [a, b] = await pair();
      const closed = closeCallbackRan(b);
      let reply: Promise<void> | null = null;
      const done = b.readUntilEach('\n', (r) => {
        if (dec(r) !== 'QUIT\n') return;
        reply = b.write('221 bye\r\n');
        b.close();
      });
      send(a, 'NOOP\nQUIT\nNOOP\n');
      t.equal(await within(done, WAIT_MS, 'readUntilEach'), undefined, 'resolves at the close');
      t.ok(reply !== null, 'the handler ran for QUIT');
      t.equal(await within(reply as unknown as Promise<void>, WAIT_MS, 'the reply write'), undefined, 'the reply written inside onRecord resolves');
      await closed;
      t.equal(dec(await within(a.readUntilClose(), WAIT_MS, 'peer readUntilClose')), '221 bye\r\n', 'the peer got the reply, then EOF');
      t.equal(b.error, null, 'a clean close');
    },
  },
  {
    behaviour: 'readUntilEach holds the read slot: other reads throw AlreadyReadingError; bad arguments throw and change nothing',
    async run({ t, pair }) {
      const [a, b] = await pair();
      expectThrow(t, () => b.readUntilEach(';', 'x' as unknown as () => void), 'TypeError', /onRecord/, 'a non-function onRecord', 'ERR_INVALID_ARG_TYPE');
      expectThrow(t, () => b.readUntilEach('', () => {}), 'RangeError', /empty/, 'an empty delimiter', 'ERR_OUT_OF_RANGE');
      expectThrow(t, () => b.readUntilEach(';', () => {}, { maxBytes: -1 }), 'RangeError', null, 'maxBytes -1', 'ERR_OUT_OF_RANGE');
      expectThrow(t, () => b.eachLine(() => {}, { signal: 'x' as unknown as AbortSignal }), 'TypeError', /signal/, 'a bad signal', 'ERR_INVALID_ARG_TYPE');
      t.equal(b.reading(), false, 'the bad calls started nothing');
      const got: string[] = [];
      const done = b.readUntilEach(';', (r) => {
        got.push(dec(r));
        expectThrow(t, () => b.readBytes(1), 'AlreadyReadingError', /Already reading/, 'readBytes inside onRecord', 'ERR_ALREADY_READING');
        return got.length < 2;
      });
      expectThrow(t, () => b.readBytes(1), 'AlreadyReadingError', /Already reading/, 'readBytes', 'ERR_ALREADY_READING');
      expectThrow(t, () => b.readUntil(';', { callback: () => {} }), 'AlreadyReadingError', /Already reading/, 'readUntil with callback', 'ERR_ALREADY_READING');
      expectThrow(t, () => b.readUntilEach(';', () => {}), 'AlreadyReadingError', /Already reading/, 'a second readUntilEach', 'ERR_ALREADY_READING');
      expectThrow(t, () => b.lines(), 'AlreadyReadingError', /Already reading/, 'an iterator', 'ERR_ALREADY_READING');
      send(a, 'p;q;r');
      await within(done, WAIT_MS, 'readUntilEach');
      t.deepEqual(got, ['p;', 'q;']);
      const q = b.readBytes(2);
      expectThrow(t, () => b.eachLine(() => {}), 'AlreadyReadingError', /Already reading/, 'readUntilEach while a read is pending', 'ERR_ALREADY_READING');
      send(a, 's');
      t.equal(dec(await q), 'rs');
      await waitFor(() => !b.reading(), 'slot free');
    },
  },
];
