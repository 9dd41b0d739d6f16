/**
 * The receive path of `IOStream` through reused memory: sockets read into **one 64 KiB buffer
 * per process** (per event loop: a worker has its own), with Node's `onread` option, and hand
 * the stream a view valid only during the call (`TransportSink.receiveTransient`), which copies
 * what it keeps — straight into a pending `readInto` target where there is one.
 *
 * Why: bulk receive on Node is bounded by touching fresh memory, not by system calls. `'data'`
 * gives every read a new buffer, and memory the GC has not recycled yet costs page faults and
 * zeroing (about 80 µs per 64 KiB on the bench machine); reading into memory that is reused
 * stays warm and is 2-3x faster (bench/README.md, W1). Sharing one buffer is safe because a read
 * is handled synchronously: libuv reads into it and calls back at once, and the stream copies out
 * before returning; nothing else runs in between. 10,000 idle streams cost no buffer at all.
 *
 * Two ways in, and the fallback:
 * - **Sockets the driver creates** (`IOStream.connect`): `new net.Socket({ onread })`, public
 *   since Node 12 ({@link createReceivingSocket}).
 * - **Sockets it is given** (`new IOStream(socket)`, so every socket `TCPServer` accepts) start
 *   on `'data'` and move when the stream's first `readInto` waits for bytes
 *   ({@link switchToSharedBuffer} says why not at once). `net.Server` has no `onread` option, so
 *   {@link adoptSocket} switches an existing socket with what Node's own `onread` constructor
 *   code sets up: the socket's private `kBuffer`, `kBufferCb` and `kBufferGen` slots (found by
 *   their symbol descriptions) and its handle's `useUserBuffer()`. It does that only when every
 *   piece is there and nothing waits in the socket's readable buffer, with the handle stopped
 *   while it switches (between two reads: JavaScript runs no read in between), and it is checked
 *   on Node 20, 22, 24 and 26 (test/net-receive.test.ts, test:runtimes). Anything missing or
 *   unexpected — another runtime's `node:net`, a future Node — leaves the socket on `'data'`
 *   events, which is always correct.
 * - **Other runtimes** use `'data'`: Bun's `onread` hands over its own chunk, ignores the buffer
 *   function and `return false` (oven-sh/bun#33382), and Deno's `node:net` is its own code; a
 *   stream there is never switched, so nothing can be read out of a buffer that was not filled.
 *
 * Flow control is unchanged: `pause()`/`resume()` on an `onread` socket stop and start the
 * handle itself (Node's `Socket#pause` does `readStop` when `kBuffer` is set), so read-ahead still
 * stops within one read (≤ 64 KiB) of `readChunkSize`, as with `'data'`.
 */
import * as net from 'node:net';

/** Bytes per socket read, and the size of the one receive buffer. Node's `'data'` reads 64 KiB too. */
export const RECEIVE_BUFFER_SIZE = 65536;

/** Who a socket's reads go to: the transport, called with the bytes' view (valid during the call). */
export interface ReusedReceiver {
  /** `nread` bytes arrived at the start of `buffer` (the shared receive buffer). */
  receivedInto(nread: number, buffer: Buffer): void;
}

/**
 * Which path sockets use: `auto` (default) — created sockets with `onread` from the start, given
 * sockets on `'data'` until their first pending `readInto`, then adopted where possible;
 * `eager` — given sockets adopted as soon as they attach; `created` — `onread` only on sockets
 * the driver creates; `data` — `'data'` events everywhere. For tests and measurements; not
 * exported from the package.
 */
export type ReceiveMode = 'auto' | 'eager' | 'created' | 'data';

/** Node itself: Bun and Deno also set `process.versions.node`, so they are ruled out by name. */
const isNode = typeof (process.versions as { bun?: string }).bun !== 'string'
  && typeof (globalThis as { Deno?: unknown }).Deno === 'undefined'
  && process.release?.name === 'node';

let mode: ReceiveMode = 'auto';
let shared: Buffer | null = null;
/** Each socket on this path and who gets its reads (a WeakMap: a socket's entry goes with it). */
const receivers = new WeakMap<net.Socket, ReusedReceiver>();
/** The receiver of a created socket before its transport attaches. */
const UNATTACHED: ReusedReceiver = { receivedInto: () => {} };

/** Sets the {@link ReceiveMode} for sockets attached from now on (tests and benchmarks). */
export function setReceiveMode(next: ReceiveMode): void {
  mode = next;
}

/** The current {@link ReceiveMode}. */
export function receiveMode(): ReceiveMode {
  return mode;
}

/** The process's one receive buffer (made on first use: a process that never reads needs none). */
function receiveBuffer(): Buffer {
  return (shared ??= Buffer.allocUnsafeSlow(RECEIVE_BUFFER_SIZE));
}

/**
 * The one `onread` callback of every socket on this path; Node calls it with the socket as
 * `this`. A socket whose stream has not attached yet (or that nobody owns any more) gets its
 * reads stopped: the bytes of that one read are dropped, which happens only on a socket whose
 * stream closed before it connected.
 */
function relay(this: net.Socket, nread: number, buffer: Buffer): boolean {
  const receiver = receivers.get(this);
  if (receiver === undefined || receiver === UNATTACHED) return false;
  receiver.receivedInto(nread, buffer);
  return true;
}

/**
 * A new unconnected socket for `IOStream.connect`: with `onread` into the receive buffer when
 * this runtime is Node and the mode allows, a plain `net.Socket` otherwise.
 */
export function createReceivingSocket(): net.Socket {
  if (!isNode || mode === 'data') return new net.Socket();
  // `onread` is a documented `new net.Socket()` option (Node's docs; @types/node 20 lists it only
  // for `net.connect`).
  const onread = { buffer: receiveBuffer(), callback: relay };
  const socket = new net.Socket({ onread } as net.SocketConstructorOpts);
  // Registered with no receiver yet: `relay` stops reads until the transport takes over.
  receivers.set(socket, UNATTACHED);
  return socket;
}

/** The private pieces of Node's `onread` support, found once (they are the same for every socket). */
interface OnreadSlots { buffer: symbol; callback: symbol; generator: symbol }
let slots: OnreadSlots | null | undefined;

function onreadSlots(socket: net.Socket): OnreadSlots | null {
  if (slots !== undefined) return slots;
  const found: Partial<Record<'kBuffer' | 'kBufferCb' | 'kBufferGen', symbol>> = {};
  for (const s of Object.getOwnPropertySymbols(socket)) {
    const d = s.description;
    if (d === 'kBuffer' || d === 'kBufferCb' || d === 'kBufferGen') found[d] = s;
  }
  slots = found.kBuffer !== undefined && found.kBufferCb !== undefined && found.kBufferGen !== undefined
    ? { buffer: found.kBuffer, callback: found.kBufferCb, generator: found.kBufferGen }
    : null;
  return slots;
}

/** The part of a socket's native handle this uses (private to Node; checked before each use). */
interface StreamHandle {
  reading?: boolean;
  readStop?: () => number;
  useUserBuffer?: (buffer: Uint8Array) => void;
}

/**
 * Switches `socket` (connected, nothing read into its readable buffer yet) to `onread` into the
 * receive buffer, the way Node's constructor does for the `onread` option. Returns false, with
 * the socket untouched, when anything it needs is missing or the socket is not in that state.
 */
function adoptSocket(socket: net.Socket): boolean {
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  if (handle == null || typeof handle.useUserBuffer !== 'function' || typeof handle.readStop !== 'function') return false;
  const k = onreadSlots(socket);
  if (k === null) return false;
  const s = socket as unknown as Record<symbol, unknown>;
  // Already on onread (the user's own, or ours), or something it has read is waiting: leave it.
  if (s[k.buffer] !== null || s[k.callback] !== null || s[k.generator] !== null) return false;
  if (socket.readableLength > 0 || socket.connecting || socket.destroyed || socket.readableEnded) return false;
  if (handle.reading === true) {
    // Reading was started (the constructor's read(0)) but nothing came yet: stop while switching.
    if (handle.readStop() !== 0) return false;
    handle.reading = false;
  }
  const buffer = receiveBuffer();
  handle.useUserBuffer(buffer);
  s[k.buffer] = buffer;
  s[k.callback] = relay;
  return true;
}

/**
 * When a socket attaches: puts its reads on the reused receive buffer, delivered to `receiver`,
 * and returns true; or returns false and leaves it on `'data'` events. A socket made by
 * {@link createReceivingSocket} is on it already; another is adopted now only in `eager` mode
 * (by default it waits for {@link switchToSharedBuffer}).
 */
export function receiveThroughSharedBuffer(socket: net.Socket, receiver: ReusedReceiver): boolean {
  if (!isNode) return false;
  if (!receivers.has(socket) && (mode !== 'eager' || !adoptSocket(socket))) return false;
  receivers.set(socket, receiver);
  return true;
}

/**
 * A `readInto` is pending on a given socket that is still on `'data'`: adopts it now (`auto`
 * and `eager` modes), delivering to `receiver`, and returns true; false leaves it on `'data'`
 * (a later call may succeed: Node's readable may hold bytes now and none later).
 *
 * Why not at once: results of the other reads must be fresh memory anyway, and for them
 * `'data'` (Node allocates each read's buffer itself) measured no worse, while a copy out of the
 * shared buffer into memory allocated from JavaScript measured up to 2x the page faults on an
 * accepted socket (V8 pretenured the short-lived results: `--no-allocation-site-pretenuring`
 * removed the difference). So a stream moves to the shared buffer when it starts bulk reads
 * into its own buffer, and an idle server stream stays exactly as it was.
 */
export function switchToSharedBuffer(socket: net.Socket, receiver: ReusedReceiver): boolean {
  if (!isNode || (mode !== 'auto' && mode !== 'eager') || receivers.has(socket) || !adoptSocket(socket)) return false;
  receivers.set(socket, receiver);
  return true;
}

/** Whether `buffer` is the receive buffer (what Node hands `onread`; a runtime's own chunk is not). */
export function isReceiveBuffer(buffer: unknown): boolean {
  return shared !== null && buffer === shared;
}
