/**
 * PipeIOStream over real FIFOs and real child processes.
 *
 * Ports Tornado's TestPipeIOStream (test_pipe_iostream, test_pipe_iostream_big_write) over a
 * FIFO made with mkfifo (Node has no os.pipe()), then covers child processes through
 * fromChild/fromStreams: round trips through `cat`, a 4 MiB write, EPIPE from a child that
 * is gone, EOF when a child exits, refused reads/writes on one-directional ends, and no
 * leftover child or handle at the end.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { test, withTimeout, type Test } from './_support/harness.js';
import { PipeIOStream, detectDirection } from '../drivers/node/pipe.js';
import { StreamClosedError } from '../core/errors.js';

const MiB = 1024 * 1024;
const NODE = process.execPath;

/** Counts of the handle kinds this file creates (pipes and processes). */
function handleCounts(): { pipes: number; processes: number } {
  const info = process.getActiveResourcesInfo();
  return {
    pipes: info.filter((k) => k === 'PipeWrap').length,
    processes: info.filter((k) => k === 'ProcessWrap').length,
  };
}
const baseline = handleCounts();

/** Test-scoped resources: FIFO dirs, raw fds not yet owned by a stream, streams and children. */
class Scope {
  private readonly dirs: string[] = [];
  private readonly fds = new Set<number>();
  private readonly streams: PipeIOStream[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly childrenClosed: Promise<void>[] = [];

  /** A FIFO's two ends, read end opened first (non-blocking) so the write end's open succeeds. */
  fifo(): [number, number] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipe-test-'));
    this.dirs.push(dir);
    const file = path.join(dir, 'fifo');
    const made = spawnSync('mkfifo', [file]);
    if (made.status !== 0) throw new Error(`mkfifo failed: ${String(made.stderr)}`);
    const r = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    this.fds.add(r);
    const w = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    this.fds.add(w);
    return [r, w];
  }

  /** Marks `fd` as owned by a stream from now on. */
  owned(fd: number): number {
    this.fds.delete(fd);
    return fd;
  }

  stream(s: PipeIOStream): PipeIOStream {
    this.streams.push(s);
    return s;
  }

  spawn(cmd: string, args: string[], stdio: Array<'pipe' | 'ignore'> = ['pipe', 'pipe', 'ignore']): ChildProcess {
    const child = spawn(cmd, args, { stdio });
    child.on('error', () => {}); // a spawn failure shows up as a failed assertion instead
    // 'close': the child exited and its stdio closed. Recorded now, so cleanup never misses it.
    this.childrenClosed.push(new Promise((resolve) => child.once('close', () => resolve())));
    this.children.push(child);
    return child;
  }

  async cleanup(): Promise<void> {
    for (const s of this.streams) s.close();
    await Promise.all(this.streams.map((s) => closedPromise(s)));
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(this.childrenClosed);
    for (const fd of this.fds) fs.closeSync(fd);
    for (const dir of this.dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

const closeCallbacks = new WeakMap<PipeIOStream, Promise<void>>();

/**
 * Resolves once the stream's close callback ran (the fd/stdio release follows its 'close').
 * One promise per stream: a stream calls one close callback, so the test body and the
 * cleanup share it.
 */
function closedPromise(s: PipeIOStream): Promise<void> {
  let p = closeCallbacks.get(s);
  if (p === undefined) {
    p = new Promise((resolve) => s.setCloseCallback(resolve));
    closeCallbacks.set(s, p);
  }
  return p;
}

/** Runs `body` with a Scope that is always cleaned up, bounded in time. */
function scoped(name: string, body: (t: Test, scope: Scope) => Promise<void>): void {
  test(name, async (t) => {
    const scope = new Scope();
    try {
      await withTimeout(body(t, scope), 15_000, name);
    } finally {
      await withTimeout(scope.cleanup(), 5_000, `${name}: cleanup`);
    }
  });
}

/** The StreamClosedError's realError code, or a description of what was thrown instead. */
async function rejection(p: Promise<unknown>): Promise<{ closed: boolean; code: unknown; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as StreamClosedError;
    return {
      closed: e instanceof StreamClosedError,
      code: (e.realError as { code?: unknown } | undefined)?.code,
      message: e.message,
    };
  }
  return { closed: false, code: 'resolved', message: 'resolved' };
}

function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >>> 8)) & 0xff;
  return b;
}

function childClosed(c: ChildProcess): Promise<[number | null, NodeJS.Signals | null]> {
  return new Promise((resolve) => c.once('close', (code, signal) => resolve([code, signal])));
}

// ---------------------------------------------------------------- Tornado's TestPipeIOStream

scoped('pipe: test_pipe_iostream (FIFO fds)', async (t, scope) => {
  const [r, w] = scope.fifo();
  const rs = scope.stream(new PipeIOStream(scope.owned(r)));
  const ws = scope.stream(new PipeIOStream(scope.owned(w)));
  t.equal(rs.direction, 'read', 'read end detected');
  t.equal(ws.direction, 'write', 'write end detected');

  void ws.write('hel');
  void ws.write('lo world');
  t.equal((await rs.readUntil(' ')).toString(), 'hello ');
  t.equal((await rs.readBytes(3)).toString(), 'wor');
  ws.close();
  const rest = await rs.readUntilClose();
  t.ok(Buffer.isBuffer(rest), 'reads resolve with Buffer');
  t.equal(rest.toString(), 'ld');
  t.ok(rs.closed(), 'the writer closing is a clean close of the reader');
  t.equal(rs.error, null);
  rs.close();
});

scoped('pipe: test_pipe_iostream_big_write (1 MiB through a FIFO)', async (t, scope) => {
  const [r, w] = scope.fifo();
  const rs = scope.stream(new PipeIOStream(scope.owned(r)));
  const ws = scope.stream(new PipeIOStream(scope.owned(w)));
  const data = Buffer.alloc(MiB, '1');
  const written = ws.write(data); // more than a pipe holds: resolves only as the reader drains it
  const got = await rs.readBytes(MiB);
  t.ok(got.equals(data), '1 MiB arrived intact');
  await written;
  t.notOk(ws.writing(), 'nothing left unflushed');
  ws.close();
  rs.close();
});

// ---------------------------------------------------------------- direction

scoped('pipe: a write-only FIFO end is not opened as a readable socket', async (t, scope) => {
  const [r, w] = scope.fifo();
  const ws = scope.stream(new PipeIOStream(scope.owned(w)));
  // Opened readable, libuv would fail the read with ENOTCONN and close the fd on the next turn.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.notOk(ws.closed(), 'still open after the event loop turned');
  await ws.write('still here\n');
  const rs = scope.stream(new PipeIOStream(scope.owned(r)));
  t.equal((await rs.readUntil('\n')).toString(), 'still here\n');
});

scoped('pipe: direction option, and bad fds throw synchronously', async (t, scope) => {
  const [r, w] = scope.fifo();
  t.equal(detectDirection(r), 'read');
  t.equal(detectDirection(w), 'write');
  t.equal(detectDirection(r, 'read'), 'read');
  t.throws(() => new PipeIOStream(r, { direction: 'write' }), /read end of a pipe.*direction 'write'/, 'wrong direction: TypeError');
  t.throws(() => new PipeIOStream(w, { direction: 'read' }), TypeError);
  t.throws(() => new PipeIOStream(-1), RangeError, 'negative fd');
  t.throws(() => new PipeIOStream(1.5), RangeError, 'non-integer fd');
  t.throws(() => new PipeIOStream('3' as unknown as number), TypeError, 'fd of the wrong type');
  t.throws(() => new PipeIOStream(r, { direction: 'sideways' as 'read' }), TypeError, 'unknown direction');
  const file = path.join(os.tmpdir(), `pipe-test-file-${process.pid}`);
  const fileFd = fs.openSync(file, 'w');
  try {
    t.throws(() => new PipeIOStream(fileFd), /not a pipe, FIFO or socket/, 'a regular file is refused');
  } finally {
    fs.closeSync(fileFd);
    fs.rmSync(file, { force: true });
  }
  t.throws(() => new PipeIOStream(fileFd), /not an open file descriptor/, 'a closed fd is refused');
  t.throws(() => new PipeIOStream(r, { maxBufferSize: -1 }), RangeError, 'bad stream options');
  // None of the refused constructions took the fds: they still work.
  const rs = scope.stream(new PipeIOStream(scope.owned(r)));
  const ws = scope.stream(new PipeIOStream(scope.owned(w)));
  await ws.write('ok\n');
  t.equal((await rs.readUntil('\n')).toString(), 'ok\n');
});

scoped('pipe: read on a write end and write on a read end fail clearly, the stream stays usable', async (t, scope) => {
  const [r, w] = scope.fifo();
  const rs = scope.stream(new PipeIOStream(scope.owned(r)));
  const ws = scope.stream(new PipeIOStream(scope.owned(w)));
  for (const [what, p] of [
    ['readBytes', ws.readBytes(1)], ['readUntil', ws.readUntil('\n')], ['readUntilRegex', ws.readUntilRegex(/x/)],
    ['readUntilClose', ws.readUntilClose()], ['readInto', ws.readInto(new Uint8Array(4))],
  ] as const) {
    const e = await rejection(p);
    t.ok(e.closed && e.code === 'EBADF' && /write-only/.test(e.message), `${what} on the write end: ${e.message}`);
  }
  const e = await rejection(rs.write('x'));
  t.ok(e.closed && e.code === 'EBADF' && /read-only/.test(e.message), `write on the read end: ${e.message}`);
  t.throws(() => ws.readBytes(-1), RangeError, 'bad arguments still throw first');
  t.notOk(ws.closed() || rs.closed(), 'neither stream was closed by the misuse');
  await ws.write('after\n');
  t.equal((await rs.readUntil('\n')).toString(), 'after\n', 'both directions still work');
});

scoped('pipe: writing after the reader closed is EPIPE', async (t, scope) => {
  const [r, w] = scope.fifo();
  const rs = scope.stream(new PipeIOStream(scope.owned(r)));
  const ws = scope.stream(new PipeIOStream(scope.owned(w)));
  rs.close();
  const closed = closedPromise(ws);
  // More than a pipe holds: whenever the read fd actually goes, the writer is left with EPIPE.
  const e = await rejection(ws.write(Buffer.alloc(MiB)));
  t.ok(e.closed, 'StreamClosedError');
  t.equal(e.code, 'EPIPE', 'realError.code is EPIPE');
  await closed;
  t.equal((ws.error as { code?: string } | null)?.code, 'EPIPE', 'the stream closed with the EPIPE');
});

// ---------------------------------------------------------------- child processes

scoped('pipe: fromChild(cat) round trip with readUntil / readBytes / endWrite / readUntilClose', async (t, scope) => {
  const child = scope.spawn('cat', []);
  const exited = childClosed(child);
  const s = scope.stream(PipeIOStream.fromChild(child));
  t.equal(s.direction, 'both');
  s.setNodelay(true); // a no-op on pipes
  void s.write('hello world\nmore');
  void s.write(' data');
  t.equal((await s.readUntil('\n')).toString(), 'hello world\n');
  t.equal((await s.readBytes(4)).toString(), 'more');
  await s.endWrite(); // cat sees EOF on stdin, echoes the rest and exits
  const e = await rejection(s.write('late'));
  t.ok(e.closed && /ended by endWrite/.test(e.message), `write after endWrite is refused: ${e.message}`);
  t.equal((await s.readUntilClose()).toString(), ' data');
  t.equal(s.error, null, 'the child exiting is a clean close');
  t.deepEqual(await exited, [0, null], 'cat exited normally');
});

scoped('pipe: 4 MiB through cat', async (t, scope) => {
  const child = scope.spawn('cat', []);
  const s = scope.stream(PipeIOStream.fromChild(child, { readChunkSize: 16 * 1024 }));
  const data = pattern(4 * MiB);
  const written = s.write(data);
  const got = await s.readBytes(data.length);
  await written;
  t.ok(got.equals(data), '4 MiB came back byte for byte');
  const exited = childClosed(child);
  s.close(); // ends cat's stdin
  t.deepEqual(await exited, [0, null], 'close() ended stdin and cat exited');
});

scoped('pipe: a child that exits ends the stream cleanly; readUntilClose gets everything', async (t, scope) => {
  const script = "const b = Buffer.alloc(300000, 'z'); process.stdout.write(b); process.stdout.write('END');";
  const child = scope.spawn(NODE, ['-e', script], ['ignore', 'pipe', 'ignore']);
  const s = scope.stream(PipeIOStream.fromChild(child));
  t.equal(s.direction, 'read', 'stdin not piped: read-only');
  const all = await s.readUntilClose();
  t.equal(all.length, 300003);
  t.equal(all.subarray(-3).toString(), 'END');
  t.ok(s.closed() && s.error === null, 'clean close');
  const e = await rejection(s.write('x'));
  t.equal(e.code, 'EBADF', 'and it has no write side');
});

scoped('pipe: writing to a dead child is EPIPE, never an uncaught error', async (t, scope) => {
  const child = scope.spawn('sh', ['-c', 'exit 0'], ['pipe', 'ignore', 'ignore']);
  const s = scope.stream(PipeIOStream.fromChild(child));
  t.equal(s.direction, 'write');
  await new Promise((resolve) => child.once('exit', resolve));
  const closed = closedPromise(s);
  const e = await rejection(s.write('anyone there?\n'));
  t.ok(e.closed, 'StreamClosedError');
  t.equal(e.code, 'EPIPE', 'realError.code is EPIPE');
  await closed;
  t.equal((s.error as { code?: string } | null)?.code, 'EPIPE');
  const e2 = await rejection(s.write('again'));
  t.ok(e2.closed && e2.code === 'EPIPE', 'later writes fail the same way');
});

scoped('pipe: a live child that closed its stdin gives the kernel EPIPE', async (t, scope) => {
  const child = scope.spawn('sh', ['-c', 'exec 0<&-; echo ready; exec sleep 30']);
  const s = scope.stream(PipeIOStream.fromChild(child));
  t.equal((await s.readUntil('ready\n')).toString(), 'ready\n');
  const e = await rejection(s.write(Buffer.alloc(256 * 1024)));
  t.ok(e.closed && e.code === 'EPIPE', `write rejects with EPIPE (${e.message})`);
  t.equal(child.exitCode, null, 'the child is still running (killed in cleanup)');
});

scoped('pipe: fromStreams over plain Node streams, and its argument checks', async (t, scope) => {
  void scope;
  t.throws(() => PipeIOStream.fromStreams(), TypeError, 'needs at least one stream');
  t.throws(() => PipeIOStream.fromStreams({} as Readable), TypeError, 'not a stream');
  t.throws(() => PipeIOStream.fromStreams(new Readable({ objectMode: true, read() {} })), /byte stream/);
  const enc = new Readable({ read() {} });
  enc.setEncoding('utf8');
  t.throws(() => PipeIOStream.fromStreams(enc), /byte stream/, 'a readable with an encoding is refused');
  t.throws(() => PipeIOStream.fromChild({} as ChildProcess), TypeError);

  const sent: Buffer[] = [];
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { sent.push(chunk); setImmediate(cb); } });
  const source = new Readable({ read() {} });
  source.push(Buffer.from('line one\nline '));
  const s = scope.stream(PipeIOStream.fromStreams(source, sink));
  t.equal((await s.readUntil('\n')).toString(), 'line one\n');
  await s.write('reply\n');
  t.equal(Buffer.concat(sent).toString(), 'reply\n', 'write resolved after the Writable took the bytes');
  source.push(Buffer.from('two\n'));
  source.push(null); // EOF: a clean close of the whole stream
  t.equal((await s.readUntilClose()).toString(), 'line two\n');
  t.ok(sink.writableEnded, 'the clean close ended the writable');

  const broken = new Writable({ write(_c, _e, cb) { cb(Object.assign(new Error('boom'), { code: 'EIO' })); } });
  const s2 = scope.stream(PipeIOStream.fromStreams(null, broken));
  const e = await rejection(s2.write('x'));
  t.ok(e.closed && e.code === 'EIO', 'a Writable error closes the stream with it as realError');
});

scoped('pipe: async iteration over a FIFO ends at EOF', async (t, scope) => {
  const [r, w] = scope.fifo();
  const rs = scope.stream(new PipeIOStream(scope.owned(r)));
  const ws = scope.stream(new PipeIOStream(scope.owned(w)));
  const data = pattern(200_000);
  void ws.write(data).then(() => ws.close());
  const parts: Buffer[] = [];
  for await (const chunk of rs) parts.push(chunk);
  t.ok(Buffer.concat(parts).equals(data), 'all chunks, in order, then the loop ended');
});

test('pipe: no child process or pipe handle left behind', async (t) => {
  // Handles go away on the libuv close callback: give the loop a few turns.
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  const now = handleCounts();
  t.deepEqual(now, baseline, `pipes ${now.pipes} / processes ${now.processes} vs baseline`);
});
