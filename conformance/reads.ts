/**
 * Read kinds: readBytes, readUntil, readUntilRegex, readUntilClose, readInto, each with and
 * without partial / maxBytes / streamingCallback / callback / signal.
 */
import type { Case } from './types.js';
import { concat, dec, enc, errName, expectClosedError, pattern, realErrorOf, sameBytes, settle, sleep, within, WAIT_MS , send } from './util.js';

const needEof = (c: { peerEof: boolean }): string | null => (c.peerEof ? null : 'driver cannot signal a clean EOF to the peer');

/** Calls `fn` and reports whether the callback it registers ran synchronously inside it. */
function callbackCapture<T>(): { cb: (v: T) => void; inside: (fn: () => unknown) => void; result: Promise<{ value: T; sync: boolean }> } {
  let inCall = false;
  let resolve: (r: { value: T; sync: boolean }) => void = () => {};
  const result = within(new Promise<{ value: T; sync: boolean }>((r) => { resolve = r; }), WAIT_MS, 'read callback');
  return {
    cb: (value: T) => { resolve({ value, sync: inCall }); },
    inside: (fn) => { inCall = true; try { fn(); } finally { inCall = false; } },
    result,
  };
}

export const readCases: Case[] = [
  {
    behaviour: 'readBytes resolves with exactly n bytes, in order, across writes',
    async run({ t, pair }) {
      const [a, b] = await pair();
      send(a, 'hel'); send(a, 'lo wor'); send(a, 'ld');
      t.equal(dec(await b.readBytes(5)), 'hello');
      t.equal(dec(await b.readBytes(1)), ' ');
      t.equal(dec(await b.readBytes(5)), 'world');
    },
  },
  {
    behaviour: 'readBytes(0) resolves with an empty buffer',
    async run({ t, pair }) {
      const [, b] = await pair();
      t.equal((await within(b.readBytes(0), WAIT_MS, 'readBytes(0)')).length, 0);
      t.equal(b.reading(), false, 'no read left pending');
    },
  },
  {
    behaviour: 'readBytes partial resolves with 1..n of the available bytes',
    async run({ t, pair }) {
      const [a, b] = await pair();
      send(a, 'abc');
      let got = '';
      while (got.length < 3) {
        const c = dec(await b.readBytes(10, { partial: true }));
        t.ok(c.length >= 1 && c.length <= 3 - got.length, `partial chunk of ${c.length} byte(s)`);
        got += c;
      }
      t.equal(got, 'abc');
    },
  },
  {
    behaviour: 'readBytes streamingCallback gets every byte in order and the result is empty',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const data = pattern(1, 3000);
      send(a, data.subarray(0, 1000)); send(a, data.subarray(1000, 2500)); send(a, data.subarray(2500));
      send(a, 'tail');
      const chunks: Uint8Array[] = [];
      let during = true;
      let syncCalls = 0;
      const p = b.readBytes(3000, { streamingCallback: (c) => { if (during) syncCalls++; chunks.push(c.slice()); } });
      during = false;
      const result = await p;
      t.equal(syncCalls, 0, 'streamingCallback never runs inside readBytes()');
      t.equal(result.length, 0, 'result is empty');
      t.ok(sameBytes(concat(chunks), data), 'chunks concatenate to the data');
      t.equal(dec(await b.readBytes(4)), 'tail', 'the next read starts after the streamed bytes');
    },
  },
  {
    behaviour: 'readBytes callback runs later with the result; the read returns undefined',
    async run({ t, pair }) {
      const [a, b] = await pair();
      send(a, 'abcdef');
      t.equal(dec(await b.readBytes(3)), 'abc', 'first bytes buffered');
      const cap = callbackCapture<Uint8Array>();
      let returned: unknown = 'not called';
      cap.inside(() => { returned = b.readBytes(3, { callback: cap.cb }); });
      t.equal(returned, undefined, 'a read given a callback returns undefined (no promise)');
      const r = await cap.result;
      t.equal(r.sync, false, 'callback not called inside readBytes()');
      t.equal(dec(r.value), 'def');
    },
  },
  {
    behaviour: 'readBytes signal: abort rejects with the reason, frees the slot, loses no byte',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const ac = new AbortController();
      const p = b.readBytes(10, { signal: ac.signal });
      await a.write('abcd');
      await sleep(10);
      const reason = new Error('stop');
      ac.abort(reason);
      const r = await settle(p);
      t.ok(!r.ok && r.error === reason, 'rejects with the signal reason');
      t.equal(b.reading(), false, 'read slot freed');
      send(a, 'efghij');
      t.equal(dec(await b.readBytes(10)), 'abcdefghij', 'bytes that arrived before the abort are kept');
    },
  },
  {
    behaviour: 'a read with an already-aborted signal rejects with the reason and changes nothing',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const ac = new AbortController();
      const reason = new Error('early');
      ac.abort(reason);
      send(a, 'xyz\n');
      for (const [what, start] of [
        ['readBytes', () => b.readBytes(1, { signal: ac.signal })],
        ['readUntil', () => b.readUntil('\n', { signal: ac.signal })],
        ['readUntilRegex', () => b.readUntilRegex(/\n/, { signal: ac.signal })],
        ['readUntilClose', () => b.readUntilClose({ signal: ac.signal })],
        ['readInto', () => b.readInto(new Uint8Array(1), { signal: ac.signal })],
      ] as const) {
        const r = await settle(start() as Promise<unknown>);
        t.ok(!r.ok && r.error === reason, `${what} rejects with the reason`);
        t.equal(b.reading(), false, `${what} leaves no read pending`);
      }
      t.equal(dec(await b.readUntil('\n')), 'xyz\n', 'no byte lost');
    },
  },
  {
    behaviour: 'readUntil string delimiter: result includes it, several messages per write',
    async run({ t, pair }) {
      const [a, b] = await pair();
      send(a, 'line1\r\nline2\r\n');
      t.equal(dec(await b.readUntil('\r\n')), 'line1\r\n');
      t.equal(dec(await b.readUntil('\r\n')), 'line2\r\n');
      send(a, 'café!');
      t.equal(dec(await b.readUntil('é')), 'café', 'string delimiter is UTF-8 encoded');
      t.equal(dec(await b.readBytes(1)), '!');
    },
  },
  {
    behaviour: 'readUntil byte delimiter split across writes',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const p = b.readUntil(enc('\r\n\r\n'));
      await a.write('GET /\r\n'); await a.write('\r'); await a.write('\nbody');
      t.equal(dec(await p), 'GET /\r\n\r\n');
      t.equal(dec(await b.readBytes(4)), 'body');
    },
  },
  {
    behaviour: 'readUntil maxBytes: a match ending within maxBytes succeeds',
    async run({ t, pair }) {
      const [a, b] = await pair();
      send(a, 'abcd\n'); send(a, 'efgh\n');
      t.equal(dec(await b.readUntil('\n', { maxBytes: 5 })), 'abcd\n');
      t.equal(dec(await b.readUntil('\n', { maxBytes: 5 })), 'efgh\n');
      t.equal(b.closed(), false);
    },
  },
  {
    behaviour: 'readUntil callback and signal',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const ac = new AbortController();
      const p = b.readUntil('\n', { signal: ac.signal });
      await a.write('partial');
      await sleep(10);
      const reason = new Error('abort');
      ac.abort(reason);
      const r0 = await settle(p);
      t.ok(!r0.ok && r0.error === reason, 'rejects with the signal reason');
      t.equal(b.reading(), false, 'slot freed');
      send(a, ' line\n');
      const cap = callbackCapture<Uint8Array>();
      cap.inside(() => { void b.readUntil('\n', { callback: cap.cb }); });
      const r = await cap.result;
      t.equal(r.sync, false, 'callback runs later');
      t.equal(dec(r.value), 'partial line\n', 'bytes before the abort kept');
    },
  },
  {
    behaviour: 'readUntilRegex returns up to the end of the first match, across writes',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const p = b.readUntilRegex(/\r?\n\r?\n/);
      await a.write('HTTP/1.1 200 OK\r\nA: b\r'); await a.write('\n\r\nbody');
      t.equal(dec(await p), 'HTTP/1.1 200 OK\r\nA: b\r\n\r\n');
      t.equal(dec(await b.readBytes(4)), 'body');
      send(a, 'xxXXX;rest');
      t.equal(dec(await b.readUntilRegex('X+;')), 'xxXXX;', 'string regex');
      t.equal(dec(await b.readBytes(4)), 'rest');
    },
  },
  {
    behaviour: 'readUntilRegex matches bytes as latin1',
    async run({ t, pair }) {
      const [a, b] = await pair();
      send(a, new Uint8Array([0x41, 0xff, 0xe9, 0x0a, 0x42]));
      const r = await b.readUntilRegex(/\xff\xe9\n/);
      t.deepEqual(Array.from(r), [0x41, 0xff, 0xe9, 0x0a]);
      t.deepEqual(Array.from(await b.readBytes(1)), [0x42]);
    },
  },
  {
    behaviour: 'readUntilRegex callback and signal',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const ac = new AbortController();
      const p = b.readUntilRegex(/;;/, { signal: ac.signal });
      await a.write('a;');
      await sleep(10);
      ac.abort('why');
      const r0 = await settle(p);
      t.ok(!r0.ok && r0.error === 'why', 'rejects with the reason (any value)');
      send(a, ';b');
      const cap = callbackCapture<Uint8Array>();
      cap.inside(() => { void b.readUntilRegex(/;;/, { callback: cap.cb }); });
      const r = await cap.result;
      t.equal(r.sync, false, 'callback runs later');
      t.equal(dec(r.value), 'a;;');
    },
  },
  {
    behaviour: 'readUntilClose resolves with everything up to peer EOF',
    skip: needEof,
    async run({ t, pair }) {
      const [a, b] = await pair();
      const data = pattern(2, 100_000);
      // Read first: a transport with small buffers only takes the writes while b reads.
      const p = within(b.readUntilClose(), WAIT_MS, 'readUntilClose');
      await Promise.all([a.write(data.subarray(0, 40_000)), a.write(data.subarray(40_000))]);
      // close() drops unflushed writes (Tornado): wait for them first.
      a.close();
      const r = await p;
      t.ok(sameBytes(r, data), `all ${data.length} bytes`);
      t.equal(b.error, null, 'clean close');
    },
  },
  {
    behaviour: 'readUntilClose streamingCallback: chunks in order, result empty',
    skip: needEof,
    async run({ t, pair }) {
      const [a, b] = await pair();
      const data = pattern(3, 50_000);
      const chunks: Uint8Array[] = [];
      const p = b.readUntilClose({ streamingCallback: (c) => { chunks.push(c.slice()); } });
      await Promise.all([a.write(data.subarray(0, 20_000)), a.write(data.subarray(20_000))]);
      a.close();
      const r = await within(p, WAIT_MS, 'readUntilClose');
      t.equal(r.length, 0, 'result empty');
      t.ok(sameBytes(concat(chunks), data), 'chunks concatenate to the data');
    },
  },
  {
    behaviour: 'readUntilClose resolves at the reader\'s own close()',
    async run({ t, pair }) {
      const [a, b] = await pair();
      let got = 0;
      let seen: () => void = () => {};
      const arrived = within(new Promise<void>((r) => { seen = r; }), WAIT_MS, 'streamed bytes');
      const p = b.readUntilClose({ streamingCallback: (c) => { got += c.length; if (got >= 3) seen(); } });
      send(a, 'abc');
      await arrived;
      b.close();
      const r = await settle(p);
      t.ok(r.ok, 'resolves, does not reject');
      const [, b2] = await pair();
      const p2 = b2.readUntilClose();
      b2.close();
      const r2 = await settle(p2);
      t.ok(r2.ok && r2.value.length === 0, 'without data: resolves empty');
    },
  },
  {
    behaviour: 'readUntilClose rejects after an error close and keeps the bytes buffered',
    async run({ t, pair }) {
      const [, b] = await pair();
      const boom = new Error('boom');
      const p = b.readUntilClose();
      b.close(boom);
      const err = await expectClosedError(t, p, 'readUntilClose');
      t.equal(realErrorOf(err), boom, 'realError is the close error');
      // A buffer-full close is an error close whose bytes are known to have arrived.
      const [a2, b2] = await pair({ maxBufferSize: 8 });
      const data = pattern(4, 64);
      const p2 = b2.readUntilClose();
      send(a2, data);
      const err2 = await expectClosedError(t, p2, 'readUntilClose over maxBufferSize');
      t.equal(errName(realErrorOf(err2)), 'StreamBufferFullError', 'realError is StreamBufferFullError');
      t.ok(sameBytes(await b2.readBytes(8), data.subarray(0, 8)), 'the buffered bytes are still readable');
    },
  },
  {
    behaviour: 'readInto fills the buffer; partial resolves with 1..length',
    async run({ t, pair }) {
      const [a, b] = await pair();
      send(a, '0123456789');
      const buf = new Uint8Array(4);
      t.equal(await b.readInto(buf), 4);
      t.equal(dec(buf), '0123');
      let rest = '';
      while (rest.length < 6) {
        const big = new Uint8Array(100);
        const n = await b.readInto(big, { partial: true });
        t.ok(n >= 1 && n <= 6 - rest.length, `partial readInto got ${n}`);
        rest += dec(big.subarray(0, n));
      }
      t.equal(rest, '456789');
    },
  },
  {
    behaviour: 'readInto callback and signal (an aborted readInto gives back every byte it took)',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const ac = new AbortController();
      const buf = new Uint8Array(8);
      const p = b.readInto(buf, { signal: ac.signal });
      await a.write('abcd');
      await sleep(10);
      ac.abort(new Error('x'));
      t.equal((await settle(p)).ok, false, 'rejects');
      // The bytes went into buf as they came; aborted, the read gives them back to the stream.
      buf.fill(0);
      send(a, 'efgh');
      const cap = callbackCapture<number>();
      cap.inside(() => { void b.readInto(buf, { callback: cap.cb }); });
      const r = await cap.result;
      t.equal(r.sync, false, 'callback runs later');
      t.equal(r.value, 8);
      t.equal(dec(buf), 'abcdefgh', 'no byte lost');
    },
  },
];
