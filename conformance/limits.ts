/**
 * Limits and misuse: maxBufferSize, maxBytes, maxWriteBufferSize, read-ahead that never errors,
 * and the synchronous, state-preserving errors for misuse and bad arguments.
 */
import type { AnyStream, Assertions, Case } from './types.js';
import {
  concat, dec, errName, expectClosedError, expectThrow, pattern, readAll, realErrorOf, sameBytes, settle, sleep, send, waitFor,
} from './util.js';

/** Asserts `fn` throws synchronously a TypeError or RangeError (as `names` allows). */
function badArg(t: Assertions, fn: () => unknown, names: readonly string[], what: string): void {
  try {
    const r = fn();
    if (r instanceof Promise) r.catch(() => {});
    t.fail(`${what}: expected a synchronous ${names.join(' or ')}`);
  } catch (err) {
    const name = errName(err);
    t.ok(names.includes(name), `${what} throws ${name} synchronously`);
    const code = (err as { code?: unknown }).code;
    const codes = name === 'RangeError' ? ['ERR_OUT_OF_RANGE'] : ['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE'];
    t.ok(codes.includes(code as string), `${what}: code ${String(code)} is one of ${codes.join(', ')}`);
  }
}

/** Asserts the stream is open and idle and still reads `text` written by the peer. */
async function stillWorks(t: Assertions, a: AnyStream, b: AnyStream, text: string): Promise<void> {
  t.equal(b.reading(), false, 'no read pending');
  t.equal(b.closed(), false, 'still open');
  send(a, text);
  t.equal(dec(await b.readBytes(text.length)), text, 'still reads normally');
}

export const limitCases: Case[] = [
  {
    behaviour: 'readBytes above maxBufferSize closes with StreamBufferFullError',
    async run({ t, pair }) {
      const [a, b] = await pair({ maxBufferSize: 1024 });
      send(a, pattern(8, 4096));
      const err = await expectClosedError(t, b.readBytes(2048), 'readBytes(2048) with maxBufferSize 1024');
      t.equal(errName(b.error), 'StreamBufferFullError', 'error is StreamBufferFullError');
      t.equal(realErrorOf(err), b.error, 'realError is the stream error');
      t.equal(b.closed(), true);
    },
  },
  {
    behaviour: 'readUntil without maxBytes whose delimiter never comes closes with StreamBufferFullError',
    async run({ t, pair }) {
      const [a, b] = await pair({ maxBufferSize: 1024 });
      const p = b.readUntil('\n');
      send(a, new Uint8Array(4096).fill(0x61));
      await expectClosedError(t, p, 'readUntil past maxBufferSize');
      t.equal(errName(b.error), 'StreamBufferFullError');
    },
  },
  {
    behaviour: 'partial readBytes above maxBufferSize is fine',
    async run({ t, pair }) {
      const [a, b] = await pair({ maxBufferSize: 1024 });
      send(a, 'abc');
      let got = '';
      while (got.length < 3) got += dec(await b.readBytes(4096, { partial: true }));
      t.equal(got, 'abc');
      t.equal(b.closed(), false);
    },
  },
  {
    behaviour: 'readUntil / readUntilRegex beyond maxBytes close with UnsatisfiableReadError',
    async run({ t, pair }) {
      for (const kind of ['readUntil', 'readUntilRegex'] as const) {
        const [a, b] = await pair();
        const p = kind === 'readUntil' ? b.readUntil('\n', { maxBytes: 5 }) : b.readUntilRegex(/\r?\n/, { maxBytes: 5 });
        send(a, '0123456789');
        const err = await expectClosedError(t, p, `${kind} maxBytes 5`);
        t.equal(errName(b.error), 'UnsatisfiableReadError', `${kind}: error is UnsatisfiableReadError`);
        t.equal(errName(realErrorOf(err)), 'UnsatisfiableReadError', `${kind}: realError too`);
        t.equal(b.closed(), true, `${kind}: stream closed`);
      }
    },
  },
  {
    behaviour: 'a limit overrun fails the same way whether EOF was processed before the read or not',
    skip: (c) => (c.peerEof ? null : 'driver cannot signal a clean EOF to the peer'),
    async run({ t, pair }) {
      // The bytes decide the read, then the closed state: "more than maxBytes (or maxBufferSize)
      // buffered with no match" is the limit's error, also on a stream that already saw EOF.
      // (maxBufferSize limits cannot be tested this way: read-ahead stops at maxBufferSize, so
      // EOF is not seen before a read; the core's property test covers them.)
      const kinds = [
        ['readUntil maxBytes 4', (s: AnyStream) => s.readUntil('\n', { maxBytes: 4 }), 'UnsatisfiableReadError'],
        ['readUntilRegex maxBytes 4', (s: AnyStream) => s.readUntilRegex(/\n/, { maxBytes: 4 }), 'UnsatisfiableReadError'],
        ['readUntil maxBytes 100', (s: AnyStream) => s.readUntil('\n', { maxBytes: 100 }), null],
        ['readBytes(41)', (s: AnyStream) => s.readBytes(41), null],
      ] as const;
      for (const [what, read, want] of kinds) {
        for (const eofFirst of [false, true]) {
          const [a, b] = await pair();
          const when = eofFirst ? 'after EOF was processed' : 'issued before EOF';
          let p: Promise<unknown> | null = null;
          if (!eofFirst) p = read(b);
          p?.catch(() => {}); // awaited below; may reject before that
          // Not awaited: the reader's failure may tear the connection down before the write confirms.
          send(a, 'z'.repeat(40));
          a.close();
          if (eofFirst) {
            await waitFor(() => b.closed(), `${what}: EOF seen by read-ahead`);
            p = read(b);
          }
          const err = await expectClosedError(t, p as Promise<unknown>, `${what} ${when}`);
          if (want === null) {
            t.equal(realErrorOf(err), undefined, `${what} ${when}: no realError (a clean close)`);
            t.equal(b.error, null, `${what} ${when}: stream error stays null`);
          } else {
            t.equal(errName(realErrorOf(err)), want, `${what} ${when}: realError is ${want}`);
            t.equal(errName(b.error), want, `${what} ${when}: stream error is ${want}`);
          }
          b.close();
        }
      }
    },
  },
  {
    behaviour: 'a write past maxWriteBufferSize is refused with StreamBufferFullError, stream stays open',
    async run({ t, pair }) {
      const [a, b] = await pair({ maxWriteBufferSize: 1024 });
      const r = await settle(a.write(pattern(9, 2048)));
      t.ok(!r.ok && errName(r.error) === 'StreamBufferFullError', 'rejects with StreamBufferFullError');
      t.equal(a.closed(), false, 'stream stays open');
      t.equal(a.error, null);
      await a.write('ok');
      t.equal(dec(await b.readBytes(2)), 'ok', 'nothing of the refused write was queued');
    },
  },
  {
    behaviour: 'a refused write settles at once, out of order; the writes around it resolve in order',
    async run({ t, pair }) {
      const [a, b] = await pair({ maxWriteBufferSize: 1024 });
      const order: string[] = [];
      const first = pattern(11, 600);
      const last = pattern(13, 100);
      const w1 = a.write(first).then(() => { order.push('w1'); });
      const w2 = a.write(pattern(12, 600)).then(() => { order.push('w2 resolved'); }, (e: unknown) => { order.push(`w2 ${errName(e)}`); });
      const w3 = a.write(last).then(() => { order.push('w3'); });
      await Promise.all([w1, w2, w3]);
      t.deepEqual(order, ['w2 StreamBufferFullError', 'w1', 'w3'], 'refused first, then the accepted writes in order');
      t.ok(sameBytes(await b.readBytes(700), concat([first, last])), 'the peer got the accepted writes, nothing of the refused one');
    },
  },
  {
    behaviour: 'unread data beyond maxBufferSize is not an error (read-ahead pauses)',
    async run({ t, pair, caps }) {
      const size = Math.min(1 << 20, caps.maxTransfer);
      const [a, b] = await pair({ maxBufferSize: 64 * 1024, readChunkSize: 4096 });
      const data = pattern(10, size);
      const written = a.write(data);
      await sleep(50);
      t.equal(b.closed(), false, 'reader still open');
      t.equal(b.error, null);
      t.ok(sameBytes(await readAll(b, size, 8192), data), `all ${size} bytes read afterwards`);
      await written;
    },
  },
  {
    behaviour: 'a second read while one is pending throws AlreadyReadingError ("Already reading") and changes nothing',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const p = b.readBytes(5);
      const buf = new Uint8Array(1);
      expectThrow(t, () => b.readBytes(1), 'AlreadyReadingError', /Already reading/, 'readBytes', 'ERR_ALREADY_READING');
      expectThrow(t, () => b.readUntil('\n'), 'AlreadyReadingError', /Already reading/, 'readUntil', 'ERR_ALREADY_READING');
      expectThrow(t, () => b.readUntilRegex(/x/), 'AlreadyReadingError', /Already reading/, 'readUntilRegex', 'ERR_ALREADY_READING');
      expectThrow(t, () => b.readUntilClose(), 'AlreadyReadingError', /Already reading/, 'readUntilClose', 'ERR_ALREADY_READING');
      expectThrow(t, () => b.readInto(buf), 'AlreadyReadingError', /Already reading/, 'readInto', 'ERR_ALREADY_READING');
      expectThrow(t, () => b.readBytes(1, { signal: AbortSignal.abort() }), 'AlreadyReadingError', /Already reading/, 'readBytes with aborted signal', 'ERR_ALREADY_READING');
      t.equal(b.reading(), true, 'first read still pending');
      send(a, 'hello');
      t.equal(dec(await p), 'hello', 'first read completes with the data');
    },
  },
  {
    behaviour: 'bad arguments throw TypeError/RangeError synchronously and change nothing',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const R = ['RangeError'];
      const T = ['TypeError'];
      const E = ['TypeError', 'RangeError'];
      const any = b as unknown as Record<string, (...args: unknown[]) => unknown>;
      const call = (m: string, ...args: unknown[]) => () => (any[m] as (...x: unknown[]) => unknown).apply(b, args);
      badArg(t, call('readBytes', -1), R, 'readBytes(-1)');
      badArg(t, call('readBytes', 1.5), R, 'readBytes(1.5)');
      badArg(t, call('readBytes', Number.NaN), R, 'readBytes(NaN)');
      badArg(t, call('readBytes', '3'), T, "readBytes('3')");
      badArg(t, call('readBytes', 3, { partial: 'yes' }), T, 'readBytes partial: string');
      badArg(t, call('readBytes', 3, { streamingCallback: 1 }), T, 'readBytes streamingCallback: number');
      badArg(t, call('readBytes', 3, { callback: 'no' }), T, 'readBytes callback: string');
      badArg(t, call('readUntil', ''), E, "readUntil('')");
      badArg(t, call('readUntil', new Uint8Array(0)), E, 'readUntil(empty bytes)');
      badArg(t, call('readUntil', 5), T, 'readUntil(5)');
      badArg(t, call('readUntil', '\n', { maxBytes: -1 }), R, 'readUntil maxBytes -1');
      badArg(t, call('readUntilRegex', 5), T, 'readUntilRegex(5)');
      badArg(t, call('readUntilRegex', /x/, { maxBytes: 1.5 }), R, 'readUntilRegex maxBytes 1.5');
      badArg(t, call('readInto', 'buf'), T, "readInto('buf')");
      badArg(t, call('write', 5), T, 'write(5)');
      badArg(t, call('write', 'x', 5), T, 'write callback: number');
      badArg(t, call('setCloseCallback', 5), T, 'setCloseCallback(5)');
      t.equal(b.writing(), false, 'no write queued by the bad calls');
      await stillWorks(t, a, b, 'still fine');
    },
  },
  {
    behaviour: 'setNodelay takes only a boolean, maxBytes only a non-negative integer (null is not "no limit")',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const typeError = (fn: () => unknown, what: string): void => {
        try {
          const r = fn();
          if (r instanceof Promise) r.catch(() => {});
          t.fail(`${what}: expected a synchronous TypeError`);
        } catch (err) {
          t.equal(errName(err), 'TypeError', `${what} throws TypeError`);
          t.equal((err as { code?: unknown }).code, 'ERR_INVALID_ARG_TYPE', `${what}: code ERR_INVALID_ARG_TYPE`);
        }
      };
      const loose = b as unknown as { setNodelay(v?: unknown): void };
      for (const [v, label] of [['yes', "'yes'"], [{}, '{}'], [1, '1'], [null, 'null']] as const) {
        typeError(() => { loose.setNodelay(v); }, `setNodelay(${label})`);
      }
      typeError(() => { loose.setNodelay(); }, 'setNodelay()');
      const noLimit = { maxBytes: null as unknown as number };
      typeError(() => b.readUntil('\n', noLimit), 'readUntil maxBytes null');
      typeError(() => b.readUntilRegex(/\n/, noLimit), 'readUntilRegex maxBytes null');
      typeError(() => b.readUntil('\n', { ...noLimit, callback: () => {} }), 'readUntil maxBytes null with a callback');
      typeError(() => b.readUntilIter('\n', noLimit), 'readUntilIter maxBytes null');
      typeError(() => b.lines(noLimit), 'lines maxBytes null');
      b.setNodelay(false);
      b.setNodelay(true);
      t.pass('setNodelay(false) and setNodelay(true) are accepted');
      await stillWorks(t, a, b, 'still fine');
    },
  },
];
