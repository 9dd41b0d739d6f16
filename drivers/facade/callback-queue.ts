/**
 * Where the run starts: a microtask, through a resolved promise rather than `queueMicrotask`,
 * which on Node makes an `AsyncResource` and a bound function per call (`runInAsyncScope` shows
 * in a profile of the RESP example server).
 */
const RESOLVED = Promise.resolve();

/**
 * Tornado-4.4 read callbacks waiting to run, as (callback, value) pairs in one array, run back
 * to back from one microtask. A callback that starts a read the buffer can satisfy appends to
 * the queue being run, so a protocol loop over buffered data costs no promise and no microtask
 * per read, and no callback ever runs inside the call that started its read.
 */
export class CallbackQueue {
  private readonly q: unknown[] = [];
  private readonly runner = (): void => { this.run(); };

  /** @param onThrow - what a callback that throws does to its stream (close it with the error) */
  constructor(private readonly onThrow: (err: unknown) => void) {}

  /** Whether no callback waits or runs: one may then run at once without overtaking another. */
  get idle(): boolean {
    return this.q.length === 0;
  }

  /** Queues `callback(value)`; the first of a batch schedules the run. */
  push(callback: (v: never) => void, value: unknown): void {
    const q = this.q;
    q.push(callback, value);
    if (q.length === 2) void RESOLVED.then(this.runner);
  }

  private run(): void {
    const q = this.q;
    let i = 0;
    // One try around the loop, not one per callback: a callback that throws closes the stream
    // and the callbacks of reads already completed still run.
    while (i < q.length) {
      try {
        for (; i < q.length; i += 2) (q[i] as (v: unknown) => void)(q[i + 1]);
      } catch (err) {
        i += 2;
        this.onThrow(err);
      }
    }
    q.length = 0;
  }
}
