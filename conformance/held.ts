/**
 * Results are memory that is never refilled: a driver may receive into memory it reuses (Node's
 * `onread`, a BYOB reader), but what a read hands out — `readBytes`, `readUntil`,
 * `readUntilRegex`, `readUntilClose`, streaming chunks, records — must stay as it was however
 * much is read after it. One case: hold 10,000 results of every kind, read 64 MiB more (the
 * driver's `maxTransfer` when lower: 16 MiB by default, so a driver declares 64 MiB to run the
 * full size) through `readInto` into one reused buffer and through `readBytes`, then compare
 * every held result with what was sent.
 */
import type { AnyStream, Case, CaseContext } from './types.js';
import { enc, patternByte, sameBytes, within, WAIT_MS } from './util.js';

const needEof = (c: { peerEof: boolean }): string | null => (c.peerEof ? null : 'driver cannot signal a clean EOF to the peer');

/** Results held: lines read one way or another (some give several results). */
const LINES = 10_000;
const BULK = 64 * 1024 * 1024;
/** The bulk bytes repeat with this period (patternByte's): one block to send and to check against. */
const PERIOD = 65536;

/** Line `i` of the head: `r<i>` and a filler without `;` or `\n`, ended by `;\n`. */
function line(i: number): string {
  const filler = 'abcdefghijklmnopqrstuvw'.slice(0, (i * 7) % 23);
  return `r${i}${filler};\n`;
}

/** A held result: the bytes, and where they start in what was sent. */
interface Held { at: number; bytes: Uint8Array }

/** Reads the 10,000 lines, each by one of six read kinds, keeping every result as it came. */
async function readHead(b: AnyStream, held: Held[]): Promise<number> {
  let at = 0;
  const keep = (bytes: Uint8Array): void => {
    held.push({ at, bytes });
    at += bytes.length;
  };
  for (let i = 0; i < LINES; i++) {
    const len = line(i).length;
    switch (i % 6) {
      case 0: keep(await b.readUntil('\n')); break;
      // maxBytes: the regex sees 64 bytes, not all the read-ahead (64 KiB of 1-byte chunks, on byte chunking).
      case 1: keep(await b.readUntilRegex(/;\n/, { maxBytes: 64 })); break;
      case 2: keep(await b.readBytes(len)); break;
      case 3: {
        for (let left = len; left > 0;) {
          const part = await b.readBytes(left, { partial: true });
          keep(part);
          left -= part.length;
        }
        break;
      }
      case 4: await b.readBytes(len, { streamingCallback: keep }); break;
      default: {
        const it = b.readUntilIter('\n');
        const r = await it.next();
        await it.return?.();
        if (r.done === true) throw new Error(`record iterator ended before line ${i}`);
        keep(r.value);
      }
    }
  }
  return at;
}

/** One period of the bulk pattern. */
function periodBlock(seed: number): Uint8Array {
  const out = new Uint8Array(PERIOD);
  for (let i = 0; i < PERIOD; i++) out[i] = patternByte(seed, i);
  return out;
}

/** Whether `bytes` are the bulk pattern from offset `from` (of the bulk part). */
function isBulk(block: Uint8Array, bytes: Uint8Array, from: number, count = bytes.length): boolean {
  for (let i = 0; i < count; i++) if (bytes[i] !== block[(from + i) % PERIOD]) return false;
  return true;
}

/**
 * Reads `size` bulk bytes, mostly with `readInto` into one reused buffer (full and partial by
 * turns), every 8th read a partial `readBytes`; returns the offset of the first bad byte or -1.
 */
async function readBulk(b: AnyStream, block: Uint8Array, size: number): Promise<number> {
  const into = new Uint8Array(65536);
  let got = 0;
  for (let n = 0; got < size; n++) {
    const want = Math.min(into.length, size - got);
    if (n % 8 === 7) {
      const c = await b.readBytes(want, { partial: true });
      if (!isBulk(block, c, got)) return got;
      got += c.length;
    } else {
      const k = await b.readInto(want === into.length ? into : into.subarray(0, want), { partial: n % 2 === 1 });
      if (!isBulk(block, into, got, k)) return got;
      got += k;
    }
  }
  return -1;
}

async function heldResults({ t, pair, caps }: CaseContext): Promise<void> {
  const [a, b] = await pair();
  const size = Math.min(BULK, caps.maxTransfer);
  const head = enc(Array.from({ length: LINES }, (_, i) => line(i)).join(''));
  const tail = enc('the tail, read by readUntilClose after the bulk\n'.repeat(100));
  const block = periodBlock(17);
  const sending = (async () => {
    await a.write(head);
    const writes: Promise<void>[] = [];
    for (let at = 0; at < size; at += PERIOD) {
      writes.push(a.write(at + PERIOD <= size ? block : block.subarray(0, size - at)));
      // A window of 16 writes: backpressure without one promise per write in flight at once.
      if (writes.length >= 16) await writes.shift();
    }
    await Promise.all(writes);
    await a.write(tail);
    a.close();
  })();
  sending.catch(() => {});
  const bound = Math.max(WAIT_MS, 60_000);
  const held: Held[] = [];
  const headBytes = await within(readHead(b, held), bound, 'reading the 10,000 lines');
  t.equal(headBytes, head.length, `${held.length} results held over the ${LINES} lines`);
  const badBulk = await within(readBulk(b, block, size), bound, `reading ${size} bytes more`);
  t.equal(badBulk, -1, `${size} bytes more read intact (readInto into one buffer, readBytes)`);
  const last = await within(b.readUntilClose(), bound, 'readUntilClose');
  await within(sending, bound, 'the writes');
  // Every result still holds what was sent, though the driver kept receiving after it.
  let bad = -1;
  for (let i = 0; i < held.length && bad < 0; i++) {
    const { at, bytes } = held[i] as Held;
    if (!sameBytes(bytes, head.subarray(at, at + bytes.length))) bad = i;
  }
  t.equal(bad, -1, bad < 0 ? `all ${held.length} held results intact` : `held result ${bad} changed after it was handed out`);
  t.ok(sameBytes(last, tail), 'the readUntilClose result intact');
}

export const heldCases: Case[] = [
  {
    behaviour: 'results stay as they were: 10,000 results of every read kind held while 64 MiB (or maxTransfer) more is read',
    skip: needEof,
    run: heldResults,
  },
];
