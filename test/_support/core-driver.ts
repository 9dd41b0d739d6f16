/**
 * Drives a {@link StreamCore} directly, the way a transport driver would, but with input split
 * on purpose: whole, one byte at a time, or at seeded random points. Every action is drained
 * into a readable trace and checked against the core's lifecycle invariants (each request
 * settles once; `close-with-error` then `closed`, once; after `closed` only settlements of
 * requests issued after the close).
 */
import { StreamClosedError, StreamCore, type Action, type StreamCoreOptions } from '../../core/index.js';
import { seededRandom, test, type Test } from './harness.js';

/** How queued input is split into `receive()` calls. */
export interface Chunking {
  readonly name: string;
  split(bytes: Uint8Array): Uint8Array[];
  /**
   * Deliver each piece with `receiveTransient` from one reused buffer, overwritten right after
   * the call (what a driver receiving with Node's `onread` does): a result that kept a reference
   * into it instead of a copy shows up as changed bytes.
   */
  readonly transient?: boolean;
}

/** A seed for random splits: `SEED=n` replays one, otherwise a fresh one per run. */
export const SEED = process.env.SEED !== undefined ? Number(process.env.SEED) : Math.floor(Math.random() * 2 ** 31);

export function randomChunking(seed: number, maxPiece = 7): Chunking {
  const rnd = seededRandom(seed);
  return {
    name: `random splits (seed ${seed})`,
    split(bytes) {
      const out: Uint8Array[] = [];
      for (let at = 0; at < bytes.length;) {
        const n = 1 + Math.floor(rnd() * maxPiece);
        out.push(bytes.slice(at, at + n));
        at += n;
      }
      return out;
    },
  };
}

export const WHOLE: Chunking = { name: 'whole', split: (b) => (b.length > 0 ? [b.slice()] : []) };
export const BYTE: Chunking = {
  name: 'byte-at-a-time',
  split: (b) => Array.from(b, (x) => Uint8Array.of(x)),
};

/** {@link randomChunking} delivered through one reused, overwritten buffer (`receiveTransient`). */
export function transientChunking(seed: number): Chunking {
  const random = randomChunking(seed);
  return { name: `random splits, transient (seed ${seed})`, split: (b) => random.split(b), transient: true };
}

/** The four ways every core test runs. */
export function chunkings(seed = SEED): Chunking[] {
  return [WHOLE, BYTE, randomChunking(seed), transientChunking(seed + 1)];
}

/** Registers `body` once per chunking; the chunking (and its seed) is in the test name. */
export function eachChunking(name: string, body: (t: Test, ch: Chunking) => void | Promise<void>): void {
  for (const ch of chunkings()) test(`${name} [${ch.name}]`, async (t) => { await body(t, ch); });
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const latin1 = (b: Uint8Array): string => String.fromCharCode(...b);

export interface Settlement { value?: Uint8Array | number; error?: Error }

export class CoreDriver {
  readonly core: StreamCore;
  /** Every action drained, in order. */
  readonly actions: Action[] = [];
  /** Settled requests by id. */
  readonly settled = new Map<number, Settlement>();
  /** `stream-chunk` data by request id, in order. */
  readonly streamed = new Map<number, Uint8Array[]>();
  /** Received chunks, for zero-copy checks. */
  readonly received: Uint8Array[] = [];
  /** Bytes handed to `receive()` so far. */
  fed = 0;
  private input: Uint8Array[] = [];
  /** The reused receive buffer of a transient chunking. */
  private scratch = new Uint8Array(0);
  /** Highest request id issued before the close, -1 while open. */
  private idsAtClose = -1;
  private closedSeen = false;
  private maxId = 0;
  /** Broken lifecycle invariants seen so far (empty when all is well). */
  readonly violations: string[] = [];

  constructor(readonly chunking: Chunking = WHOLE, options: StreamCoreOptions = {}) {
    this.core = new StreamCore(options);
    this.drain();
  }

  /** Queues bytes (a string is latin1) to be received later, split by the chunking. */
  queue(data: Uint8Array | string): this {
    const bytes = typeof data === 'string' ? Uint8Array.from(data, (c) => c.charCodeAt(0)) : data;
    this.input.push(...this.chunking.split(bytes));
    return this;
  }

  get queuedChunks(): number { return this.input.length; }

  /** Receives the next `k` queued chunks; returns how many there were. */
  feed(k = 1): number {
    let n = 0;
    for (; n < k && this.input.length > 0; n++) this.receive(this.input.shift() as Uint8Array);
    return n;
  }

  feedAll(): void { this.feed(Infinity); }

  /** Receives `chunk` as given (bypassing the chunking's split; a transient chunking copies it first). */
  receive(chunk: Uint8Array): void {
    this.received.push(chunk);
    this.fed += chunk.length;
    if (this.chunking.transient === true) {
      if (this.scratch.length < chunk.length) this.scratch = new Uint8Array(Math.max(64, chunk.length));
      const view = this.scratch.subarray(0, chunk.length);
      view.set(chunk);
      this.core.receiveTransient(view);
      view.fill(0xa5);
    } else {
      this.core.receive(chunk);
    }
    this.drain();
  }

  /** Feeds chunks until request `id` settles or the input runs out. */
  until(id: number): Settlement | undefined {
    this.note(id);
    this.drain();
    while (!this.settled.has(id) && this.feed(1) > 0) { /* keep feeding */ }
    return this.settled.get(id);
  }

  /** Records an id the test obtained from the core (for the after-close check). */
  note(id: number): number {
    if (id > this.maxId) this.maxId = id;
    return id;
  }

  eof(): void { this.core.receiveEof(); this.drain(); }
  error(err: Error): void { this.core.receiveError(err); this.drain(); }
  close(err?: Error): void { this.core.close(err); this.drain(); }

  /** Drains the core's actions, checking the lifecycle invariants as it goes. */
  drain(): void {
    for (let a = this.core.nextAction(); a !== undefined; a = this.core.nextAction()) {
      this.actions.push(a);
      if (this.closedSeen && !(a.type === 'resolve-request' && a.id > this.idsAtClose)) {
        this.violations.push(`${describe(a)} after 'closed'`);
      }
      switch (a.type) {
        case 'resolve-request': {
          if (this.settled.has(a.id)) this.violations.push(`request ${a.id} settled twice`);
          const s: Settlement = {};
          if (a.value !== undefined) s.value = a.value;
          if (a.error !== undefined) s.error = a.error;
          this.settled.set(a.id, s);
          break;
        }
        case 'stream-chunk': {
          const list = this.streamed.get(a.id) ?? [];
          list.push(a.data);
          this.streamed.set(a.id, list);
          break;
        }
        case 'close-with-error':
          if (this.idsAtClose >= 0) this.violations.push('close-with-error twice');
          // Ids come from one counter, so anything above the current ones was issued later.
          this.idsAtClose = Math.max(this.maxId, ...this.settled.keys(), this.core.pendingReadId);
          break;
        case 'closed':
          if (this.idsAtClose < 0) this.violations.push("'closed' before 'close-with-error'");
          if (this.closedSeen) this.violations.push("'closed' twice");
          this.closedSeen = true;
          break;
        default:
          break;
      }
    }
  }

  /** Actions as short strings, e.g. `want-read`, `resolve 3 "ab"`, `closed null`. */
  get trace(): string[] { return this.actions.map(describe); }

  /** Only the interest changes (`want-read` / `pause-read`), in order. */
  get interest(): string[] {
    return this.actions.filter((a) => a.type === 'want-read' || a.type === 'pause-read').map((a) => a.type);
  }

  /** Asserts no lifecycle invariant was broken. */
  checkInvariants(t: Test): void {
    t.deepEqual(this.violations, [], 'core lifecycle invariants hold');
  }

  /** The settled value of `id` as latin1 text (fails the test if it is not bytes). */
  text(t: Test, id: number): string | undefined {
    const s = this.settled.get(id);
    if (s === undefined) { t.fail(`request ${id} not settled`); return undefined; }
    if (s.error !== undefined) { t.fail(`request ${id} rejected: ${s.error.name}: ${s.error.message}`); return undefined; }
    if (!(s.value instanceof Uint8Array)) { t.fail(`request ${id} value is not bytes`); return undefined; }
    return latin1(s.value);
  }

  /** Concatenated `stream-chunk` data of `id` as latin1 text. */
  streamedText(id: number): string {
    return (this.streamed.get(id) ?? []).map(latin1).join('');
  }
}

function describe(a: Action): string {
  switch (a.type) {
    case 'resolve-request':
      if (a.error !== undefined) return `reject ${a.id} ${a.error.name}`;
      if (a.value instanceof Uint8Array) return `resolve ${a.id} ${JSON.stringify(latin1(a.value))}`;
      return `resolve ${a.id}${a.value === undefined ? '' : ` ${a.value}`}`;
    case 'stream-chunk': return `chunk ${a.id} ${JSON.stringify(latin1(a.data))}`;
    case 'write-these': return `write ${JSON.stringify(a.chunks.map(latin1))}`;
    case 'close-with-error':
    case 'closed': return `${a.type} ${a.error === null ? 'null' : a.error.name}`;
    default: return a.type;
  }
}

type ErrorClass = new (...args: never[]) => Error;

/** `s` is a rejection with StreamClosedError whose realError is an instance of `real` (or absent). */
export function isClosedError(t: Test, s: Settlement | undefined, real: ErrorClass | Error | undefined, what: string): void {
  if (!(s?.error instanceof StreamClosedError)) {
    t.fail(`${what}: expected StreamClosedError, got ${s === undefined ? 'nothing' : s.error ? s.error.name : 'a value'}`);
    return;
  }
  if (real === undefined) t.equal(s.error.realError, undefined, `${what}: StreamClosedError, no realError`);
  else if (real instanceof Error) t.equal(s.error.realError, real, `${what}: StreamClosedError with that very realError`);
  else t.ok(s.error.realError instanceof real, `${what}: StreamClosedError{realError: ${real.name}}`);
}
