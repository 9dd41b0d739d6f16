/**
 * StreamCore `readUntilEach`: one request whose records come out as `stream-chunk` actions,
 * each taken out of the buffer only when `nextAction()` hands it out. Driven directly (no
 * facade), every test with input whole, byte-at-a-time and at seeded random splits.
 */
import {
  AlreadyReadingError, StreamBufferFullError, UnsatisfiableReadError, type Action,
} from '../core/index.js';
import { CoreDriver, eachChunking, isClosedError, latin1, type Chunking } from './_support/core-driver.js';

const lines = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `rec ${from + i};;`);

/**
 * Feeds `d`'s queued input chunk by chunk, draining by hand: `onRecord` sees each record of
 * `id` as it comes and may return `false`, which cancels the read right there (as the facade
 * does). Returns the records seen. Other actions go through the driver's normal bookkeeping.
 */
function pump(d: CoreDriver, id: number, onRecord: (r: string) => boolean | void): string[] {
  const got: string[] = [];
  let stopped = false;
  const drain = (): void => {
    for (let a: Action | undefined = d.core.nextAction(); a !== undefined; a = d.core.nextAction()) {
      if (a.type === 'stream-chunk' && a.id === id) {
        if (stopped) throw new Error('a record after the read was cancelled');
        got.push(latin1(a.data));
        if (onRecord(latin1(a.data)) === false) {
          stopped = true;
          d.core.cancel(id);
        }
        continue;
      }
      d.actions.push(a);
      if (a.type === 'resolve-request') d.settled.set(a.id, a.error !== undefined ? { error: a.error } : a.value !== undefined ? { value: a.value } : {});
    }
  };
  drain();
  while (!stopped && d.feed(1) > 0) drain();
  return got;
}

/** A driver whose `receive` does not drain (the test's `pump` does). */
function driver(ch: Chunking, options = {}): CoreDriver {
  const d = new CoreDriver(ch, options);
  d.receive = function receive(chunk: Uint8Array): void {
    this.received.push(chunk);
    this.fed += chunk.length;
    this.core.receive(chunk);
  };
  return d;
}

eachChunking('readUntilEach: every record in order, each once; EOF resolves it and leaves the partial record', (t, ch) => {
  const recs = lines(50);
  const d = driver(ch).queue(`${recs.join('')}partial`);
  const id = d.core.readUntilEach(';;');
  const got = pump(d, id, () => {});
  t.deepEqual(got, recs, 'every record, delimiter included');
  t.equal(d.core.reading, true, 'still pending while the stream is open');
  t.equal(d.core.readBufferSize, 7, 'the partial record is buffered');
  d.core.receiveEof();
  pump(d, id, () => {});
  t.deepEqual(d.settled.get(id), {}, 'a clean close resolves it with no value');
  const rest = d.core.readUntilClose();
  d.drain();
  t.equal(d.text(t, rest), 'partial', 'readUntilClose takes the partial record');
});

eachChunking('readUntilEach: a stop at any record boundary loses no byte', (t, ch) => {
  const recs = lines(12);
  const text = `${recs.join('')}tail`;
  for (let k = 1; k <= recs.length; k++) {
    const d = driver(ch).queue(text);
    const id = d.core.readUntilEach(';;');
    let n = 0;
    const got = pump(d, id, () => ++n < k);
    t.equal(got.length, k, `stopped after record ${k}`);
    t.equal(d.core.reading, false, 'cancel freed the read slot');
    d.feedAll();
    d.core.receiveEof();
    const rest = d.core.readUntilClose();
    d.drain();
    if (got.join('') + d.text(t, rest) !== text) t.fail(`stop after ${k}: bytes lost or duplicated`);
    d.checkInvariants(t);
  }
  t.pass('every stop left exactly the rest');
});

eachChunking('readUntilEach: maxBytes applies to each record; the records before the long one still go out', (t, ch) => {
  for (const [max, want] of [[7, 'ok'], [6, 'limit']] as const) {
    const d = driver(ch).queue('a;;bb;;ccccc;;dd');
    const id = d.core.readUntilEach(';;', { maxBytes: max });
    const got = pump(d, id, () => {});
    if (want === 'ok') {
      t.deepEqual(got, ['a;;', 'bb;;', 'ccccc;;'], 'a record ending at maxBytes succeeds');
      t.equal(d.core.reading, true, 'and the read goes on');
      continue;
    }
    t.deepEqual(got, ['a;;', 'bb;;'], 'records before the too long one');
    isClosedError(t, d.settled.get(id), UnsatisfiableReadError, 'one byte over');
    t.ok(d.core.error instanceof UnsatisfiableReadError, 'the stream closed with the limit error');
  }
  const small = driver(ch, { maxBufferSize: 8 }).queue('a;;123456789;;');
  const id = small.core.readUntilEach(';;');
  t.deepEqual(pump(small, id, () => {}), ['a;;'], 'maxBufferSize bounds a record without maxBytes');
  isClosedError(t, small.settled.get(id), StreamBufferFullError, 'past maxBufferSize');
});

eachChunking('readUntilEach: a long record arriving in pieces is found (linear scan) and copied once', (t, ch) => {
  const long = `${'x'.repeat(5000)};;`;
  const d = driver(ch).queue(`${long}y;;`);
  const id = d.core.readUntilEach(';;');
  t.deepEqual(pump(d, id, () => {}), [long, 'y;;']);
});

eachChunking('readUntilEach: close inside the delivery — clean: the rest still goes out, then it resolves; error: it rejects at once', (t, ch) => {
  for (const how of ['clean', 'error'] as const) {
    const d = driver(ch).queue(lines(6).join('') + 'part');
    const id = d.core.readUntilEach(';;');
    const boom = new Error('boom');
    let n = 0;
    let fedAtClose = 0;
    const got = pump(d, id, () => {
      if (++n !== 2) return;
      fedAtClose = d.fed;
      d.core.close(how === 'clean' ? null : boom);
    });
    if (how === 'clean') {
      t.ok(got.length >= 2, 'records before and after the close');
      t.deepEqual(d.settled.get(id), {}, 'resolved');
      const trace = d.actions.map((a) => a.type);
      t.ok(trace.indexOf('resolve-request') < trace.indexOf('closed'), 'resolved before closed');
    } else {
      t.equal(got.length, 2, 'no record after an error close');
      isClosedError(t, d.settled.get(id), boom, 'error close');
      t.equal(d.core.readBufferSize, fedAtClose - got.join('').length, 'what was received and not handed out stays buffered');
    }
  }
});

eachChunking('readUntilEach after the stream closed: clean — buffered records then resolve; error — reject at once', (t, ch) => {
  const d = driver(ch).queue('a;;b;;c');
  d.feedAll();
  d.core.receiveEof();
  const id = d.core.readUntilEach(';;');
  t.deepEqual(pump(d, id, () => {}), ['a;;', 'b;;']);
  t.deepEqual(d.settled.get(id), {}, 'resolved after the records');
  const e = driver(ch).queue('a;;b;;');
  e.feedAll();
  const err = new Error('reset');
  e.core.receiveError(err);
  const id2 = e.core.readUntilEach(';;');
  t.deepEqual(pump(e, id2, () => {}), [], 'no record on an error-closed stream');
  isClosedError(t, e.settled.get(id2), err, 'error-closed stream');
  t.equal(e.core.readBufferSize, 6, 'bytes stay buffered');
});

eachChunking('readUntilEach holds the read slot; bad arguments throw and change nothing', (t, ch) => {
  const d = driver(ch).queue('a;;');
  t.throws(() => d.core.readUntilEach(''), RangeError, 'empty delimiter');
  t.throws(() => d.core.readUntilEach(';', { maxBytes: -1 }), RangeError, 'negative maxBytes');
  t.equal(d.core.reading, false, 'nothing registered');
  const id = d.core.readUntilEach(';;');
  t.throws(() => d.core.readUntil(';;'), AlreadyReadingError, 'a second read');
  t.throws(() => d.core.readUntilEach(';;'), AlreadyReadingError, 'a second readUntilEach');
  t.deepEqual(pump(d, id, () => {}), ['a;;']);
  t.ok(d.core.cancel(id), 'cancel');
  t.equal(d.core.reading, false);
});
