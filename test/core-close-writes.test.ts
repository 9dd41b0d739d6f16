/**
 * The core's writes at close (issue 21): a clean close hands every queued write over at once
 * and waits for `written()` before `closed`; a transport failure during that flush rejects the
 * rest; an error close (the user's, a limit's) rejects every write not confirmed at once;
 * `abandonWrites` ends a flush no transport will confirm. Every case runs under the three
 * chunkings and checks the core's lifecycle invariants (`closed` last, each request once).
 */
import { StreamClosedError } from '../core/errors.js';
import { CoreDriver, eachChunking, enc, type Settlement } from './_support/core-driver.js';
import type { Test } from './_support/harness.js';

const resolved = (s: Settlement | undefined): boolean => s !== undefined && s.error === undefined;
function rejectedWith(t: Test, s: Settlement | undefined, real: Error | undefined, what: string): void {
  t.ok(s?.error instanceof StreamClosedError, `${what}: rejected with StreamClosedError`);
  t.equal((s?.error as StreamClosedError | undefined)?.realError, real, `${what}: realError`);
}
const last = (d: CoreDriver, n: number): string[] => d.trace.slice(-n);

eachChunking('clean close: queued writes go out at once behind the batch in flight; closed waits for written()', (t, ch) => {
  const d = new CoreDriver(ch);
  const w1 = d.note(d.core.write('first'));
  const w2 = d.note(d.core.write('second'));
  const w3 = d.note(d.core.write('third'));
  d.drain();
  t.deepEqual(last(d, 1), ['write ["first"]'], 'one batch in flight, the rest queued');
  d.close();
  t.deepEqual(last(d, 2), ['write ["secondthird"]', 'close-with-error null'], 'the queue handed over before close-with-error');
  t.notOk(d.trace.includes('closed null'), 'no closed while writes wait for the transport');
  t.ok(d.core.closed && d.core.writing, 'closed, and still writing');
  d.core.written(3);
  d.drain();
  t.notOk(d.settled.has(w1), 'a partial confirmation settles nothing');
  d.core.written(2 + 6);
  d.drain();
  t.ok(resolved(d.settled.get(w1)) && resolved(d.settled.get(w2)), 'the writes confirmed resolve, in order');
  t.notOk(d.settled.has(w3), 'the one not confirmed waits');
  d.core.written(5);
  d.drain();
  t.ok(resolved(d.settled.get(w3)), 'the last write resolves');
  t.deepEqual(last(d, 2), [`resolve ${w3}`, 'closed null'], 'closed comes right after the last settlement');
  t.equal(d.core.writing, false);
  t.equal(d.core.error, null);
  d.core.written(0);
  d.drain();
  t.equal(d.trace.filter((x) => x === 'closed null').length, 1, 'closed once; written() after the flush is ignored');
  d.checkInvariants(t);
});

eachChunking('clean close: a transport failure during the flush rejects the writes not confirmed, then closed', (t, ch) => {
  const d = new CoreDriver(ch);
  const w1 = d.note(d.core.write('aa'));
  const w2 = d.note(d.core.write('bb'));
  d.drain();
  d.close();
  d.core.written(2);
  d.drain();
  t.ok(resolved(d.settled.get(w1)), 'confirmed before the failure: resolved');
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  d.error(reset);
  rejectedWith(t, d.settled.get(w2), reset, 'not confirmed');
  t.deepEqual(last(d, 2), [`reject ${w2} StreamClosedError`, 'closed Error'], 'rejection, then closed with the failure');
  t.equal(d.core.error, reset, 'the stream error is the failure');
  const late = d.note(d.core.write('x'));
  d.drain();
  rejectedWith(t, d.settled.get(late), reset, 'a later write');
  d.error(new Error('another'));
  d.eof();
  t.equal(d.core.error, reset, 'later failures change nothing');
  d.checkInvariants(t);
});

eachChunking('close(error): every write not confirmed rejects at once; written() after it is ignored', (t, ch) => {
  const d = new CoreDriver(ch);
  const w0 = d.note(d.core.write('done'));
  d.drain();
  d.core.written(4);
  d.drain();
  const w1 = d.note(d.core.write('in flight'));
  const w2 = d.note(d.core.write('queued'));
  d.drain();
  const boom = new Error('boom');
  d.close(boom);
  t.ok(resolved(d.settled.get(w0)), 'the confirmed write stays resolved');
  rejectedWith(t, d.settled.get(w1), boom, 'the write in flight');
  rejectedWith(t, d.settled.get(w2), boom, 'the queued write');
  t.deepEqual(last(d, 2), ['close-with-error Error', 'closed Error'], 'closed at once');
  t.notOk(d.trace.includes('write ["queued"]'), 'the queued write was never handed over');
  d.core.written(9);
  d.drain();
  t.equal(d.core.writing, false, 'nothing unflushed');
  d.checkInvariants(t);
});

eachChunking('peer EOF flushes like a clean close; a limit error closes like close(error)', (t, ch) => {
  const d = new CoreDriver(ch);
  const w = d.note(d.core.write('reply'));
  d.drain();
  d.eof();
  t.notOk(d.settled.has(w), 'EOF: the write waits for the transport');
  d.core.written(5);
  d.drain();
  t.ok(resolved(d.settled.get(w)), 'and resolves when confirmed');
  t.deepEqual(last(d, 1), ['closed null']);
  d.checkInvariants(t);

  const l = new CoreDriver(ch, { maxBufferSize: 4 }).queue('0123456789');
  const w2 = l.note(l.core.write('pending'));
  const r = l.note(l.core.readBytes(8));
  l.until(r);
  t.equal(l.core.error?.name, 'StreamBufferFullError', 'the read broke maxBufferSize');
  rejectedWith(t, l.settled.get(w2), l.core.error as Error, 'the write pending at the limit');
  t.deepEqual(last(l, 1), ['closed StreamBufferFullError']);
  l.checkInvariants(t);
});

eachChunking('abandonWrites: a flush no transport will confirm ends without changing the error', (t, ch) => {
  const d = new CoreDriver(ch);
  const open = d.note(d.core.write('x'));
  d.drain();
  d.core.abandonWrites(new Error('ignored'));
  d.drain();
  t.notOk(d.settled.has(open), 'on an open stream it does nothing');
  d.close();
  d.core.abandonWrites();
  d.drain();
  rejectedWith(t, d.settled.get(open), undefined, 'abandoned');
  t.equal(d.core.error, null, 'the close stays clean');
  t.deepEqual(last(d, 2), [`reject ${open} StreamClosedError`, 'closed null']);
  d.core.abandonWrites();
  d.drain();
  t.equal(d.trace.filter((x) => x.startsWith('closed')).length, 1, 'idempotent');
  d.checkInvariants(t);
});

eachChunking('clean close with nothing unconfirmed: closed at once; zero-length writes settle in order', (t, ch) => {
  const d = new CoreDriver(ch);
  d.close();
  t.deepEqual(last(d, 2), ['close-with-error null', 'closed null'], 'no write: closed at once');
  d.checkInvariants(t);
  const z = new CoreDriver(ch);
  const w1 = z.note(z.core.write('abc'));
  const empty = z.note(z.core.write(new Uint8Array(0)));
  const w3 = z.note(z.core.write(enc('def')));
  z.drain();
  z.close();
  z.core.written(3);
  z.drain();
  t.ok(resolved(z.settled.get(w1)) && resolved(z.settled.get(empty)), 'the empty write resolves with the one before it');
  t.notOk(z.settled.has(w3));
  t.throws(() => { z.core.written(4); }, RangeError, 'written() past the bytes in flight still throws during the flush');
  z.core.written(3);
  z.drain();
  t.ok(resolved(z.settled.get(w3)));
  z.checkInvariants(t);
});
