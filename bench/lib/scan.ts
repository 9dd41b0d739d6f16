/**
 * Hand-written scanners: what an application on raw Node `net` (or a plain loop over chunks)
 * would write. They set the limit the library is compared with, so they are kept tight:
 * a numeric `indexOf` of the last delimiter byte, a check of the byte before, views where
 * the bytes lie in one chunk and one copy where they straddle chunks.
 */

const CR = 13;
const LF = 10;

/** Counts `\r\n`-terminated lines without producing them ("locate only"). */
export class LineLocator {
  count = 0;
  private lastWasCR = false;

  feed(chunk: Buffer): void {
    let pos = 0;
    if (this.lastWasCR && chunk.length > 0 && chunk[0] === LF) {
      this.count++;
      pos = 1;
    }
    for (;;) {
      const nl = chunk.indexOf(LF, pos);
      if (nl < 0) break;
      if (nl > 0 && chunk[nl - 1] === CR) this.count++;
      pos = nl + 1;
    }
    this.lastWasCR = chunk.length > 0 && chunk[chunk.length - 1] === CR;
  }
}

type BufferCtor = new (ab: ArrayBufferLike, offset: number, length: number) => Buffer;
const FastBuffer = (Buffer as unknown as { [Symbol.species]: BufferCtor })[Symbol.species];

/**
 * Splits into `\r\n`-terminated lines, each a Buffer (a view, or one copy across chunks).
 * Views come from `subarray` (what an application would write), or with `direct` from Node's
 * Buffer class constructed directly, as cheaply as a real Buffer per line can be made (what the
 * `floor` peer hands to its promises and callbacks).
 */
export class LineSplitter {
  count = 0;
  /** Sum of line lengths: keeps the lines observably used. */
  bytes = 0;
  private carry: Buffer | null = null;

  constructor(private readonly direct = false) {}

  feed(chunk: Buffer, onLine?: (line: Buffer) => void): void {
    const ab = chunk.buffer;
    const base = chunk.byteOffset;
    let start = 0;
    let pos = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, pos);
      if (nl < 0) break;
      pos = nl + 1;
      const carry = this.carry;
      const prev = nl > 0 ? chunk[nl - 1] : carry !== null ? carry[carry.length - 1] : -1;
      if (prev !== CR) continue;
      let line: Buffer;
      if (carry !== null) {
        line = Buffer.concat([carry, chunk.subarray(0, pos)]);
        this.carry = null;
      } else {
        line = this.direct ? new FastBuffer(ab, base + start, pos - start) : chunk.subarray(start, pos);
      }
      start = pos;
      this.count++;
      this.bytes += line.length;
      if (onLine !== undefined) onLine(line);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.carry = this.carry === null ? rest : Buffer.concat([this.carry, rest]);
    }
  }
}

/**
 * Collects chunks until `delimiter` appears, scanning each new chunk once plus the
 * `delimiter.length - 1` byte seam, then joins once.
 */
export class MessageAccumulator {
  private readonly chunks: Buffer[] = [];
  private total = 0;
  private tail: Buffer = Buffer.alloc(0);

  constructor(private readonly delimiter: Buffer) {}

  /** The message through the delimiter, once complete; `null` until then. */
  feed(chunk: Buffer): Buffer | null {
    const d = this.delimiter;
    const keep = d.length - 1;
    let end = -1;
    if (this.tail.length > 0) {
      const seam = Buffer.concat([this.tail, chunk.subarray(0, keep)]);
      const i = seam.indexOf(d);
      if (i >= 0) end = this.total - this.tail.length + i + d.length;
    }
    if (end < 0) {
      const at = chunk.indexOf(d);
      if (at >= 0) end = this.total + at + d.length;
    }
    this.chunks.push(chunk);
    this.total += chunk.length;
    if (end >= 0) return Buffer.concat(this.chunks, end);
    if (keep > 0) {
      this.tail = chunk.length >= keep
        ? chunk.subarray(chunk.length - keep)
        : Buffer.concat([this.tail, chunk]).subarray(-keep);
    }
    return null;
  }
}

/** Splits `\n`-terminated messages (W3's echo side); calls `onMessage` with a view or a copy. */
export class NewlineSplitter {
  private carry: Buffer | null = null;

  feed(chunk: Buffer, onMessage: (m: Buffer) => void): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl < 0) break;
      const carry = this.carry;
      if (carry !== null) {
        this.carry = null;
        onMessage(Buffer.concat([carry, chunk.subarray(0, nl + 1)]));
      } else {
        onMessage(chunk.subarray(start, nl + 1));
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.carry = this.carry === null ? rest : Buffer.concat([this.carry, rest]);
    }
  }
}
