import type { Allocator } from './read-buffer.js';

/** Writes smaller than this are copied together into one chunk; larger ones pass by reference. */
const COALESCE_BELOW = 16 * 1024;

/**
 * The write side's accounting: which bytes were accepted, handed to the transport
 * ("emitted") and confirmed written, and which write requests that completes.
 *
 * One batch is in flight at a time: a write issued while the transport still owes a
 * `written()` waits in the outbox, and the whole outbox goes out as the next batch, small
 * writes coalesced into one chunk. That keeps many tiny writes from costing a transport
 * call each without delaying a write when the transport is idle. A clean close is the one
 * exception: it hands the outbox over at once behind the batch in flight ({@link flushAll}).
 */
export class WriteQueue {
  /** Bytes accepted and not yet confirmed written. */
  unflushed = 0;
  /** Bytes of the batch in flight not yet confirmed. */
  inFlight = 0;
  private outbox: Uint8Array[] = [];
  private outboxBytes = 0;
  // Pending write requests in order, slots head..tail-1: ids and the cumulative byte offset each
  // one ends at. The arrays are reused, never truncated (setting `length` costs a builtin call).
  private ids: number[] = [];
  private ends: number[] = [];
  private head = 0;
  private tail = 0;
  private accepted = 0;
  private confirmed = 0;

  constructor(private readonly alloc: Allocator) {}

  /** Records write `id` of `data`; returns a batch to hand to the transport now, if any. */
  add(id: number, data: Uint8Array): Uint8Array[] | undefined {
    this.accepted += data.length;
    this.unflushed += data.length;
    if (this.tail === this.ids.length) {
      this.ids.push(id);
      this.ends.push(this.accepted);
    } else {
      this.ids[this.tail] = id;
      this.ends[this.tail] = this.accepted;
    }
    this.tail++;
    if (data.length === 0) return undefined;
    if (this.inFlight === 0) {
      this.inFlight = data.length;
      return [data];
    }
    this.outbox.push(data);
    this.outboxBytes += data.length;
    return undefined;
  }

  /**
   * The id of the oldest write whose bytes are all confirmed (zero-length writes with nothing
   * ahead of them included), removed from the queue; 0 when there is none. Call until 0.
   */
  nextCompleted(): number {
    const head = this.head;
    if (head === this.tail || (this.ends[head] as number) > this.confirmed) return 0;
    const id = this.ids[head] as number;
    if (head + 1 === this.tail) {
      this.head = 0;
      this.tail = 0;
    } else {
      this.head = head + 1;
      if (this.head > 1024 && this.head * 2 > this.tail) this.compact();
    }
    return id;
  }

  private compact(): void {
    this.ids.copyWithin(0, this.head, this.tail);
    this.ends.copyWithin(0, this.head, this.tail);
    this.tail -= this.head;
    this.head = 0;
  }

  /** The transport took `n` more bytes of the batch in flight. Returns the next batch, if due. */
  written(n: number): Uint8Array[] | undefined {
    this.confirmed += n;
    this.unflushed -= n;
    this.inFlight -= n;
    if (this.inFlight > 0 || this.outboxBytes === 0) return undefined;
    const batch = this.coalesce();
    this.inFlight = this.outboxBytes;
    this.outbox = [];
    this.outboxBytes = 0;
    return batch;
  }

  /** Whether some write is not yet complete (its bytes not all confirmed). */
  get pending(): boolean {
    return this.head !== this.tail;
  }

  /**
   * Hands the whole outbox over now, as one more batch behind the one in flight (a clean close:
   * nothing will be written after it, so there is nothing to wait for). Returns the batch, if
   * the outbox held any bytes.
   */
  flushAll(): Uint8Array[] | undefined {
    if (this.outboxBytes === 0) return undefined;
    const batch = this.coalesce();
    this.inFlight += this.outboxBytes;
    this.outbox = [];
    this.outboxBytes = 0;
    return batch;
  }

  /** Ids of every write not yet complete, clearing the queue (the stream is closing). */
  drainAll(): number[] {
    const out = this.ids.slice(this.head, this.tail);
    this.head = 0;
    this.tail = 0;
    this.outbox = [];
    this.outboxBytes = 0;
    this.inFlight = 0;
    this.unflushed = 0;
    return out;
  }

  /** The outbox as a batch: runs of small writes joined into one chunk, large ones as they are. */
  private coalesce(): Uint8Array[] {
    const src = this.outbox;
    if (src.length === 1) return src;
    const out: Uint8Array[] = [];
    let runStart = 0;
    let runBytes = 0;
    const flushRun = (end: number): void => {
      if (end - runStart === 1) out.push(src[runStart] as Uint8Array);
      else if (end > runStart) {
        const joined = this.alloc(runBytes);
        let at = 0;
        for (let i = runStart; i < end; i++) {
          const c = src[i] as Uint8Array;
          joined.set(c, at);
          at += c.length;
        }
        out.push(joined);
      }
    };
    for (let i = 0; i < src.length; i++) {
      const c = src[i] as Uint8Array;
      if (c.length >= COALESCE_BELOW) {
        flushRun(i);
        out.push(c);
        runStart = i + 1;
        runBytes = 0;
      } else {
        runBytes += c.length;
      }
    }
    flushRun(src.length);
    return out;
  }
}
