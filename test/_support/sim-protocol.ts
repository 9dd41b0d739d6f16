/**
 * The random protocol run by test/simulation.test.ts: a seeded plan (chunking, latency, one
 * fault, the frames the client sends), byte helpers, and `Side` — one end of the protocol, which
 * reads frames with randomly chosen kinds of read, records every request it issues and how it
 * settled, and injects the plan's abort. All choices come from seeded generators, so a failing
 * seed replays exactly.
 *
 * Longer than ~400 lines, on purpose: the plan, the frame codec and `Side` are one protocol,
 * and everything a seed decides has to be visible in one place to replay it.
 *
 * Frames (the server echoes each one back unchanged, except the final `Q`):
 *  - `L` + 4 hex digits (body length) + body          — length-prefixed, any byte values
 *  - `D` + body (no CR or LF) + `\r\n`                 — delimiter-terminated
 *  - `R` + body (no `#` or LF) + `#` + digits + `\n`   — regex-terminated (`/#\d+\n/`)
 *  - `Q`                                               — end: the server closes after its echoes
 */
import { StreamClosedError } from '../../core/errors.js';
import type { MemoryIOStream, SimLoop } from '../../drivers/memory/index.js';
import { seededRandom } from './harness.js';
import { concat } from '../../conformance/util.js';

export { concat };

export type Chunking = 'whole' | 'byte' | 'random';
export type Who = 'client' | 'server';

/** The one fault a seed injects. */
export type Fault =
  | { kind: 'none' }
  | { kind: 'reset'; after: number }
  | { kind: 'eof'; after: number }
  /** `who` calls close() after handling `frames` frames (server: echoed; client: read back). */
  | { kind: 'close-after'; who: Who; frames: number }
  /** `who` calls close() from a sim task `delay` virtual ms after the start. */
  | { kind: 'close-timed'; who: Who; delay: number }
  /** `who`'s read number `op` gets an AbortSignal, aborted at `when`. */
  | { kind: 'abort'; who: Who; op: number; when: 'sync' | 'micro' | 'task'; delay: number };

export interface Plan {
  seed: number;
  chunking: Chunking;
  latency: number;
  /** Small values force pause/resume of read-ahead all the time. */
  readChunkSize: number | undefined;
  fault: Fault;
  /** The frames the client sends, `Q` excluded. */
  frames: Uint8Array[];
  /** How the client reads the echoes: frame by frame, or one readUntilClose (maybe streaming). */
  clientMode: 'frames' | 'until-close' | 'until-close-streaming';
  /** Tight but sufficient: at least the longest frame, so no read may fail for it. */
  maxBufferSize: number | undefined;
  /**
   * Bytes the server sends before its echoes (the client reads them first). With it the server
   * can send more than it received, so a reset/EOF fault hits the client's direction too.
   */
  banner: Uint8Array;
}

/** A tiny seeded random source with the helpers the plan and both sides need. */
export class Rng {
  private readonly next: () => number;
  constructor(seed: number) { this.next = seededRandom(seed); }
  float(): number { return this.next(); }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(items: readonly T[]): T { return items[Math.floor(this.next() * items.length)] as T; }
}

const CR = 0x0d;
const LF = 0x0a;
const HASH = 0x23;
export const TYPE_L = 0x4c;
export const TYPE_D = 0x44;
export const TYPE_R = 0x52;
export const TYPE_Q = 0x51;

function body(rng: Rng, len: number, banned: readonly number[]): Uint8Array {
  const out = new Uint8Array(len);
  // Mostly printable bytes (so some frames go out as strings), sometimes any byte value.
  const binary = rng.chance(0.4);
  for (let i = 0; i < len; i++) {
    let b: number;
    do b = binary ? rng.int(0, 255) : rng.int(0x20, 0x7e); while (banned.includes(b));
    out[i] = b;
  }
  return out;
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function frame(rng: Rng, maxBody: number): Uint8Array {
  const len = rng.chance(0.15) ? 0 : rng.int(1, maxBody);
  switch (rng.int(0, 2)) {
    case 0: return concat([ascii(`L${len.toString(16).padStart(4, '0')}`), body(rng, len, [])]);
    case 1: return concat([ascii('D'), body(rng, len, [CR, LF]), ascii('\r\n')]);
    default: return concat([ascii('R'), body(rng, len, [HASH, LF]), ascii(`#${rng.int(0, 999)}\n`)]);
  }
}

/** The plan of one seed. */
export function makePlan(seed: number): Plan {
  const rng = new Rng((seed * 0x9e3779b1) ^ 0x5bd1e995);
  const chunking = rng.pick(['whole', 'byte', 'random'] as const);
  const latency = rng.pick([0, 0, 1, 2, 5]);
  const readChunkSize = rng.chance(0.4) ? rng.int(1, 48) : undefined;
  // A few KB at most per seed: byte chunking costs one simulated task per byte.
  const maxBody = chunking === 'byte' ? 24 : rng.pick([16, 64, 300]);
  const frames: Uint8Array[] = [];
  for (let i = rng.int(1, 8); i > 0; i--) frames.push(frame(rng, maxBody));
  const total = frames.reduce((n, f) => n + f.length, 0) + 1; // + Q
  const who = rng.pick(['client', 'server'] as const);
  let fault: Fault;
  switch (rng.int(0, 6)) {
    case 0: fault = { kind: 'none' }; break;
    case 1: fault = { kind: 'reset', after: rng.int(0, total + 2) }; break;
    case 2: fault = { kind: 'eof', after: rng.int(0, total + 2) }; break;
    case 3: fault = { kind: 'close-after', who, frames: rng.int(0, frames.length) }; break;
    case 4: fault = { kind: 'close-timed', who, delay: rng.int(0, latency * 12 + 2) }; break;
    default:
      fault = { kind: 'abort', who, op: rng.int(0, 5), when: rng.pick(['sync', 'micro', 'task'] as const),
        delay: rng.int(0, latency * 3 + 1) };
  }
  const clientMode = rng.pick(['frames', 'frames', 'until-close', 'until-close-streaming'] as const);
  // A plain readUntilClose needs every echo buffered at once, so it keeps the default limit.
  const longest = frames.reduce((n, f) => Math.max(n, f.length), 1);
  const maxBufferSize = clientMode !== 'until-close' && rng.chance(0.3) ? longest + rng.int(0, 8) : undefined;
  const banner = rng.chance(0.5) ? body(rng, rng.int(1, 40), []) : new Uint8Array(0);
  // The client reads the banner in one piece too.
  const limit = maxBufferSize === undefined ? undefined : maxBufferSize + Math.max(0, banner.length - longest);
  return { seed, chunking, latency, readChunkSize, fault, frames, clientMode, maxBufferSize: limit, banner };
}

/** Bytes of the complete frames that fit in the first `n` bytes of `frames`. */
export function completeFramesWithin(frames: readonly Uint8Array[], n: number): number {
  let used = 0;
  let count = 0;
  for (const f of frames) {
    if (used + f.length > n) break;
    used += f.length;
    count++;
  }
  return count;
}

export function isPrefix(prefix: Uint8Array, of: Uint8Array): boolean {
  if (prefix.length > of.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== of[i]) return false;
  return true;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && isPrefix(a, b);
}

/** FNV-1a, for compact traces. */
export function hash(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return (h >>> 0).toString(16);
}

/** Latin1 text of bytes known to be ASCII (for string writes). */
export function asciiText(bytes: Uint8Array): string | null {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b >= 0x80) return null;
    s += String.fromCharCode(b);
  }
  return s;
}

export function describePlan(p: Plan): string {
  const f = p.fault;
  const fault = f.kind === 'none' ? 'none'
    : f.kind === 'reset' || f.kind === 'eof' ? `${f.kind} after ${f.after}`
    : f.kind === 'close-after' ? `${f.who} closes after ${f.frames} frames`
    : f.kind === 'close-timed' ? `${f.who} closes at t=${f.delay}`
    : `${f.who} aborts read #${f.op} (${f.when}, delay ${f.delay})`;
  const bytes = p.frames.reduce((n, x) => n + x.length, 0);
  return `chunking=${p.chunking} latency=${p.latency} banner=${p.banner.length} readChunkSize=${String(p.readChunkSize)} ` +
    `maxBufferSize=${String(p.maxBufferSize)} ` +
    `frames=${p.frames.length} (${bytes} B) client=${p.clientMode} fault: ${fault}`;
}

// ---------------------------------------------------------------- one end of the protocol

/** What `Side.read` resolves with when the plan's abort landed: the caller retries. */
export const ABORTED = Symbol('aborted');
/** What the runs exercised (counted over every run), printed so a vacuous setup shows. */
export const coverage = new Map<string, number>();
export const count = (what: string): void => { coverage.set(what, (coverage.get(what) ?? 0) + 1); };
export const Q_FRAME = Uint8Array.of(TYPE_Q);
const D_DELIM = Uint8Array.of(0x0d, 0x0a);
const R_REGEX = /#\d+\n/;
const R_REGEX_GLOBAL = /#\d+\n/g;

export interface Req {
  label: string;
  /** Issued while the stream was open: must settle before its close callback. */
  issuedOpen: boolean;
  settled: number;
  settledAt: number;
  resolved: boolean;
  /** Tornado-style write callback: must run exactly once iff the write resolved. */
  hasCallback: boolean;
  callbackCalls: number;
}

/** The shared record of one run: the trace (with virtual time) and what went wrong. */
export class Run {
  readonly events: string[] = [];
  readonly failures: string[] = [];
  constructor(readonly plan: Plan, readonly sim: SimLoop) {}
  log(who: Who, what: string): void { this.events.push(`${this.sim.now}|${who}|${what}`); }
  fail(msg: string): void { this.failures.push(msg); }
}

export function describeError(e: unknown): string {
  if (e instanceof StreamClosedError) {
    const real = e.realError as (Error & { code?: unknown }) | undefined;
    return `StreamClosedError(${real === undefined ? '-' : `${real.name}:${String(real.code)}`})`;
  }
  return e instanceof Error ? `${e.name}:${e.message}` : String(e);
}

/** One end of the protocol: its stream, its random choices, and everything it observed. */
export class Side {
  readonly reqs: Req[] = [];
  /** Every byte its reads took off the stream, in order. */
  readonly consumed: Uint8Array[] = [];
  /** Complete frames it parsed (server: requests; client: echoes). */
  readonly frames: Uint8Array[] = [];
  readonly writes: Promise<void>[] = [];
  sawQ = false;
  /** Complete units (banner, frames) parsed so far, and their bytes. */
  unitsDone = 0;
  parsedBytes = 0;
  /** Its reads stopped on a closed stream before the protocol was done. */
  stopped = false;
  /** What was still buffered once its reads stopped on a closed stream (see `drainLeftover`). */
  leftover: Uint8Array = new Uint8Array(0);
  closeCallbackCalls = 0;
  closeCallbackAt = -1;
  private readOps = 0;
  private abortLanded = false;
  /** Callback reads not called back yet: failed when the close callback comes first. */
  private readonly callbackWaiters = new Set<(e: unknown) => void>();

  constructor(readonly who: Who, readonly stream: MemoryIOStream, readonly rng: Rng, readonly run: Run) {
    stream.setCloseCallback(() => {
      this.closeCallbackCalls++;
      this.closeCallbackAt = run.events.length;
      this.log(`close-callback error=${describeError(stream.error ?? 'null')}`);
      for (const fail of [...this.callbackWaiters]) fail(new StreamClosedError(stream.error));
    });
  }

  log(what: string): void { this.run.log(this.who, what); }
  fail(what: string): void { this.run.fail(`${this.who}: ${what}`); }

  close(why: string): void {
    this.log(`close() (${why})`);
    this.stream.close();
  }

  /** Starts a request and records its settlement (the first handler attached to it). */
  track<T>(label: string, start: (req: Req) => Promise<T>, isAbortable = false): Promise<T> {
    const req: Req = { label, issuedOpen: !this.stream.closed(), settled: 0, settledAt: -1, resolved: false,
      hasCallback: false, callbackCalls: 0 };
    this.reqs.push(req);
    const p = start(req);
    p.then((v) => {
      req.settled++;
      req.resolved = true;
      req.settledAt = this.run.events.length;
      this.log(`${label} ok ${v instanceof Uint8Array ? `${v.length}:${hash(v)}` : String(v)}`);
    }, (e: unknown) => {
      req.settled++;
      req.settledAt = this.run.events.length;
      this.log(`${label} err ${describeError(e)}`);
      if (isAbortable && e instanceof Error && e.message.startsWith('sim abort')) return;
      if (!(e instanceof StreamClosedError)) this.fail(`${label} rejected with ${describeError(e)}, not StreamClosedError`);
      else if (e.realError !== (this.stream.error ?? undefined)) {
        this.fail(`${label}: realError ${describeError(e.realError)} is not the stream's error ${describeError(this.stream.error)}`);
      }
    });
    return p;
  }

  /**
   * A read. Under an abort fault, from read number `fault.op` on, each read that goes pending
   * gets aborted (at `fault.when`) until one abort lands; ABORTED then means: retry.
   */
  async read<T>(label: string, start: (signal: AbortSignal | undefined) => Promise<T>): Promise<T | typeof ABORTED> {
    const op = this.readOps++;
    const f = this.run.plan.fault;
    if (f.kind !== 'abort' || f.who !== this.who || op < f.op || this.abortLanded) {
      return this.track(label, () => start(undefined));
    }
    const ac = new AbortController();
    const reason = new Error(`sim abort #${op}`);
    const p = this.track(`${label} [abortable]`, () => start(ac.signal), true);
    if (this.stream.reading()) {
      const abort = (): void => {
        this.log(`abort read #${op} (reading=${String(this.stream.reading())})`);
        ac.abort(reason);
      };
      if (f.when === 'sync') abort();
      else if (f.when === 'micro') queueMicrotask(abort);
      else this.run.sim.schedule(abort, f.delay);
    }
    try {
      return await p;
    } catch (e) {
      if (e !== reason) throw e;
      this.abortLanded = true;
      count('abort hit a pending read');
      return ABORTED;
    }
  }

  /**
   * A Tornado-4.4 callback read as a promise, for `read()`: resolves when the callback runs;
   * rejects with the abort reason when the abort lands on the pending read (the callback is
   * then never called), or with the stream's close as a rejected read would, when the close
   * callback comes first (a failed callback read only closes the stream).
   */
  private viaCallback(signal: AbortSignal | undefined, start: (cb: (v: Uint8Array) => void) => unknown,
    onCall: (v: Uint8Array) => void): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      const fail = (e: unknown): void => { this.callbackWaiters.delete(fail); reject(e); };
      this.callbackWaiters.add(fail);
      // Registered before the stream's own listener: a read still pending now is about to be
      // aborted; one that completed already (its callback queued) is not.
      signal?.addEventListener('abort', () => { if (this.stream.reading()) fail(signal.reason); }, { once: true });
      const returned = start((v) => {
        onCall(v);
        this.callbackWaiters.delete(fail);
        resolve(v);
      });
      if (returned !== undefined) this.fail('a read given a callback returned something');
    });
  }

  /** A complete unit (banner or frame) was parsed. */
  parsed(unit: Uint8Array): void {
    this.unitsDone++;
    this.parsedBytes += unit.length;
  }

  private took(bytes: Uint8Array): Uint8Array {
    this.consumed.push(bytes.slice());
    return bytes;
  }

  /** Exactly `n` bytes, by a randomly chosen kind of read. */
  async readExact(n: number): Promise<Uint8Array> {
    const s = this.stream;
    const sig = (signal: AbortSignal | undefined): { signal?: AbortSignal } => (signal ? { signal } : {});
    const mode = this.rng.pick(n === 0 ? ['bytes', 'partial', 'streaming'] as const
      : ['bytes', 'partial', 'into', 'into-partial', 'streaming'] as const);
    switch (mode) {
      case 'bytes': for (;;) {
        // Sometimes Tornado-4.4 style too: the callback must get the same bytes, once, later.
        const withCallback = this.rng.chance(0.3);
        let calls = 0;
        let seen: Uint8Array | null = null;
        const r = await this.read(`readBytes(${n}${withCallback ? ', callback' : ''})`, (g) => (withCallback
          ? this.viaCallback(g, (callback) => s.readBytes(n, { ...sig(g), callback }), (v) => { calls++; seen = v; })
          : s.readBytes(n, sig(g))));
        if (withCallback) {
          await Promise.resolve();
          if (calls !== (r === ABORTED ? 0 : 1) || (r !== ABORTED && seen !== r)) {
            this.fail(`readBytes callback ran ${calls} times (result ${r === ABORTED ? 'aborted' : 'resolved'})`);
          }
        }
        if (r === ABORTED) continue;
        if (r.length !== n) this.fail(`readBytes(${n}) gave ${r.length} bytes`);
        return this.took(r);
      }
      case 'partial': {
        const parts: Uint8Array[] = [];
        let got = 0;
        do {
          const want = n - got;
          const r = await this.read(`readBytes(${want}, partial)`, (g) => s.readBytes(want, { partial: true, ...sig(g) }));
          if (r === ABORTED) continue;
          if (r.length > want || (r.length === 0 && want > 0)) this.fail(`partial readBytes(${want}) gave ${r.length}`);
          parts.push(this.took(r));
          got += r.length;
        } while (got < n);
        return concat(parts);
      }
      case 'into':
      case 'into-partial': {
        const buf = new Uint8Array(n);
        let got = 0;
        while (got < n) {
          const view = buf.subarray(got);
          const partial = mode === 'into-partial';
          const r = await this.read(`readInto(${view.length}${partial ? ', partial' : ''})`,
            (g) => s.readInto(view, { partial, ...sig(g) }));
          if (r === ABORTED) continue;
          if (r < 1 || r > view.length || (!partial && r !== view.length)) this.fail(`readInto(${view.length}) gave ${r}`);
          this.took(view.subarray(0, r));
          got += r;
        }
        return buf;
      }
      case 'streaming': {
        const chunks: Uint8Array[] = [];
        let got = 0;
        for (;;) {
          const want = n - got;
          const r = await this.read(`readBytes(${want}, streaming)`, (g) => s.readBytes(want, {
            streamingCallback: (c) => {
              this.log(`chunk ${c.length}`);
              if (this.closeCallbackCalls > 0) this.fail('streaming chunk after the close callback');
              chunks.push(this.took(c).slice());
              got += c.length;
            },
            ...sig(g),
          }));
          if (r === ABORTED) continue;
          if (r.length !== 0) this.fail(`streaming readBytes resolved with ${r.length} bytes, not 0`);
          if (got !== n) this.fail(`streaming readBytes(${n}) streamed ${got} bytes`);
          return concat(chunks);
        }
      }
    }
  }

  /** Up to and including the terminator of a D or R frame (`expected`: the whole frame, if known). */
  async readTerminated(type: number, expected: Uint8Array | undefined): Promise<Uint8Array> {
    const s = this.stream;
    const exact = expected !== undefined && expected[0] === type ? expected.length - 1 : undefined;
    const maxBytes = exact !== undefined && this.rng.chance(0.4) ? exact + this.rng.int(0, 2) : undefined;
    const opts = (g: AbortSignal | undefined): { signal?: AbortSignal; maxBytes?: number } => ({
      ...(g ? { signal: g } : {}), ...(maxBytes !== undefined ? { maxBytes } : {}),
    });
    const how = this.rng.int(0, 2);
    for (;;) {
      let r: Uint8Array | typeof ABORTED;
      if (type === TYPE_D) {
        r = how === 0 ? await this.read(`readUntil(CRLF, ${String(maxBytes)})`, (g) => s.readUntil('\r\n', opts(g)))
          : how === 1 ? await this.read(`readUntil(bytes CRLF, ${String(maxBytes)})`, (g) => s.readUntil(D_DELIM, opts(g)))
          : await this.read(`readUntilRegex(/\\r\\n/, ${String(maxBytes)})`, (g) => s.readUntilRegex(/\r\n/, opts(g)));
      } else {
        const regex = how === 0 ? R_REGEX : how === 1 ? R_REGEX_GLOBAL : '#[0-9]+\\n';
        r = await this.read(`readUntilRegex(${String(regex)}, ${String(maxBytes)})`, (g) => s.readUntilRegex(regex, opts(g)));
      }
      if (r !== ABORTED) return this.took(r);
    }
  }

  /** One frame, or 'Q'. Throws StreamClosedError when the stream ends first. */
  async readFrame(expected: Uint8Array | undefined): Promise<Uint8Array | 'Q'> {
    const t = await this.readExact(1);
    switch (t[0]) {
      case TYPE_Q: return 'Q';
      case TYPE_L: {
        const header = await this.readExact(4);
        const n = Number.parseInt(String.fromCharCode(...header), 16);
        if (!Number.isInteger(n)) throw new Error(`protocol desync: bad length header ${hash(header)}`);
        return concat([t, header, await this.readExact(n)]);
      }
      case TYPE_D:
      case TYPE_R:
        return concat([t, await this.readTerminated(t[0], expected)]);
      default:
        throw new Error(`protocol desync: type byte ${String(t[0])}`);
    }
  }

  /**
   * After the stream closed under a stopped protocol: takes what is still buffered (reads on a
   * closed stream are served from the buffer), so the caller can check nothing was lost.
   */
  async drainLeftover(): Promise<void> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const r = await this.track('leftover readBytes(65536, partial)', () => this.stream.readBytes(65536, { partial: true }))
        .catch(() => null);
      if (r === null || r.length === 0) break;
      parts.push(r.slice());
    }
    this.leftover = concat(parts);
  }

  /** Writes `data` in 1..3 pieces (some as strings, some with a callback), awaiting some of them. */
  async send(data: Uint8Array): Promise<void> {
    const cuts = [0, data.length];
    for (let i = this.rng.int(0, 2); i > 0; i--) cuts.push(this.rng.int(0, data.length));
    cuts.sort((a, b) => a - b);
    for (let i = 0; i + 1 < cuts.length; i++) {
      const piece = data.subarray(cuts[i], cuts[i + 1]);
      const text = this.rng.chance(0.2) ? asciiText(piece) : null;
      const withCallback = this.rng.chance(0.25);
      const p = this.track(`write(${piece.length}${text !== null ? ', string' : ''})`, (req) => {
        req.hasCallback = withCallback;
        return this.stream.write(text ?? piece, withCallback ? () => { req.callbackCalls++; } : undefined);
      });
      this.writes.push(p);
      if (this.rng.chance(0.5)) await p;
    }
  }
}
