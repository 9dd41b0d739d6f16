/**
 * Every driver's constructor and `connect` reject a non-object `options` the same way, and
 * every error the library throws for misuse carries a stable `code` (issue 10, items 3–5).
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { PassThrough } from 'node:stream';
import { StreamCore } from '../core/index.js';
import {
  AlreadyReadingError, IOStream, PipeIOStream, SSLIOStream, SimLoop, memoryPair,
} from '../drivers/index.js';
import { WebIOStream } from '../drivers/web/index.js';
import { test, type Test } from './_support/harness.js';
import { tcpPair } from './_support/net-pair.js';

const bad = <T>(v: unknown): T => v as T;
const NOT_OBJECTS: readonly unknown[] = [5, 'x', true, null, [1]];

/** `fn` throws synchronously an error of class `cls` whose `code` is `code`. */
function throwsCoded(t: Test, fn: () => unknown, cls: new (...a: never[]) => Error, code: string, what: string): void {
  try {
    const r = fn();
    if (r instanceof Promise) r.catch(() => {});
    t.fail(`${what}: did not throw`);
  } catch (err) {
    t.equal((err as Error).constructor, cls, `${what}: ${cls.name}`);
    t.equal((err as { code?: unknown }).code, code, `${what}: code ${code}`);
  }
}

test('constructors of every driver reject non-object options with TypeError ERR_INVALID_ARG_TYPE', async (t) => {
  const child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    for (const o of NOT_OBJECTS) {
      const label = JSON.stringify(o);
      const ctors: [string, () => unknown][] = [
        ['new IOStream(undefined, o)', () => new IOStream(undefined, bad(o))],
        ['new SSLIOStream(undefined, o)', () => new SSLIOStream(undefined, bad(o))],
        ['new PipeIOStream(fd, o)', () => new PipeIOStream(0, bad(o))],
        ['PipeIOStream.fromStreams(r, w, o)', () => PipeIOStream.fromStreams(new PassThrough(), new PassThrough(), bad(o))],
        ['PipeIOStream.fromChild(child, o)', () => PipeIOStream.fromChild(child, bad(o))],
        ['WebIOStream.fromStreams(s, o)', () => WebIOStream.fromStreams(new TransformStream<Uint8Array, Uint8Array>(), bad(o))],
        ['memoryPair(o)', () => memoryPair(bad(o))],
        ['new SimLoop(o)', () => new SimLoop(bad(o))],
        ['new SimLoop().pair(o)', () => new SimLoop().pair(bad(o))],
        ['new StreamCore(o)', () => new StreamCore(bad(o))],
      ];
      for (const [what, fn] of ctors) throwsCoded(t, fn, TypeError, 'ERR_INVALID_ARG_TYPE', `${what} with ${label}`);
    }
  } finally {
    child.stdin.end();
    await exited;
  }
});

test('connect of IOStream and SSLIOStream rejects non-object options synchronously', async (t) => {
  for (const o of NOT_OBJECTS) {
    const s = new IOStream();
    throwsCoded(t, () => s.connect({ host: '127.0.0.1', port: 1 }, bad(o)), TypeError, 'ERR_INVALID_ARG_TYPE', `IOStream.connect(addr, ${JSON.stringify(o)})`);
    t.equal(s.socket, null, 'no socket was created');
    s.close();
    const ssl = new SSLIOStream();
    throwsCoded(t, () => ssl.connect({ host: '127.0.0.1', port: 1 }, bad(o)), TypeError, 'ERR_INVALID_ARG_TYPE', `SSLIOStream.connect(addr, ${JSON.stringify(o)})`);
    ssl.close();
  }
  throwsCoded(t, () => new IOStream().connect(bad({ port: 70000 })), RangeError, 'ERR_OUT_OF_RANGE', 'port 70000');
});

test('a regex source that does not compile throws TypeError with the SyntaxError as cause', async (t) => {
  const [a, b] = memoryPair();
  try {
    for (const call of [() => a.readUntilRegex('('), () => new StreamCore().readUntilRegex('[a-'), () => new StreamCore().tryReadUntilRegex('(?<')]) {
      try {
        call();
        t.fail('did not throw');
      } catch (err) {
        t.equal((err as Error).constructor, TypeError, 'TypeError');
        t.equal((err as { code?: unknown }).code, 'ERR_INVALID_ARG_VALUE', 'code ERR_INVALID_ARG_VALUE');
        t.ok((err as Error).cause instanceof SyntaxError, 'cause is the SyntaxError');
        t.match((err as Error).message, /regex does not compile/, 'message says what is wrong');
      }
    }
    t.equal(a.reading(), false, 'no read left pending');
  } finally {
    a.close();
    b.close();
  }
});

test('state misuse errors carry codes: Already reading, Already waiting, already connected, not idle', async (t) => {
  const [client, server] = await tcpPair();
  try {
    const p = server.readBytes(1);
    throwsCoded(t, () => server.readUntil('\n'), AlreadyReadingError, 'ERR_ALREADY_READING', 'second read');
    throwsCoded(t, () => client.connect({ host: '127.0.0.1', port: 1 }), Error, 'ERR_ALREADY_CONNECTED', 'connect twice');
    throwsCoded(t, () => server.startTls(true), Error, 'ERR_STREAM_NOT_IDLE', 'startTls while reading');
    await client.write('x');
    t.equal((await p).toString(), 'x');
    throwsCoded(t, () => new IOStream().startTls(false), Error, 'ERR_NOT_CONNECTED', 'startTls unconnected');
  } finally {
    client.close();
    server.close();
  }
  // An SSLIOStream over a socket whose handshake never comes: a second wait is refused.
  const listener = net.createServer((s) => { s.on('error', () => {}); });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const raw = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => raw.once('connect', resolve));
  const ssl = new SSLIOStream(raw, { serverSide: true, sslOptions: {} });
  const waiting = ssl.waitForHandshake();
  waiting.catch(() => {});
  throwsCoded(t, () => ssl.waitForHandshake(), Error, 'ERR_ALREADY_WAITING', 'waitForHandshake twice');
  throwsCoded(t, () => ssl.connect({ port }), Error, 'ERR_INVALID_STATE', 'connect on a server-side stream');
  ssl.close();
  await waiting.catch(() => {});
  await new Promise<void>((resolve) => listener.close(() => resolve()));
});

test('option checks of the memory driver, SimLoop, addresses, SSLIOStream and PipeIOStream name the right class and code', async (t) => {
  throwsCoded(t, () => memoryPair(bad({ latency: 'x' })), TypeError, 'ERR_INVALID_ARG_TYPE', "latency 'x'");
  throwsCoded(t, () => memoryPair(bad({ latency: -1 })), RangeError, 'ERR_OUT_OF_RANGE', 'latency -1');
  throwsCoded(t, () => memoryPair(bad({ chunking: 'lines' })), TypeError, 'ERR_INVALID_ARG_VALUE', "chunking 'lines'");
  throwsCoded(t, () => memoryPair({ resetAfterBytes: 1, eofAfterBytes: 1 }), TypeError, 'ERR_INVALID_ARG_VALUE', 'both faults');
  throwsCoded(t, () => new SimLoop(bad({ seed: 'x' })), TypeError, 'ERR_INVALID_ARG_TYPE', "seed 'x'");
  throwsCoded(t, () => new SimLoop({ seed: 1.5 }), RangeError, 'ERR_OUT_OF_RANGE', 'seed 1.5');
  throwsCoded(t, () => new IOStream().connect(bad({ port: '80' })), TypeError, 'ERR_INVALID_ARG_TYPE', "port '80'");
  throwsCoded(t, () => new SSLIOStream(undefined, bad({ serverHostname: 5 })), TypeError, 'ERR_INVALID_ARG_TYPE', 'serverHostname 5');
  // The stream options are checked before the fd is looked at: fd 2147483647 is not open,
  // but the bad option is what is reported.
  throwsCoded(t, () => new PipeIOStream(2147483647, { maxBufferSize: -1 }), RangeError, 'ERR_OUT_OF_RANGE', 'maxBufferSize -1 before the fd');
});
