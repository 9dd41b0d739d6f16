/**
 * The read buffer: the received chunks, kept as they arrived, plus a head offset.
 *
 * Receiving never copies (`push` stores the chunk by reference, so no `concat` of the whole
 * buffer per receive). Taking bytes out returns a `subarray` of the head chunk when the
 * result lies inside it, and copies exactly once otherwise. Chunks are dropped as soon as
 * they are fully consumed, so memory follows what is unread.
 */

/** Allocates the array a copied-out result is written into (Node drivers pass `Buffer.allocUnsafe`). */
export type Allocator = (size: number) => Uint8Array;

const EMPTY_RESULT = new Uint8Array(0);

/** Zero-length results share one array: it has no bytes anyone could change. */
export const defaultAlloc: Allocator = (size) => (size === 0 ? EMPTY_RESULT : new Uint8Array(size));

/**
 * Makes the result view of `length` bytes at `byteOffset` of a received chunk's `buffer`. The
 * default is a `Uint8Array`; Node drivers construct their `Buffer` class directly. Both skip
 * `subarray`'s species lookup (about twice the cost), and the chunk's `buffer`/`byteOffset`
 * are read once per chunk, not once per read: those getters cost as much as the view itself.
 */
export type Viewer = (buffer: ArrayBufferLike, byteOffset: number, length: number) => Uint8Array;

export const defaultView: Viewer = (buffer, byteOffset, length) => new Uint8Array(buffer, byteOffset, length);

/**
 * The unread bytes of a stream as the list of chunks they arrived in, with the search and
 * take operations reads need. Used by {@link StreamCore}; exported for drivers and embedders.
 */
export class ReadBuffer {
  /** Unread bytes in total. */
  length = 0;
  /** Chunks; those before `first` are consumed (cleared lazily to avoid O(n) `shift`). */
  private chunks: Uint8Array[] = [];
  private first = 0;
  /** Slots in use are `first..end-1`; the array itself is kept and reused (no shrink/grow per chunk). */
  private end = 0;
  /** Bytes of `chunks[first]` already consumed. */
  private offset = 0;
  /** Bytes consumed since the buffer was created: the stream offset of the head. */
  private consumed = 0;
  // Where the last search stopped, as (chunk index, stream offset of that chunk's first byte),
  // so a resumed search starts there instead of walking the chunk list from the head: with
  // byte-at-a-time delivery that walk alone made a k-chunk message cost O(k²).
  private cursorIndex = -1;
  private cursorStart = 0;
  /** Position (from the head) of the first byte of the chunk `locate` returned. */
  private locatedBase = 0;
  /** The head chunk (`chunks[first]`, or EMPTY when the buffer is empty). */
  private head: Uint8Array = EMPTY;
  // The head's `buffer` and `byteOffset`, read on its first view (a chunk consumed whole needs
  // neither): a read per line would otherwise pay for both getters on every result.
  private headBuffer: ArrayBufferLike | null = null;
  private headByteOffset = 0;

  /**
   * An empty buffer.
   * @param alloc - allocates results that must be copied out (they straddle chunks)
   * @param view - makes results that lie inside one chunk
   */
  constructor(private readonly alloc: Allocator = defaultAlloc, private readonly view: Viewer = defaultView) {}

  /** Appends a received chunk. The buffer keeps the reference: the caller must not reuse it. */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.end === this.chunks.length) this.chunks.push(chunk);
    else this.chunks[this.end] = chunk;
    if (this.end++ === this.first) this.setHead(chunk);
    this.length += n;
  }

  /** Unread bytes in the head chunk (0 when empty). */
  get headLength(): number {
    return this.head.length - this.offset;
  }

  /** Number of chunks holding unread bytes. */
  get chunkCount(): number {
    return this.end - this.first;
  }

  /** Removes and returns the first `n` bytes (`n <= length`): a view when they lie in one chunk. */
  take(n: number): Uint8Array {
    if (n === 0) return this.alloc(0);
    const head = this.head;
    const start = this.offset;
    const avail = head.length - start;
    if (n <= avail) {
      // Whole untouched chunk: hand it over as is (no new view object).
      const out = start === 0 && n === avail ? head : this.headView(start, n);
      this.advanceWithin(n, avail);
      return out;
    }
    const out = this.alloc(n);
    this.copyOut(out, 0, n);
    return out;
  }

  /**
   * Removes and returns up to `max` bytes from the head chunk only, never copying: what a
   * streaming read hands to its callback.
   */
  takeHeadChunk(max: number): Uint8Array {
    const head = this.head;
    const start = this.offset;
    const avail = head.length - start;
    const n = max < avail ? max : avail;
    const out = start === 0 && n === avail ? head : this.headView(start, n);
    this.advanceWithin(n, avail);
    return out;
  }

  /** Copies the first `n` bytes (`n <= length`) into `dst` at `at`, removing them. */
  copyOut(dst: Uint8Array, at: number, n: number): void {
    let remaining = n;
    let pos = at;
    while (remaining > 0) {
      const head = this.chunks[this.first] as Uint8Array;
      const start = this.offset;
      const avail = head.length - start;
      const k = remaining < avail ? remaining : avail;
      dst.set(k === head.length ? head : head.subarray(start, start + k), pos);
      pos += k;
      remaining -= k;
      this.advanceWithin(k, avail);
    }
  }

  /** Drops the first `n` bytes (`n <= length`). */
  skip(n: number): void {
    let remaining = n;
    while (remaining > 0) {
      const avail = (this.chunks[this.first] as Uint8Array).length - this.offset;
      const k = remaining < avail ? remaining : avail;
      remaining -= k;
      this.advanceWithin(k, avail);
    }
  }

  /**
   * Position (from the head) of the first occurrence of `delimiter` that starts at or after
   * `from`, or -1. Only bytes from `from` on are examined, so a caller that remembers where
   * its last unsuccessful search could have started a match (`length - delimiter.length + 1`)
   * scans every byte once however the input was chunked.
   *
   * The search looks for the delimiter's last byte with the typed array's own `indexOf`
   * (memchr-like on Node's Buffer) and then checks the preceding bytes, which may lie in
   * earlier chunks.
   */
  indexOf(delimiter: Uint8Array, from: number): number {
    const dlen = delimiter.length;
    // `end` is the position of the delimiter's last byte in the candidate match.
    const end = from + dlen - 1;
    if (end >= this.length) return -1;
    const head = this.head;
    const off = this.offset;
    const headRest = head.length - off;
    if (end >= headRest) return this.indexOfFrom(delimiter, this.locate(end), this.locatedBase, end);
    // The hot case (a line read from the head chunk). A candidate found here starts at or after
    // `from`, so all of it lies in the head.
    const hit = matchEndInChunk(head, delimiter, off + end);
    if (hit >= 0) return hit - off - dlen + 1;
    if (this.first + 1 === this.end) {
      this.cursorIndex = this.first;
      this.cursorStart = this.consumed - off;
      return -1;
    }
    return this.indexOfFrom(delimiter, this.first + 1, headRest, headRest);
  }

  /**
   * The record up to and including the first `delimiter`, taken now, when that delimiter lies
   * in the head chunk and ends within `cap` bytes; otherwise `undefined`, with nothing changed.
   * The line-read hot path: one search of the head chunk and one view, no scan state. A match
   * wholly inside the head chunk is the first in the buffer (any other starts later).
   */
  takeThroughInHead(delimiter: Uint8Array, cap: number): Uint8Array | undefined {
    const head = this.head;
    const off = this.offset;
    const hit = matchEndInChunk(head, delimiter, off + delimiter.length - 1);
    if (hit < 0) return undefined;
    const n = hit + 1 - off;
    if (n > cap) return undefined;
    const out = off === 0 && hit + 1 === head.length ? head : this.headView(off, n);
    this.advanceWithin(n, head.length - off);
    return out;
  }

  /**
   * {@link indexOf} from chunk `ci` (whose first byte is at position `base`) on, for a candidate
   * whose last byte is at `end` or later; the bytes before it may lie in earlier chunks.
   */
  private indexOfFrom(delimiter: Uint8Array, ci: number, base: number, end: number): number {
    const dlen = delimiter.length;
    const last = delimiter[dlen - 1] as number;
    const chunks = this.chunks;
    for (;;) {
      const chunk = chunks[ci] as Uint8Array;
      let local = end - base;
      for (;;) {
        const hit = chunk.indexOf(last, local);
        if (hit === -1) break;
        if (dlen === 1) return base + hit;
        if (dlen === 2 && hit > (base < 0 ? -base : 0)) {
          // Common case (`\r\n`): the other byte is in this chunk, no walk back across chunks.
          if (chunk[hit - 1] === delimiter[0]) return base + hit - 1;
        } else if (this.matchesBefore(delimiter, ci, hit)) {
          return base + hit - dlen + 1;
        }
        local = hit + 1;
      }
      if (ci + 1 === this.end) break;
      base += chunk.length;
      end = base;
      ci++;
    }
    // Leave the cursor on the last chunk searched: the next search resumes inside it.
    this.cursorIndex = ci;
    this.cursorStart = this.consumed + base;
    return -1;
  }

  /**
   * Index of the chunk holding position `pos` (< length) from the head; sets `locatedBase`.
   * Starts from the cursor when it lies at or before `pos`, so forward searches are amortised O(1).
   */
  private locate(pos: number): number {
    const chunks = this.chunks;
    const target = this.consumed + pos;
    let i: number;
    let start: number;
    if (this.cursorIndex >= this.first && this.cursorIndex < this.end && this.cursorStart <= target) {
      i = this.cursorIndex;
      start = this.cursorStart;
    } else {
      i = this.first;
      start = this.consumed - this.offset;
    }
    for (let len = (chunks[i] as Uint8Array).length; start + len <= target; len = (chunks[i] as Uint8Array).length) {
      start += len;
      i++;
    }
    this.cursorIndex = i;
    this.cursorStart = start;
    this.locatedBase = start - this.consumed;
    return i;
  }

  /**
   * Whether `delimiter[0..dlen-2]` sits right before position `hit` of chunk `ci` (whose byte
   * at `hit` already equals the delimiter's last byte), walking back across chunks.
   */
  private matchesBefore(delimiter: Uint8Array, ci: number, hit: number): boolean {
    let chunk = this.chunks[ci] as Uint8Array;
    let pos = hit - 1;
    let floor = ci === this.first ? this.offset : 0;
    for (let k = delimiter.length - 2; k >= 0; k--) {
      while (pos < floor) {
        if (ci === this.first) return false; // ran past the head: cannot be a match
        ci--;
        chunk = this.chunks[ci] as Uint8Array;
        pos = chunk.length - 1;
        floor = ci === this.first ? this.offset : 0;
      }
      if (chunk[pos] !== delimiter[k]) return false;
      pos--;
    }
    return true;
  }

  /**
   * Calls `visit` with the unread bytes from position `from` (from the head) up to `to`
   * (exclusive, default all), chunk by chunk, as views.
   */
  forEachChunk(visit: (chunk: Uint8Array) => void, from = 0, to = this.length): void {
    if (to > this.length) to = this.length;
    if (from >= to) return;
    // `base` is the position of the chunk's byte 0 (negative for a partly read head).
    for (let i = this.locate(from), base = this.locatedBase; i < this.end && base < to; i++) {
      const chunk = this.chunks[i] as Uint8Array;
      const lo = from > base ? from - base : 0;
      const hi = to - base < chunk.length ? to - base : chunk.length;
      visit(lo === 0 && hi === chunk.length ? chunk : chunk.subarray(lo, hi));
      base += chunk.length;
    }
  }

  /** Consumes `k <= avail` bytes of the head chunk, `avail` being what it had unread. */
  private advanceWithin(k: number, avail: number): void {
    this.length -= k;
    this.consumed += k;
    if (k < avail) this.offset += k;
    else this.dropHead();
  }

  /** Head chunk used up: release it so its memory can go. */
  private dropHead(): void {
    this.chunks[this.first] = EMPTY;
    this.first++;
    this.offset = 0;
    if (this.first === this.end) {
      this.first = 0;
      this.end = 0;
      this.cursorIndex = -1;
      this.setHead(EMPTY);
      return;
    }
    this.setHead(this.chunks[this.first] as Uint8Array);
    if (this.first >= 64 && this.first * 2 >= this.end) {
      const chunks = this.chunks;
      chunks.copyWithin(0, this.first, this.end);
      chunks.fill(EMPTY, this.end - this.first, this.end);
      this.cursorIndex -= this.first;
      this.end -= this.first;
      this.first = 0;
    }
  }

  private setHead(chunk: Uint8Array): void {
    this.head = chunk;
    this.headBuffer = null;
  }

  /** A view of `n` bytes of the head chunk from `start`. */
  private headView(start: number, n: number): Uint8Array {
    let buffer = this.headBuffer;
    if (buffer === null) {
      buffer = this.headBuffer = this.head.buffer;
      this.headByteOffset = this.head.byteOffset;
    }
    return this.view(buffer, this.headByteOffset + start, n);
  }
}

/**
 * Index of the last byte of the first `delimiter` in `chunk` whose last byte is at or after
 * `from` (which must leave room for the whole delimiter before it), or -1. Small, so it inlines
 * into the line-read hot paths: a numeric `indexOf` of the last byte, then the bytes before it.
 */
function matchEndInChunk(chunk: Uint8Array, delimiter: Uint8Array, from: number): number {
  const dlen = delimiter.length;
  const last = delimiter[dlen - 1] as number;
  for (let at = from; ;) {
    const hit = chunk.indexOf(last, at);
    if (hit === -1) return -1;
    if (dlen === 1 || (dlen === 2 ? chunk[hit - 1] === delimiter[0] : matchesAt(chunk, hit - dlen + 1, delimiter))) return hit;
    at = hit + 1;
  }
}

/** Whether `delimiter` occurs in `chunk` at `at` (which the caller knows is in bounds). */
function matchesAt(chunk: Uint8Array, at: number, delimiter: Uint8Array): boolean {
  for (let k = 0; k < delimiter.length; k++) {
    if (chunk[at + k] !== delimiter[k]) return false;
  }
  return true;
}

const EMPTY = new Uint8Array(0);
