/**
 * StreamCore request semantics, close and error handling, driven directly (no facade), each
 * test run with input whole, byte-at-a-time and at seeded random splits.
 */
import {
  StreamBufferFullError, StreamClosedError, UnsatisfiableReadError,
} from '../core/index.js';
import { CoreDriver, eachChunking, isClosedError, latin1 } from './_support/core-driver.js';

eachChunking('readBytes: exact, n = 0, partial', (t, ch) => {
  const d = new CoreDriver(ch).queue('abcdefgh');
  const a = d.core.readBytes(3);
  d.until(a);
  t.equal(d.text(t, a), 'abc');
  const z = d.core.readBytes(0);
  d.drain();
  t.equal(d.text(t, z), '', 'n = 0 resolves at once with nothing');
  const have = d.fed - 3;
  const p = d.core.readBytes(4, { partial: true });
  d.until(p);
  const want = Math.min(4, have > 0 ? have : d.fed - 3);
  t.equal(d.text(t, p), 'defgh'.slice(0, want), `partial takes min(n, buffered) = ${want} bytes`);
  d.checkInvariants(t);
});

eachChunking('readBytes streaming: chunks in order before the empty result', (t, ch) => {
  const d = new CoreDriver(ch).queue('0123456789');
  const id = d.core.readBytes(7, { streaming: true });
  d.until(id);
  t.equal(d.streamedText(id), '0123456', 'streamed bytes are exactly the n bytes');
  t.equal(d.text(t, id), '', 'the result itself is empty');
  const lastChunk = d.trace.map((x) => x.startsWith(`chunk ${id} `)).lastIndexOf(true);
  t.ok(lastChunk < d.trace.indexOf(`resolve ${id} ""`), 'every chunk comes before the settlement');
  const rest = d.core.readBytes(3);
  d.until(rest);
  t.equal(d.text(t, rest), '789');
  d.checkInvariants(t);
});

eachChunking('readUntil/readUntilRegex maxBytes: match ending at the limit succeeds, one over fails', (t, ch) => {
  for (const kind of ['until', 'regex'] as const) {
    const start = (d: CoreDriver, max: number): number => (kind === 'until'
      ? d.core.readUntil('\r\n', { maxBytes: max })
      : d.core.readUntilRegex(/\r?\n/, { maxBytes: max }));
    const ok = new CoreDriver(ch).queue('abcd\r\nrest');
    const a = start(ok, 6);
    ok.until(a);
    t.equal(ok.text(t, a), 'abcd\r\n', `${kind}: match ends exactly at maxBytes`);
    t.notOk(ok.core.closed);

    const over = new CoreDriver(ch).queue('abcd\r\nrest');
    const b = start(over, 5);
    isClosedError(t, over.until(b), UnsatisfiableReadError, `${kind}: match ends one past maxBytes`);
    t.ok(over.core.error instanceof UnsatisfiableReadError, `${kind}: the stream is closed with UnsatisfiableReadError`);

    const none = new CoreDriver(ch).queue('abcdef');
    const c = start(none, 6);
    t.equal(none.until(c), undefined, `${kind}: exactly maxBytes buffered without a match: still waiting`);
    none.queue('g');
    isClosedError(t, none.until(c), UnsatisfiableReadError, `${kind}: one more byte without a match`);
    for (const d of [ok, over, none]) d.checkInvariants(t);
  }
});

eachChunking('readUntilClose: resolves on EOF and on user close, rejects on error close', (t, ch) => {
  const eof = new CoreDriver(ch).queue('all of it');
  const a = eof.core.readUntilClose();
  eof.feedAll();
  t.notOk(eof.settled.has(a), 'waits for the close');
  eof.eof();
  t.equal(eof.text(t, a), 'all of it', 'peer EOF: everything');

  const user = new CoreDriver(ch).queue('mine');
  const b = user.core.readUntilClose();
  user.feedAll();
  user.close();
  t.equal(user.text(t, b), 'mine', 'user close(): everything');

  const reset = new CoreDriver(ch).queue('truncated');
  const c = reset.core.readUntilClose();
  reset.feedAll();
  const boom = new Error('ECONNRESET');
  reset.error(boom);
  isClosedError(t, reset.settled.get(c), boom, 'error close');
  t.equal(reset.core.readBufferSize, 9, 'the bytes stay buffered');
  const later = reset.core.readBytes(9);
  reset.drain();
  t.equal(reset.text(t, later), 'truncated', 'and a later read takes them');

  const streaming = new CoreDriver(ch).queue('streamed body');
  const s = streaming.core.readUntilClose({ streaming: true });
  streaming.feedAll();
  streaming.eof();
  t.equal(streaming.streamedText(s), 'streamed body');
  t.equal(streaming.text(t, s), '');
  for (const d of [eof, user, reset, streaming]) d.checkInvariants(t);
});

eachChunking('readInto: full and partial', (t, ch) => {
  const d = new CoreDriver(ch).queue('abcdefgh');
  const buf = new Uint8Array(5);
  const a = d.core.readInto(buf);
  d.until(a);
  t.equal(d.settled.get(a)?.value, 5);
  t.equal(latin1(buf), 'abcde');
  const small = new Uint8Array(8).fill(0x2e);
  const before = d.core.readBufferSize;
  const b = d.core.readInto(small, { partial: true });
  d.until(b);
  const n = d.settled.get(b)?.value;
  t.equal(n, Math.min(3, before > 0 ? before : d.fed - 5), 'partial fills with what is buffered');
  t.equal(latin1(small), 'fgh'.slice(0, n as number).padEnd(8, '.'), 'only that many bytes written');
  d.checkInvariants(t);
});

eachChunking('writes: settle in order, coalesce behind a batch in flight, zero-byte writes', (t, ch) => {
  const d = new CoreDriver(ch);
  const idle = d.core.write('');
  d.drain();
  t.deepEqual(d.trace.slice(-1), [`resolve ${idle}`], 'a zero-byte write on an idle stream settles at once');
  const w1 = d.core.write('first');
  d.drain();
  t.deepEqual(d.trace.slice(-1), ['write ["first"]'], 'first write goes out at once');
  const w2 = d.core.write('ab');
  const w3 = d.core.write('');
  const w4 = d.core.write(Uint8Array.of(0x63, 0x64));
  const mark = d.actions.length;
  d.drain();
  t.equal(d.actions.length, mark, 'nothing new while a batch is in flight');
  t.ok(d.core.writing);
  t.equal(d.core.writeBufferSize, 9);
  // Acknowledge the first batch in pieces shaped by the chunking.
  for (const piece of ch.split(new Uint8Array(5))) { d.core.written(piece.length); d.drain(); }
  t.deepEqual(d.trace.slice(mark), [`resolve ${w1}`, 'write ["abcd"]'], 'outbox coalesced into one chunk');
  const mark2 = d.actions.length;
  d.core.written(1);
  d.drain();
  t.equal(d.actions.length, mark2, 'a partly written write does not settle');
  d.core.written(1);
  d.drain();
  t.deepEqual(d.trace.slice(mark2), [`resolve ${w2}`, `resolve ${w3}`], 'the zero-byte write settles right after the one before it');
  d.core.written(2);
  d.drain();
  t.deepEqual(d.trace.slice(-1), [`resolve ${w4}`]);
  t.notOk(d.core.writing);
  t.equal(d.core.writeBufferSize, 0);
  d.checkInvariants(t);
});

eachChunking('writes: large buffers pass by reference', (t, ch) => {
  const d = new CoreDriver(ch);
  d.core.write('x');
  const big = new Uint8Array(64 * 1024);
  d.core.write('y');
  d.core.write(big);
  d.drain();
  d.core.written(1);
  d.drain();
  const last = d.actions[d.actions.length - 1];
  t.equal(last?.type, 'write-these');
  if (last?.type === 'write-these') {
    t.equal(last.chunks.length, 2, 'small run coalesced, large one separate');
    t.equal(last.chunks[1], big, 'the large buffer itself, not a copy');
    t.equal(last.byteLength, big.length + 1);
  }
});

eachChunking('maxBufferSize: a read needing more closes with StreamBufferFullError', (t, ch) => {
  const fits = new CoreDriver(ch, { maxBufferSize: 8 }).queue('01234567');
  const a = fits.core.readBytes(8);
  fits.until(a);
  t.equal(fits.text(t, a), '01234567', 'readBytes(maxBufferSize) is fine');

  const tooBig = new CoreDriver(ch, { maxBufferSize: 8 });
  const b = tooBig.core.readBytes(9);
  tooBig.drain();
  isClosedError(t, tooBig.settled.get(b), StreamBufferFullError, 'readBytes(maxBufferSize + 1)');
  t.ok(tooBig.core.error instanceof StreamBufferFullError, 'stream error is StreamBufferFullError');

  const until = new CoreDriver(ch, { maxBufferSize: 8 }).queue('0123456\n');
  const c = until.core.readUntil('\n');
  until.until(c);
  t.equal(until.text(t, c), '0123456\n', 'a delimiter ending at maxBufferSize is found');

  const never = new CoreDriver(ch, { maxBufferSize: 8 }).queue('0123456789');
  const e = never.core.readUntil('\n');
  isClosedError(t, never.until(e), StreamBufferFullError, 'readUntil whose delimiter does not come');
  t.ok(never.core.closed);
  for (const d of [fits, tooBig, until, never]) d.checkInvariants(t);
});

eachChunking('maxBufferSize: a delimiter or regex match ending past it fails the same however split', (t, ch) => {
  // Byte-at-a-time, the buffer passes maxBufferSize before the delimiter arrives; the result
  // must not depend on whether the delimiter came in the same chunk (chunking independence).
  for (const kind of ['readUntil', 'readUntilRegex'] as const) {
    const d = new CoreDriver(ch, { maxBufferSize: 8 }).queue('0123456789\n');
    const id = kind === 'readUntil' ? d.core.readUntil('\n') : d.core.readUntilRegex(/\n/);
    isClosedError(t, d.until(id), StreamBufferFullError, `${kind}: match ends at 11 > maxBufferSize 8`);
    t.ok(d.core.error instanceof StreamBufferFullError, `${kind}: stream closed with StreamBufferFullError`);
    d.checkInvariants(t);
  }
});

eachChunking('maxWriteBufferSize: a write past it is refused and the stream stays open', (t, ch) => {
  const d = new CoreDriver(ch, { maxWriteBufferSize: 4 });
  const first = d.core.write('12345');
  d.drain();
  t.ok(d.settled.get(first)?.error instanceof StreamBufferFullError, 'even the first write is refused');
  t.equal(d.core.writeBufferSize, 0, 'nothing queued');
  t.notOk(d.actions.some((a) => a.type === 'write-these'), 'nothing handed to the transport');
  const ok = d.core.write('1234');
  const refused = d.core.write('5');
  d.drain();
  t.ok(d.settled.get(refused)?.error instanceof StreamBufferFullError, 'a write taking unflushed bytes past the limit');
  t.notOk(d.core.closed, 'the stream stays open');
  for (const piece of ch.split(new Uint8Array(4))) { d.core.written(piece.length); d.drain(); }
  t.deepEqual(d.settled.get(ok), {}, 'the accepted write settles');
  const again = d.core.write('5678');
  d.drain();
  t.equal(d.trace[d.trace.length - 1], 'write ["5678"]', 'room again once written');
  t.notOk(d.settled.has(again));
  d.checkInvariants(t);
});

eachChunking('read-ahead: want-read at start, pause-read at readChunkSize, want-read when needed', (t, ch) => {
  const all = '0123456789abcdefghijKLMNOPQRSTUVWXYZ';
  const d = new CoreDriver(ch, { readChunkSize: 8 }).queue(all.slice(0, 20)).queue(all.slice(20));
  t.deepEqual(d.interest, ['want-read'], 'want-read at start');
  while (d.interest.length === 1 && d.feed(1) > 0) { /* read ahead */ }
  t.deepEqual(d.interest, ['want-read', 'pause-read'], 'pauses with no read pending');
  const size = d.core.readBufferSize;
  const lastPiece = d.received[d.received.length - 1]?.length ?? 0;
  t.ok(size >= 8 && size - lastPiece < 8, `paused once about readChunkSize is buffered (${size})`);
  const id = d.core.readBytes(size + 1);
  d.drain();
  t.deepEqual(d.interest.slice(2), ['want-read'], 'a read needing more resumes');
  d.until(id);
  t.equal(d.text(t, id), all.slice(0, size + 1));
  const buffered = d.core.readBufferSize;
  t.deepEqual(d.interest.slice(3), buffered >= 8 ? ['pause-read'] : [], 'after the read: paused only if still full');
  d.feedAll();
  const got = d.core.tryReadBytes(d.core.readBufferSize);
  d.drain();
  t.ok(got !== undefined, 'tryReadBytes drains the buffer');
  t.equal(d.interest[d.interest.length - 1], 'want-read', 'a drained buffer resumes read-ahead');
  d.checkInvariants(t);
});

eachChunking('close: pending ops settle, close-with-error then closed last; later ops get the same error', (t, ch) => {
  const d = new CoreDriver(ch).queue('partial');
  const r = d.core.readUntil('\n');
  d.until(r);
  const w = d.core.write('pending write');
  const boom = new Error('EPIPE');
  d.error(boom);
  const tail = d.trace.slice(-4);
  t.deepEqual(tail, [`reject ${r} StreamClosedError`, `reject ${w} StreamClosedError`, 'close-with-error Error', 'closed Error'],
    'settlements, then close-with-error, then closed');
  isClosedError(t, d.settled.get(r), boom, 'pending read');
  isClosedError(t, d.settled.get(w), boom, 'pending write');
  d.eof();
  d.close(new Error('other'));
  t.equal(d.core.error, boom, 'sticky: later EOF or close changes nothing');
  const w2 = d.core.write('x');
  const r2 = d.core.readBytes(100);
  const r3 = d.core.readUntil('\n');
  d.drain();
  for (const id of [w2, r2, r3]) isClosedError(t, d.settled.get(id), boom, `later op ${id}`);
  d.checkInvariants(t);
});

eachChunking('reads after a clean close that the buffer can satisfy succeed', (t, ch) => {
  const d = new CoreDriver(ch).queue('line\nxyz');
  d.feedAll();
  d.eof();
  t.ok(d.core.closed);
  t.equal(d.core.error, null, 'EOF is a clean close');
  const ids = [d.core.readUntil('\n'), d.core.readBytes(2), d.core.readBytes(2), d.core.readUntilClose(), d.core.readBytes(0)];
  d.drain();
  t.equal(d.text(t, ids[0] as number), 'line\n');
  t.equal(d.text(t, ids[1] as number), 'xy');
  isClosedError(t, d.settled.get(ids[2] as number), undefined, 'readBytes beyond the buffer');
  t.equal(d.text(t, ids[3] as number), 'z', 'readUntilClose takes the rest');
  t.equal(d.text(t, ids[4] as number), '');
  d.checkInvariants(t);
});

eachChunking('try* return undefined and change nothing when they cannot complete', (t, ch) => {
  const d = new CoreDriver(ch, { readChunkSize: 1024 }).queue('abc\r\n');
  d.feed(1);
  const size = d.core.readBufferSize;
  const count = d.actions.length;
  const buf = new Uint8Array(10).fill(0x2e);
  t.equal(d.core.tryReadBytes(size + 1), undefined, 'tryReadBytes');
  t.equal(d.core.tryReadUntil('\n\n'), undefined, 'tryReadUntil');
  t.equal(d.core.tryReadUntil('x', 1000), undefined, 'tryReadUntil with maxBytes');
  t.equal(d.core.tryReadUntilRegex(/z+\n/), undefined, 'tryReadUntilRegex');
  t.equal(d.core.tryReadInto(buf), -1, 'tryReadInto');
  d.drain();
  t.equal(d.actions.length, count, 'no action queued');
  t.equal(d.core.readBufferSize, size, 'buffer intact');
  t.notOk(d.core.reading, 'no read pending');
  t.equal(latin1(buf), '..........', 'target untouched');
  d.feedAll();
  t.equal(d.core.tryReadUntil('\r\n', 4), undefined, 'a match ending past maxBytes: undefined...');
  t.notOk(d.core.closed, '...and the stream stays open');
  const id = d.core.readUntil('\r\n');
  d.drain();
  t.equal(d.text(t, id), 'abc\r\n', 'the read after a failed try finds the match');
  d.checkInvariants(t);
});
