/**
 * The read side's building blocks (ReadBuffer, DelimiterScan, RegexScan) and the core reads
 * built on them, with matches straddling any number of chunks.
 */
import { DelimiterScan, ReadBuffer, RegexScan, defaultLatin1 } from '../core/index.js';
import { SEED, CoreDriver, eachChunking, enc, latin1, randomChunking } from './_support/core-driver.js';
import { seededRandom, test, type Test } from './_support/harness.js';

function bufferOf(...parts: string[]): { rb: ReadBuffer; chunks: Uint8Array[] } {
  const rb = new ReadBuffer();
  const chunks = parts.map((p) => enc(p));
  for (const c of chunks) rb.push(c);
  return { rb, chunks };
}

/**
 * A result of `len` bytes starting `start` bytes into the stream must share the ArrayBuffer of
 * the received chunk when it lies inside one, and be a copy otherwise.
 */
function checkZeroCopy(t: Test, received: readonly Uint8Array[], start: number, out: Uint8Array): void {
  let base = 0;
  for (const c of received) {
    if (start >= base && start + out.length <= base + c.length) {
      t.equal(out.buffer, c.buffer, `bytes ${start}..${start + out.length} lie in one chunk: a view, no copy`);
      t.equal(out.byteOffset, c.byteOffset + start - base, 'view starts at the right offset');
      return;
    }
    base += c.length;
  }
  t.ok(received.every((c) => c.buffer !== out.buffer), `bytes ${start}..${start + out.length} span chunks: copied`);
}

test('ReadBuffer.take: inside one chunk returns a view of it', async (t) => {
  const { rb, chunks } = bufferOf('hello', 'world');
  const a = rb.take(2);
  t.equal(latin1(a), 'he');
  t.equal(a.buffer, chunks[0]?.buffer, 'shares the received ArrayBuffer');
  const b = rb.take(3);
  t.equal(latin1(b), 'llo');
  t.equal(b.buffer, chunks[0]?.buffer);
  const c = rb.take(5);
  t.equal(c, chunks[1], 'a whole untouched chunk is handed over as is');
  t.equal(rb.length, 0);
  t.equal(rb.chunkCount, 0);
});

test('ReadBuffer.take: across chunks copies once, into a fresh buffer', async (t) => {
  const { rb, chunks } = bufferOf('ab', 'cd', 'ef');
  rb.skip(1);
  const out = rb.take(4);
  t.equal(latin1(out), 'bcde');
  t.ok(chunks.every((c) => c.buffer !== out.buffer), 'not a view of any chunk');
  chunks[1]?.fill(0x7a);
  t.equal(latin1(out), 'bcde', 'independent of the received memory');
  t.equal(rb.length, 1);
  t.equal(latin1(rb.take(1)), 'f');
  t.equal(rb.take(0).length, 0, 'take(0) is empty');
});

test('ReadBuffer: copyOut, skip, takeHeadChunk and forEachChunk keep the head consistent', async (t) => {
  const { rb } = bufferOf('abc', 'defg', 'hi');
  const dst = new Uint8Array(6).fill(0x2e);
  rb.copyOut(dst, 1, 4);
  t.equal(latin1(dst), '.abcd.', 'copyOut writes at the offset');
  t.equal(latin1(rb.takeHeadChunk(10)), 'efg', 'takeHeadChunk stops at the chunk end');
  rb.skip(1);
  const seen: string[] = [];
  rb.forEachChunk((c) => seen.push(latin1(c)));
  t.deepEqual(seen, ['i']);
  t.equal(rb.length, 1);
  rb.push(new Uint8Array(0));
  t.equal(rb.chunkCount, 1, 'empty chunks are not stored');
});

test('ReadBuffer.indexOf: a delimiter split over 3+ chunks, overlaps, and `from`', async (t) => {
  t.equal(bufferOf('x\r', '\n', '\r', '\ny').rb.indexOf(enc('\r\n\r\n'), 0), 1, 'over four chunks');
  t.equal(bufferOf('a', 'a', 'a', 'b').rb.indexOf(enc('aab'), 0), 1, "'aab' in 'aaab', one byte per chunk");
  t.equal(bufferOf('aaab').rb.indexOf(enc('aab'), 0), 1, "'aab' in 'aaab', one chunk");
  t.equal(bufferOf('abab', 'ac').rb.indexOf(enc('abac'), 0), 2, "'abac' in 'ababac'");
  t.equal(bufferOf('ab', 'ab').rb.indexOf(enc('ab'), 1), 2, 'from skips earlier matches');
  t.equal(bufferOf('ab').rb.indexOf(enc('abc'), 0), -1, 'longer than the buffer');
  const { rb } = bufferOf('zzaa', 'b');
  rb.skip(3);
  t.equal(rb.indexOf(enc('aab'), 0), -1, 'never matches bytes before the head');
  t.equal(rb.indexOf(enc('ab'), 0), 0, 'positions are relative to the head');
});

test(`DelimiterScan: resuming after each chunk equals one search over everything (seed ${SEED})`, async (t) => {
  const rnd = seededRandom(SEED);
  const pick = (n: number): string => Array.from({ length: n }, () => (rnd() < 0.6 ? 'a' : 'b')).join('');
  let mismatches = 0;
  for (let i = 0; i < 2000; i++) {
    const text = pick(Math.floor(rnd() * 16));
    const delim = pick(1 + Math.floor(rnd() * 4));
    const rb = new ReadBuffer();
    const scan = new DelimiterScan();
    scan.reset(enc(delim));
    let found = -1;
    for (const piece of randomChunking(SEED + i, 4).split(enc(text))) {
      rb.push(piece);
      found = scan.find(rb);
      if (found >= 0) break;
    }
    const at = text.indexOf(delim);
    const want = at < 0 ? -1 : at + delim.length;
    if (found !== want && mismatches++ < 5) t.fail(`'${delim}' in '${text}': got ${found}, want ${want}`);
  }
  t.equal(mismatches, 0, '2000 random texts, delimiters and splits');
});

test('RegexScan: finds a match that starts in one chunk and ends in a later one', async (t) => {
  const rb = new ReadBuffer();
  const scan = new RegexScan(defaultLatin1);
  scan.reset(/\r?\n\r?\n/);
  const results: number[] = [];
  for (const piece of ['GET / HTTP/1.1\r', '\nHost: x\r\n\r', '\n', 'body']) {
    rb.push(enc(piece));
    results.push(scan.find(rb));
  }
  t.deepEqual(results, [-1, -1, 27, 27], 'match found once complete, end stays put');
  t.equal(defaultLatin1(Uint8Array.of(0x00, 0x80, 0x9f, 0xff)), '\u0000\u0080\u009f\u00ff', 'latin1, not windows-1252');
});

eachChunking('core: readBytes results are views when they fit one received chunk, copies otherwise', (t, ch) => {
  const d = new CoreDriver(ch);
  d.queue('abcdefghijklmnop');
  let at = 0;
  for (const n of [1, 3, 5, 7]) {
    const id = d.core.readBytes(n);
    const s = d.until(id);
    if (!(s?.value instanceof Uint8Array)) { t.fail(`readBytes(${n}) did not resolve with bytes`); return; }
    t.equal(latin1(s.value), 'abcdefghijklmnop'.slice(at, at + n));
    // A transient delivery is copied (its buffer is overwritten after each call): the text check
    // above, made after that, is what matters there.
    if (ch.transient !== true) checkZeroCopy(t, d.received, at, s.value);
    at += n;
  }
  d.checkInvariants(t);
});

eachChunking('core: readUntil with a multi-byte delimiter, however it is split', (t, ch) => {
  const d = new CoreDriver(ch);
  d.queue('GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY');
  const id = d.core.readUntil('\r\n\r\n');
  d.until(id);
  t.equal(d.text(t, id), 'GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  const id2 = d.core.readBytes(4);
  d.until(id2);
  t.equal(d.text(t, id2), 'BODY');
  d.checkInvariants(t);
});

eachChunking("core: overlapping delimiter 'aab' in 'aaab', and 'abac' in 'ababac'", (t, ch) => {
  const d = new CoreDriver(ch);
  d.queue('aaabababacz');
  const a = d.core.readUntil('aab');
  d.until(a);
  t.equal(d.text(t, a), 'aaab');
  const b = d.core.readUntil(enc('abac'));
  d.until(b);
  t.equal(d.text(t, b), 'ababac');
  d.checkInvariants(t);
});

test('core: a 4-byte delimiter delivered over four chunks, one read pending throughout', async (t) => {
  const d = new CoreDriver();
  const id = d.core.readUntil('\r\n\r\n');
  for (const piece of ['head\r', '\n', '\r']) {
    d.receive(enc(piece));
    t.notOk(d.settled.has(id), `not settled after ${JSON.stringify(piece)}`);
  }
  d.receive(enc('\nnext'));
  t.equal(d.text(t, id), 'head\r\n\r\n');
  t.equal(d.core.readBufferSize, 4, 'the rest stays buffered');
  d.checkInvariants(t);
});

eachChunking('core: readUntilRegex matches straddling chunks; the rest stays buffered', (t, ch) => {
  const d = new CoreDriver(ch);
  d.queue('ab\r\n\r\nbbbba-tail');
  const a = d.core.readUntilRegex(/\r?\n\r?\n/);
  d.until(a);
  t.equal(d.text(t, a), 'ab\r\n\r\n');
  const b = d.core.readUntilRegex('b+a');
  d.until(b);
  t.equal(d.text(t, b), 'bbbba', 'string regex; match spans the split points');
  const c = d.core.readUntilRegex(/l/g);
  d.until(c);
  t.equal(d.text(t, c), '-tail', 'a global regex still searches from the head');
  d.checkInvariants(t);
});

test('core: readUntilRegex across three chunks with one read pending', async (t) => {
  const d = new CoreDriver();
  const id = d.core.readUntilRegex(/xy+z/);
  d.receive(enc('..x'));
  d.receive(enc('yyy'));
  t.notOk(d.settled.has(id));
  d.receive(enc('yz..'));
  t.equal(d.text(t, id), '..xyyyyz');
  d.checkInvariants(t);
});
