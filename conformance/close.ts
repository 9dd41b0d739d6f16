/**
 * Closing: reads served from the buffer after close, close while reading/writing, the close
 * callback's ordering and uniqueness, peer EOF, the `error` property, writes after close.
 */
import type { Case } from './types.js';
import {
  closeCallbackRan, dec, errName, expectClosedError, pattern, readAll, realErrorOf, sameBytes, settle, turns, within, WAIT_MS, send,
} from './util.js';

const needEof = (c: { peerEof: boolean }): string | null => (c.peerEof ? null : 'driver cannot signal a clean EOF to the peer');

export const closeCases: Case[] = [
  {
    behaviour: 'reads the buffer can satisfy succeed after close, others reject',
    skip: needEof,
    async run({ t, pair }) {
      const [a, b] = await pair();
      const closed = closeCallbackRan(b);
      await a.write('hello\nworld!tail');
      a.close();
      await closed;
      t.equal(b.closed(), true, 'b closed by peer EOF');
      t.equal(dec(await b.readUntil('\n')), 'hello\n', 'readUntil');
      t.equal(dec(await b.readUntilRegex(/or/)), 'wor', 'readUntilRegex');
      const buf = new Uint8Array(2);
      t.equal(await b.readInto(buf), 2, 'readInto');
      t.equal(dec(buf), 'ld');
      t.equal(dec(await b.readBytes(1, { partial: true })), '!', 'readBytes partial');
      await expectClosedError(t, b.readUntil('\n'), 'readUntil without a match on a closed stream');
      t.equal(dec(await within(b.readUntilClose(), WAIT_MS, 'readUntilClose')), 'tail', 'readUntilClose takes the rest');
      await expectClosedError(t, b.readBytes(1), 'readBytes on an empty closed stream');
    },
  },
  {
    behaviour: 'a pending read rejects with StreamClosedError at close',
    async run({ t, pair }) {
      const [, b] = await pair();
      const p = b.readBytes(10);
      t.equal(b.reading(), true);
      b.close();
      const err = await expectClosedError(t, p, 'readBytes pending at close()');
      t.equal(realErrorOf(err), undefined, 'clean close: no realError');
      t.equal(b.error, null);
      t.equal(b.reading(), false);
      const [, b2] = await pair();
      const boom = new Error('boom');
      const p2 = b2.readUntil('\n');
      b2.close(boom);
      const err2 = await expectClosedError(t, p2, 'readUntil pending at close(err)');
      t.equal(realErrorOf(err2), boom, 'realError is the close error');
      t.equal(b2.error, boom, 'error is the close error');
    },
  },
  {
    behaviour: 'close while writing flushes the write: it resolves and the peer gets its bytes',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const data = pattern(5, 65536);
      const p = a.write(data);
      t.equal(a.writing(), true, 'writing() right after write()');
      a.close();
      t.equal(a.writing(), true, 'writing() while the close flushes it');
      const r = await settle(p, 'write pending at close()');
      t.ok(r.ok, r.ok ? 'the write resolves' : `the write rejected: ${errName(r.error)}`);
      t.equal(a.writing(), false, 'writing() false once flushed');
      t.ok(sameBytes(await within(readAll(b, data.length), WAIT_MS, 'peer read'), data), 'the peer gets its bytes');
    },
  },
  {
    behaviour: 'close callback runs after every settlement and its handlers, never inside close()',
    async run({ t, pair }) {
      const [, b] = await pair();
      const log: string[] = [];
      let done: () => void = () => {};
      const ran = within(new Promise<void>((r) => { done = r; }), WAIT_MS, 'close callback');
      b.setCloseCallback(() => { log.push('close-callback'); done(); });
      const read = b.readBytes(10);
      void read.catch(() => { log.push('read-rejected'); }).then(() => { log.push('read-then'); });
      // A clean close flushes the write: it resolves, and that too before the close callback.
      const write = b.write(pattern(6, 65536));
      void write.then(() => { log.push('write-resolved'); }, () => { log.push('write-rejected'); }).then(() => { log.push('write-then'); });
      b.close();
      log.push('close() returned');
      await ran;
      t.deepEqual(log.slice(0, 1), ['close() returned'], 'nothing ran inside close()');
      t.equal(log[log.length - 1], 'close-callback', 'close callback last');
      for (const step of ['read-rejected', 'read-then', 'write-resolved', 'write-then']) {
        t.ok(log.includes(step), `${step} before the close callback`);
      }
    },
  },
  {
    behaviour: 'close callback runs exactly once however often and however the stream closes',
    skip: needEof,
    async run({ t, pair }) {
      const [a, b] = await pair();
      let calls = 0;
      let first: () => void = () => {};
      const ran = within(new Promise<void>((r) => { first = r; }), WAIT_MS, 'close callback');
      b.setCloseCallback(() => { calls++; first(); });
      b.close();
      b.close();
      b.close(new Error('late'));
      a.close();
      await ran;
      await turns(5);
      t.equal(calls, 1, 'called once');
      t.equal(b.error, null, 'close() is idempotent: a later close(err) changes nothing');
    },
  },
  {
    behaviour: 'setCloseCallback after close still runs once; null removes it',
    async run({ t, pair }) {
      const [, b] = await pair();
      b.close();
      await closeCallbackRan(b, 'callback set after close');
      t.pass('callback set after close ran');
      const [, b2] = await pair();
      let called = false;
      b2.setCloseCallback(() => { called = true; });
      b2.setCloseCallback(null);
      b2.close();
      await turns(5);
      t.equal(called, false, 'removed callback not called');
    },
  },
  {
    behaviour: 'one close callback runs per stream: one set after it ran is never called',
    async run({ t, pair }) {
      const [, b] = await pair();
      let first = 0;
      let later = 0;
      const ran = within(new Promise<void>((r) => { b.setCloseCallback(() => { first++; r(); }); }), WAIT_MS, 'close callback');
      b.close();
      await ran;
      b.setCloseCallback(() => { later++; });
      b.setCloseCallback(() => { later++; });
      await turns(5);
      t.equal(first, 1, 'the callback set before the close ran once');
      t.equal(later, 0, 'callbacks set after it ran are not called');
    },
  },
  {
    behaviour: 'peer EOF is a clean close',
    skip: needEof,
    async run({ t, pair }) {
      const [a, b] = await pair();
      const closed = closeCallbackRan(b);
      const p = settle(b.readBytes(5)); // handled now: it rejects before we look at it
      await a.write('abc');
      a.close();
      await closed;
      const r = await p;
      // The pending readBytes(5) cannot be satisfied by 3 bytes: it rejects, and the 3 stay.
      t.equal(r.ok, false, 'unsatisfiable pending read rejects');
      if (!r.ok) {
        t.equal(errName(r.error), 'StreamClosedError');
        t.equal(realErrorOf(r.error as Error), undefined, 'no realError on EOF');
      }
      t.equal(b.closed(), true);
      t.equal(b.error, null, 'error is null');
      t.equal(dec(await b.readBytes(3)), 'abc', 'the bytes are still readable');
    },
  },
  {
    behaviour: 'error property: null open, null after clean close, the cause after an error close',
    async run({ t, pair }) {
      const [a, b] = await pair();
      t.equal(a.error, null, 'null while open');
      a.close();
      t.equal(a.error, null, 'null after close()');
      const boom = new Error('boom');
      b.close(boom);
      t.equal(b.error, boom, 'the error given to close(err)');
      const [a2, b2] = await pair();
      send(a2, '0123456789');
      await settle(b2.readUntil('\n', { maxBytes: 4 }));
      t.equal(errName(b2.error), 'UnsatisfiableReadError', 'UnsatisfiableReadError after maxBytes');
      const [a3, b3] = await pair({ maxBufferSize: 16 });
      send(a3, pattern(7, 64));
      await settle(b3.readBytes(32));
      t.equal(errName(b3.error), 'StreamBufferFullError', 'StreamBufferFullError after maxBufferSize');
    },
  },
  {
    behaviour: 'write after own close rejects with StreamClosedError',
    async run({ t, pair }) {
      const [a] = await pair();
      a.close();
      await expectClosedError(t, a.write('x'), 'write after close()');
      let cb = false;
      await expectClosedError(t, a.write('y', () => { cb = true; }), 'write with callback after close()');
      t.equal(cb, false, 'write callback not called');
    },
  },
  {
    behaviour: 'write after peer EOF rejects with StreamClosedError',
    skip: needEof,
    async run({ t, pair }) {
      const [a, b] = await pair();
      const closed = closeCallbackRan(b);
      a.close();
      await closed;
      await expectClosedError(t, b.write('x'), 'write after peer EOF');
    },
  },
  {
    behaviour: 'a read callback that throws closes the stream with that error',
    async run({ t, pair }) {
      const [a, b] = await pair();
      const boom = new Error('callback failed');
      const closed = closeCallbackRan(b);
      send(a, 'x');
      void b.readBytes(1, { callback: () => { throw boom; } });
      await closed;
      t.equal(b.error, boom, 'error is what the callback threw');
    },
  },
];
