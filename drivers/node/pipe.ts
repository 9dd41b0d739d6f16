/**
 * `PipeIOStream`: Tornado's pipe stream over one end of a pipe/FIFO (an fd), over Node
 * Readable/Writable streams, or over a child process's stdout/stdin.
 *
 * How an fd is opened: a pipe end is non-blocking I/O, so it goes through `net.Socket({ fd })`
 * (libuv polls it) rather than `fs` streams, which expect blocking fds and would park a
 * thread-pool thread on every read (nodejs/node#3641, #23220). `net.Socket` must be told the
 * direction: without `readable: false` it starts reading at once, and libuv refuses to read a
 * write-only end (`ENOTCONN`), which destroys the socket and closes the fd. Node has no
 * `fcntl(F_GETFL)`, so the direction comes from the fd's access mode in `/proc/self/fdinfo`
 * on Linux and, elsewhere, from a zero-byte `write` probe (`EBADF` ⇒ read end); see
 * {@link detectDirection}.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { StreamClosedError, invalidArgType, invalidArgValue, outOfRange } from '../../core/errors.js';
import type { StreamOptions } from '../../core/options.js';
import { checkBoolean, checkObject, checkOptions } from '../../core/validate.js';
import { BaseIOStream } from '../facade/base-iostream.js';
import { codedError, nodeHooks } from './node-hooks.js';
import { NodeStreamTransport } from './stream-transport.js';

/** Which way bytes flow through a {@link PipeIOStream}. */
export type PipeDirection = 'read' | 'write' | 'both';

/** Options of `new PipeIOStream(fd, options)`. */
export interface PipeIOStreamOptions extends StreamOptions {
  /**
   * Use the fd in this direction only. Detected when omitted: a FIFO/pipe end is `read` or
   * `write` by its access mode (`both` for an `O_RDWR` FIFO on Linux), a Unix socket is `both`.
   * Asking for a direction the fd was not opened for throws a `TypeError`.
   */
  direction?: PipeDirection;
}

interface Ends { readable: Readable | null; writable: Writable | null; label: string }

// fromStreams/fromChild hand their streams to the constructor through this slot, so the
// public constructor keeps Tornado's `(fd, options)` shape.
let adopting: Ends | null = null;

/**
 * A buffered stream over one end of a pipe or FIFO, or over a pair of Node streams (a child
 * process's stdout and stdin). Reads resolve with `Buffer`.
 *
 * EOF on the read side is a clean close. Writing to a pipe whose reader is gone (a child that
 * exited) closes the stream with `StreamClosedError { realError }`, `realError.code === 'EPIPE'`.
 * A read on a stream without a read side, or a write on one without a write side, returns a
 * promise rejected with `StreamClosedError` whose `realError.code` is `'EBADF'` (what the OS
 * says to such a read or write); the stream itself stays open.
 */
export class PipeIOStream extends BaseIOStream<Buffer> {
  /** Which way this stream carries bytes. */
  readonly direction: PipeDirection;
  private readonly label: string;
  private readonly pipe: NodeStreamTransport;
  private writeEnded = false;

  /**
   * Opens `fd`, one end of a pipe or FIFO (or a Unix socket), as a stream. The stream owns
   * the fd from now on and closes it when it closes. Open a FIFO with `O_NONBLOCK` (a blocking
   * `open` waits for the other end), and open its read end before its write end.
   */
  constructor(fd: number, options: PipeIOStreamOptions = {}) {
    const adopted = adopting;
    adopting = null;
    checkObject(options, 'options', false);
    const { direction: wanted, ...streamOptions } = options;
    // The stream options first: a bad one must throw before the fd is probed.
    checkOptions(streamOptions);
    const direction = adopted === null ? detectDirection(fd, wanted) : directionOf(adopted);
    super(streamOptions, nodeHooks);
    this.direction = direction;
    let ends = adopted;
    if (ends === null) {
      let socket: net.Socket;
      try {
        socket = new net.Socket({ fd, readable: direction !== 'write', writable: direction !== 'read' });
      } catch (err) {
        this.close();
        throw invalidArgValue(`fd ${fd} cannot be opened as a pipe: ${(err as Error).message}`, err);
      }
      ends = {
        readable: direction === 'write' ? null : socket,
        writable: direction === 'read' ? null : socket,
        label: `fd ${fd}`,
      };
    }
    this.label = ends.label;
    if (direction === 'write') this.readRefusal = () => this.refusal('read');
    this.pipe = new NodeStreamTransport(ends.readable, ends.writable, this.sink);
    this.attachTransport(this.pipe);
  }

  /**
   * A stream over Node streams: bytes are read from `readable` and written to `writable`
   * (either may be omitted, not both; they may be the same Duplex). Both must be byte streams
   * (no object mode, no `setEncoding`). `close()` ends `writable` after the queued bytes and
   * destroys `readable`.
   */
  static fromStreams(readable?: Readable | null, writable?: Writable | null, options: StreamOptions = {}): PipeIOStream {
    const r = readable ?? null;
    const w = writable ?? null;
    if (r === null && w === null) throw invalidArgType('fromStreams needs a readable, a writable, or both');
    if (r !== null && !isReadable(r)) throw invalidArgType('readable must be a Node Readable stream');
    if (w !== null && !isWritable(w)) throw invalidArgType('writable must be a Node Writable stream');
    if (r !== null && (r.readableObjectMode || r.readableEncoding !== null)) {
      throw invalidArgType('readable must be a byte stream (not in object mode, no setEncoding)');
    }
    if (w !== null && w.writableObjectMode) throw invalidArgType('writable must be a byte stream (not in object mode)');
    return PipeIOStream.adopt({ readable: r, writable: w, label: 'the streams' }, options);
  }

  /**
   * A stream over a child process: reads its stdout, writes its stdin (spawn it with
   * `stdio: ['pipe', 'pipe', ...]`; a missing one makes the stream one-directional).
   * `close()` ends the child's stdin, so a filter like `cat` sees EOF and exits. The child's
   * exit closes its stdout, which closes the stream cleanly once the bytes are read.
   */
  static fromChild(child: ChildProcess, options: StreamOptions = {}): PipeIOStream {
    if (child === null || typeof child !== 'object' || !('stdin' in child) || !('stdout' in child)) {
      throw invalidArgType('child must be a ChildProcess');
    }
    if (child.stdout === null && child.stdin === null) {
      throw invalidArgType("the child has neither stdout nor stdin piped (spawn it with stdio: ['pipe', 'pipe', ...])");
    }
    const pid = child.pid === undefined ? '' : ` ${child.pid}`;
    return PipeIOStream.adopt({ readable: child.stdout, writable: child.stdin, label: `child process${pid}` }, options);
  }

  private static adopt(ends: Ends, options: StreamOptions): PipeIOStream {
    adopting = ends;
    try {
      return new PipeIOStream(-1, options);
    } finally {
      adopting = null;
    }
  }

  // Writes on a read-only stream are refused here, before the core queues anything, so the
  // other direction keeps working (reads on a write-only one: `readRefusal`, set in the constructor).

  override write(data: Uint8Array | string, callback?: () => void): Promise<void> {
    if (this.direction !== 'read' && !this.writeEnded) return super.write(data, callback);
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw invalidArgType('data must be a Uint8Array or a string');
    }
    if (callback !== undefined && typeof callback !== 'function') throw invalidArgType('callback must be a function');
    return this.refuse('write');
  }

  /**
   * Half-close: ends the write side after every byte written so far (a child sees EOF on its
   * stdin, so `sort` or `cat` can finish) and keeps the read side open, e.g. for
   * `readUntilClose`. Resolves when the bytes were handed over and the end was sent; later
   * writes are refused. On a closed stream it rejects with `StreamClosedError`.
   */
  async endWrite(): Promise<void> {
    if (this.direction === 'read') return this.refuse('write');
    if (this.writeEnded) return;
    const flushed = super.write(new Uint8Array(0)); // settles after every earlier write
    this.writeEnded = true;
    await flushed;
    if (this.direction === 'write') this.close();
    else this.pipe.endWrite();
  }

  /** A no-op (pipes have no Nagle's algorithm), but `value` must still be a boolean. */
  override setNodelay(value: boolean): void {
    checkBoolean(value, 'setNodelay(value)');
  }

  private refuse(op: 'read' | 'write'): Promise<never> {
    return Promise.reject(this.refusal(op));
  }

  /** Why a read (write) cannot happen on this stream: what the OS says to it, wrapped. */
  private refusal(op: 'read' | 'write'): StreamClosedError {
    const side = op === 'read' ? 'write' : 'read';
    const cause = this.writeEnded && op === 'write'
      ? codedError(`cannot write ${this.label}: the write side was ended by endWrite()`, 'ERR_STREAM_WRITE_AFTER_END')
      : codedError(`cannot ${op} ${this.label}: this PipeIOStream is ${side}-only`, 'EBADF');
    return new StreamClosedError(cause, `PipeIOStream: ${cause.message}`);
  }
}

/**
 * The direction of `fd`, checked against `wanted`. Throws `TypeError`/`RangeError` for an fd
 * that is not open, not a pipe/FIFO/socket, or not open for the wanted direction.
 */
export function detectDirection(fd: number, wanted?: PipeDirection): PipeDirection {
  if (typeof fd !== 'number') throw invalidArgType(`fd must be a number, got ${typeof fd}`);
  if (!Number.isSafeInteger(fd) || fd < 0) throw outOfRange(`fd must be a non-negative integer, got ${String(fd)}`);
  if (wanted !== undefined && wanted !== 'read' && wanted !== 'write' && wanted !== 'both') {
    throw invalidArgType(`direction must be 'read', 'write' or 'both', got ${String(wanted)}`);
  }
  let stat: fs.Stats;
  try {
    stat = fs.fstatSync(fd);
  } catch (err) {
    throw invalidArgValue(`fd ${fd} is not an open file descriptor (${(err as Error).message})`, err);
  }
  let can: PipeDirection;
  if (stat.isSocket()) can = 'both';
  else if (stat.isFIFO()) can = fifoAccess(fd);
  else throw invalidArgType(`fd ${fd} is not a pipe, FIFO or socket`);
  if (wanted === undefined || wanted === can) return can;
  if (can === 'both') return wanted;
  const is = can === 'read' ? 'the read end' : 'the write end';
  throw invalidArgType(`fd ${fd} is ${is} of a pipe; it cannot be used with direction '${wanted}'`);
}

/**
 * A FIFO fd's access mode. Linux shows it in /proc/self/fdinfo (`flags`, octal; the low two
 * bits are O_ACCMODE). Elsewhere a zero-byte write tells the ends apart: the kernel checks the
 * fd is open for writing before anything else, and writing nothing to a pipe does nothing.
 * That probe cannot see `O_RDWR`, so there an `O_RDWR` FIFO counts as a write end.
 */
function fifoAccess(fd: number): PipeDirection {
  if (process.platform === 'linux') {
    try {
      const m = /^flags:\s*([0-7]+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'));
      if (m?.[1] !== undefined) {
        const mode = parseInt(m[1], 8) & 3;
        if (mode === 0) return 'read';
        if (mode === 1) return 'write';
        return 'both';
      }
    } catch {
      // No procfs (a sandbox): fall back to the probe.
    }
  }
  try {
    fs.writeSync(fd, new Uint8Array(0));
    return 'write';
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EBADF') return 'read';
    throw invalidArgValue(`cannot tell which end of a pipe fd ${fd} is: ${(err as Error).message}`, err);
  }
}

function directionOf(ends: Ends): PipeDirection {
  if (ends.readable !== null && ends.writable !== null) return 'both';
  return ends.readable !== null ? 'read' : 'write';
}

function isReadable(s: unknown): s is Readable {
  return typeof s === 'object' && s !== null && typeof (s as Readable).on === 'function'
    && typeof (s as Readable).pause === 'function' && typeof (s as Readable).resume === 'function';
}

function isWritable(s: unknown): s is Writable {
  return typeof s === 'object' && s !== null && typeof (s as Writable).on === 'function'
    && typeof (s as Writable).write === 'function' && typeof (s as Writable).end === 'function';
}
