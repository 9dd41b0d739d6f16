/**
 * examples/resp.ts — one RESP client/server written against BaseIOStream — run unchanged over
 * memory pairs (whole / byte / random chunking), TCP, TLS, web streams (in memory and over TCP)
 * and a child process's pipes.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { StreamClosedError } from '../core/errors.js';
import type { BaseIOStream } from '../drivers/base.js';
import { memoryPair } from '../drivers/memory.js';
import { PipeIOStream } from '../drivers/pipe.js';
import { test, withTimeout, type Test } from './_support/harness.js';
import { tcpPair, tlsPair } from './_support/net-pair.js';
import { tcpWebPair, transformPair } from './_support/web-pair.js';
import {
  RespClient, RespError, RespProtocolError, encodeCommand, encodeValue, readValue, serveResp, type RespArg, type RespValue,
} from '../examples/resp.js';

const WAIT_MS = 10_000;

/** Replies in a form deepEqual compares the same for Buffer and Uint8Array. */
type Plain = string | number | null | { error: string } | { bulk: number[] } | Plain[];
function plain(v: RespValue): Plain {
  if (v instanceof RespError) return { error: v.message };
  if (v instanceof Uint8Array) return { bulk: [...v] };
  if (Array.isArray(v)) return v.map(plain);
  return v;
}
const bulk = (s: string | Uint8Array): Plain => ({ bulk: [...(typeof s === 'string' ? new TextEncoder().encode(s) : s)] });

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
const SESSION: Array<[RespArg[], Plain]> = [
  [['PING'], 'PONG'],
  [['ping', 'hi there'], bulk('hi there')],
  [['ECHO', allBytes], bulk(allBytes)],
  [['ECHO', ''], bulk('')],
  [['SET', 'k', 'v1\r\nstill v1'], 'OK'],
  [['GET', 'k'], bulk('v1\r\nstill v1')],
  [['GET', 'nope'], null],
  [['INCR', 'n'], 1],
  [['INCR', 'n'], 2],
  [['SET', 'neg', -5], 'OK'],
  [['INCR', 'neg'], -4],
  [['INCR', 'k'], { error: 'ERR value is not an integer or out of range' }],
  [['MGET', 'n', 'nope', 'k'], [bulk('2'), null, bulk('v1\r\nstill v1')]],
  [['DEL', 'k', 'nope', 'n'], 2],
  [['GET', 'k'], null],
  [['GET'], { error: "ERR wrong number of arguments for 'get' command" }],
  [['FLY', 'away'], { error: "ERR unknown command 'fly'" }],
];

/** The same script over any connected pair: sequential, binary, pipelined, big, then QUIT. */
async function session<B extends Uint8Array>(t: Test, client: BaseIOStream<B>, server: BaseIOStream<B>,
  bigSize: number): Promise<void> {
  const served = serveResp(server);
  const redis = new RespClient(client);
  for (const [args, expected] of SESSION) {
    t.deepEqual(plain(await redis.command(...args)), expected, `${String(args[0])} → ${JSON.stringify(expected).slice(0, 60)}`);
  }
  const replies = await Promise.all(Array.from({ length: 40 }, () => redis.command('INCR', 'p')));
  t.deepEqual(replies, Array.from({ length: 40 }, (_, i) => i + 1), '40 pipelined INCRs reply in order');
  const big = Uint8Array.from({ length: bigSize }, (_, i) => (i * 7 + (i >> 8)) & 0xff);
  t.equal(await redis.command('SET', 'big', big), 'OK', `SET a ${bigSize}-byte value`);
  t.deepEqual(plain(await redis.command('GET', 'big')), bulk(big), 'GET returns it intact');
  t.equal(await redis.command('QUIT'), 'OK', 'QUIT');
  await withTimeout(served, WAIT_MS, 'server end');
  t.equal((await withTimeout(client.readUntilClose(), WAIT_MS, 'client EOF')).length, 0, 'server closed cleanly after QUIT');
  t.equal(client.error, null, 'client: clean close');
  const late = await redis.command('PING').then(() => null, (e: unknown) => e);
  t.ok(late instanceof StreamClosedError, 'a command after the close rejects with StreamClosedError');
}

for (const [chunking, seed] of [['whole', 1], ['byte', 1], ['random', 3], ['random', 99]] as const) {
  test(`resp over memoryPair (${chunking}, seed ${seed})`, async (t) => {
    const [client, server] = memoryPair({ chunking, seed });
    await session(t, client, server, chunking === 'byte' ? 2048 : 200_000);
  });
}

for (const [label, make] of [
  ['TCP (127.0.0.1)', () => tcpPair()],
  ['TLS (127.0.0.1)', () => tlsPair()],
  ['WebIOStream (in-memory TransformStreams)', async () => transformPair()],
  ['WebIOStream (Duplex.toWeb over TCP)', () => tcpWebPair()],
] as const) {
  test(`resp over ${label}`, async (t) => {
    const [client, server] = await make();
    try {
      await session(t, client, server, 1 << 20);
    } finally {
      client.close();
      server.close();
    }
  });
}

test('resp over a child process\'s stdio pipes (examples/resp-demo.ts --stdio)', async (t) => {
  const demo = fileURLToPath(new URL('../examples/resp-demo.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', demo, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => { child.once('close', (code) => resolve(code)); });
  const stream = PipeIOStream.fromChild(child);
  try {
    const redis = new RespClient(stream);
    t.equal(await withTimeout(redis.command('PING'), WAIT_MS, 'PING'), 'PONG');
    t.deepEqual(plain(await redis.command('ECHO', allBytes)), bulk(allBytes), 'binary ECHO through pipes');
    t.deepEqual(await Promise.all([redis.command('INCR', 'x'), redis.command('INCR', 'x')]), [1, 2], 'pipelined');
    t.equal(await redis.command('QUIT'), 'OK');
    t.equal((await withTimeout(stream.readUntilClose(), WAIT_MS, 'child EOF')).length, 0, 'child closed its stdout');
    t.equal(await withTimeout(exited, WAIT_MS, 'child exit'), 0, 'child exited with 0');
  } finally {
    stream.close();
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
});

/** A stream whose peer sends `wire` (in 1-byte pieces) and then closes. */
function feed(wire: Uint8Array | string): BaseIOStream<Uint8Array> {
  const [a, b] = memoryPair({ chunking: 'byte' });
  void a.write(wire).then(() => a.close());
  return b;
}

test('resp parser: every reply type, nesting, nulls, and the wire encoders round-trip', async (t) => {
  const wire = '+OK\r\n-ERR bad\r\n:-42\r\n$0\r\n\r\n$-1\r\n*-1\r\n*3\r\n:1\r\n*2\r\n$1\r\na\r\n*0\r\n$2\r\n\r\n\r\n';
  const s = feed(wire);
  t.equal(await readValue(s), 'OK', 'simple string');
  const err = await readValue(s);
  t.ok(err instanceof RespError && err.message === 'ERR bad', 'error reply is a RespError value');
  t.equal(await readValue(s), -42, 'negative integer');
  t.deepEqual(plain(await readValue(s)), bulk(''), 'empty bulk string');
  t.equal(await readValue(s), null, 'null bulk string');
  t.equal(await readValue(s), null, 'null array');
  t.deepEqual(plain(await readValue(s)), [1, [bulk('a'), []], bulk('\r\n')], 'nested arrays');
  t.ok(await readValue(s).then(() => false, (e: unknown) => e instanceof StreamClosedError), 'then the clean close');

  const value: RespValue = ['x', -1, null, new RespError('E'), Uint8Array.of(0, 13, 10), [[], 7]];
  const back = await readValue(feed(encodeValue(value)));
  t.deepEqual(plain(back), plain(value), 'encodeValue → readValue round-trips');
  t.deepEqual(plain(await readValue(feed(encodeCommand(['SET', 'k', 12])))), [bulk('SET'), bulk('k'), bulk('12')],
    'encodeCommand is an array of bulk strings');
});

test('resp parser: malformed input is a RespProtocolError', async (t) => {
  for (const wire of ['?what\r\n', '$abc\r\n', '$-2\r\n', '*1.5\r\n', '$3\r\nabcXY', ':99999999999999999\r\n']) {
    const e = await readValue(feed(wire)).then(() => null, (x: unknown) => x);
    t.ok(e instanceof RespProtocolError, `${JSON.stringify(wire)} → ${e instanceof Error ? e.message : String(e)}`);
  }
  const deep = await readValue(feed('*1\r\n'.repeat(40))).then(() => null, (x: unknown) => x);
  t.ok(deep instanceof RespProtocolError, 'nesting depth is bounded');
});

test('resp server: a malformed request gets an error reply and the connection is closed', async (t) => {
  const [client, server] = memoryPair({ chunking: 'random', seed: 5 });
  const served = serveResp(server);
  void client.write('+not a command\r\n');
  const reply = await readValue(client);
  t.ok(reply instanceof RespError && /Protocol error/.test(reply.message), `error reply: ${String((reply as Error).message)}`);
  t.equal((await client.readUntilClose()).length, 0, 'then the server closes');
  await served;
  t.equal(server.error, null, 'server closed cleanly');
});

test('resp client: a server that breaks the protocol closes the client stream', async (t) => {
  const [client, fake] = memoryPair();
  const redis = new RespClient(client);
  const first = redis.command('PING');
  const second = redis.command('PING');
  await fake.readBytes(encodeCommand(['PING']).length * 2);
  void fake.write('!garbage\r\n');
  const e1 = await first.then(() => null, (x: unknown) => x);
  t.ok(e1 instanceof RespProtocolError, 'the unparsable reply rejects with RespProtocolError');
  const e2 = await second.then(() => null, (x: unknown) => x);
  t.ok(e2 instanceof StreamClosedError && e2.realError === e1, 'the next one with StreamClosedError { realError }');
  t.ok(client.closed(), 'client stream closed');
  fake.close();
});

test('resp client: a write refused by maxWriteBufferSize fails the command instead of hanging', async (t) => {
  const [client, server] = memoryPair({ maxWriteBufferSize: 16 });
  const e = await new RespClient(client).command('SET', 'key', 'a value longer than sixteen bytes').then(() => null, (x: unknown) => x);
  t.ok(e instanceof StreamClosedError && e.realError?.name === 'StreamBufferFullError',
    `rejects with StreamClosedError { StreamBufferFullError }: ${String(e)}`);
  server.close();
});

test('resp server: ends quietly when the client goes away mid-command', async (t) => {
  const [client, server] = memoryPair({ chunking: 'byte' });
  const served = serveResp(server);
  const wire = encodeCommand(['SET', 'k', 'value']);
  await client.write(wire.subarray(0, wire.length - 3));
  client.close();
  await withTimeout(served, WAIT_MS, 'server end');
  t.ok(server.closed(), 'server stream closed');
  t.equal(server.error, null, 'a clean close, no error');
  t.throws(() => new RespClient(client).command(), TypeError, 'command() needs a name');
});
