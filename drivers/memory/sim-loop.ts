/**
 * `SimScheduler`: a deterministic, seeded scheduler with virtual time for in-memory streams.
 *
 * Tasks run in order of (virtual time, insertion), one per turn of the real event loop, so
 * every promise handler a task triggers has run before the next task starts. Nothing reads a
 * real clock or starts a real timer: the same seed and the same program give the same trace.
 */
import { macrotask } from '../facade/transport.js';
import { checkObject, describe } from '../../core/validate.js';
import { invalidArgType, outOfRange } from '../../core/errors.js';

/** A seeded PRNG (mulberry32): floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Task { at: number; seq: number; fn: () => void }

/** Options of a {@link SimLoop} (and of the loop behind each `memoryPair`). */
export interface SimSchedulerOptions {
  /** Seeds the loop's PRNG (chunk sizes of `random` chunking). Default 1. */
  seed?: number;
  /**
   * Run tasks by itself on the real event loop as they are scheduled (what `memoryPair` uses);
   * otherwise the owner drives it with `step()`/`run()`. Default false.
   */
  autorun?: boolean;
}

/**
 * The scheduler behind {@link SimLoop}: a queue of tasks ordered by (virtual time, insertion),
 * a virtual clock and the seeded PRNG.
 */
export class SimScheduler {
  /** Virtual time in ms. Advances only when a later task runs. */
  now = 0;
  /** The seed this loop was built with (print it with a failure: it replays the run). */
  readonly seed: number;
  /** The loop's PRNG: use it for any random choice that must replay with the seed. */
  readonly random: () => number;
  private queue: Task[] = [];
  private seq = 0;
  private readonly autorun: boolean;
  private autorunning = false;

  /** @throws TypeError when `seed` is not a number, RangeError when it is not a safe integer. */
  constructor(options: SimSchedulerOptions = {}) {
    checkObject(options, 'options', false);
    const seed = options.seed ?? 1;
    if (typeof seed !== 'number') throw invalidArgType(`seed must be a number, got ${describe(seed)}`);
    if (!Number.isSafeInteger(seed)) throw outOfRange(`seed must be a safe integer, got ${String(seed)}`);
    this.seed = seed;
    this.random = seededRandom(seed);
    this.autorun = options.autorun === true;
  }

  /** Tasks waiting to run. */
  get pending(): number { return this.queue.length; }

  /** Runs `fn` after `delay` virtual ms (after every task already due at that time). */
  schedule(fn: () => void, delay = 0): void {
    if (!(delay >= 0)) throw outOfRange(`delay must be >= 0, got ${String(delay)}`);
    const task: Task = { at: this.now + delay, seq: this.seq++, fn };
    // Binary search for the insertion point: (at, seq) order; new seq is the largest.
    const q = this.queue;
    let lo = 0;
    let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((q[mid] as Task).at <= task.at) lo = mid + 1;
      else hi = mid;
    }
    q.splice(lo, 0, task);
    if (this.autorun && !this.autorunning) {
      this.autorunning = true;
      macrotask(this.autoStep);
    }
  }

  /** Runs the next task, then lets promise handlers settle. Resolves false if there was none. */
  async step(): Promise<boolean> {
    // Handlers of promises settled before this call come first: they may schedule tasks, and
    // a task (a close callback) must not overtake them.
    await turn();
    if (!this.runOne()) return false;
    await turn();
    return true;
  }

  /**
   * Runs tasks until none is left (or `maxTasks` ran; an endless protocol would otherwise
   * never return). Resolves with the number of tasks run.
   */
  async run(maxTasks = Infinity): Promise<number> {
    await turn(); // as in step()
    let n = 0;
    while (n < maxTasks && this.runOne()) {
      n++;
      await turn();
    }
    return n;
  }

  private runOne(): boolean {
    const task = this.queue.shift();
    if (task === undefined) return false;
    if (task.at > this.now) this.now = task.at;
    task.fn();
    return true;
  }

  private readonly autoStep = (): void => {
    this.runOne();
    if (this.queue.length > 0) macrotask(this.autoStep);
    else this.autorunning = false;
  };
}

/** One turn of the real event loop: every queued promise handler runs before it ends. */
function turn(): Promise<void> {
  return new Promise((resolve) => { macrotask(resolve); });
}
