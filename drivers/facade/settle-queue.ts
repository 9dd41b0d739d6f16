/**
 * The resolving functions of a stream's pending writes, oldest first. The core completes
 * accepted writes in the order they were issued, so settling is a pop from the head; only a
 * write refused at once (closed stream, `maxWriteBufferSize`) settles out of order, and is
 * searched for. Parallel arrays reused in place (no object per write, no Map), compacted like
 * the core's `WriteQueue` so a queue that never empties does not grow without bound.
 */
export class SettleQueue {
  private ids: number[] = [];
  private resolves: ((v: never) => void)[] = [];
  private rejects: ((e: unknown) => void)[] = [];
  private head = 0;
  private tail = 0;

  push(id: number, resolve: (v: never) => void, reject: (e: unknown) => void): void {
    const at = this.tail++;
    if (at === this.ids.length) {
      this.ids.push(id);
      this.resolves.push(resolve);
      this.rejects.push(reject);
    } else {
      this.ids[at] = id;
      this.resolves[at] = resolve;
      this.rejects[at] = reject;
    }
  }

  /** Settles request `id` (rejecting with `error` when given); ignores an id not queued here. */
  settle(id: number, error: Error | undefined): void {
    let at = this.head;
    while (at < this.tail && this.ids[at] !== id) at++;
    if (at === this.tail) return;
    const resolve = this.resolves[at] as () => void;
    const reject = this.rejects[at] as (e: unknown) => void;
    if (at === this.head) {
      this.clear(at);
      this.head++;
    } else {
      // Out of order (a refused write): close the gap, keeping the order of the rest.
      for (let i = at; i + 1 < this.tail; i++) {
        this.ids[i] = this.ids[i + 1] as number;
        this.resolves[i] = this.resolves[i + 1] as (v: never) => void;
        this.rejects[i] = this.rejects[i + 1] as (e: unknown) => void;
      }
      this.tail--;
      this.clear(this.tail);
    }
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
    } else if (this.head > 1024 && this.head * 2 > this.tail) {
      this.compact();
    }
    if (error !== undefined) reject(error);
    else resolve();
  }

  private compact(): void {
    const n = this.tail - this.head;
    this.ids.copyWithin(0, this.head, this.tail);
    this.resolves.copyWithin(0, this.head, this.tail);
    this.rejects.copyWithin(0, this.head, this.tail);
    for (let i = n; i < this.tail; i++) this.clear(i);
    this.head = 0;
    this.tail = n;
  }

  private clear(at: number): void {
    this.ids[at] = 0;
    this.resolves[at] = noop;
    this.rejects[at] = noop;
  }
}

const noop = (): void => {};
