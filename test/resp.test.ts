/**
 * examples/resp.ts — one RESP client/server written against BaseIOStream — run unchanged over
 * memory pairs (whole / byte / random chunking), TCP, TLS, web streams (in memory and over TCP)
 * and a child process's pipes.
 *
 * Longer than ~400 lines, on purpose: every transport runs the same cases, whose fixtures
 * (pairs, cut points, the child server) live here once.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { StreamClosedError } from '../core/errors.js';
import type { BaseIOStream } from '../drivers/facade/base-iostream.js';
import { memoryPair } from '../drivers/memory/index.js';
import { PipeIOStream } from '../drivers/node/pipe.js';
import { test, withTimeout, type Test } from './_support/harness.js';
import { acceptOnce, tcpPair, tlsPair } from './_support/net-pair.js';
import { IOStream } from '../drivers/node/net.js';
import { tcpWebPair, transformPair } from './_support/web-pair.js';
import {
  RespClient, RespError, RespProtocolError, encodeCommand, encodeValue, readValue, text, type RespArg, type RespValue,
} from '../examples/resp.js';
import {
  DEFAULT_RESP_LIMITS, RESP_BUDGET_REPLY, RespBudget, listenResp, respLimits, respStreamBufferSize, serveResp, splitInline, type RespLimits, type RespServeOptions,
} from '../examples/resp-server.js';

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
  const cases: Array<[string, string]> = [
    ['*2\r\n$3\r\nGET\r\n:5\r\n', "ERR Protocol error: expected '$', got ':'"],
    ['*x\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1\r\n$abc\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n$-1\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1048577\r\n', 'ERR Protocol error: invalid multibulk length'],
    ['*1\r\n$536870913\r\n', 'ERR Protocol error: invalid bulk length'],
    ['*1\r\n$3\r\nabcXY', 'ERR Protocol error: bulk string not followed by CRLF'],
    ['SET k "unterminated\r\n', 'ERR Protocol error: unbalanced quotes in request'],
    ["ECHO 'a'b\r\n", 'ERR Protocol error: unbalanced quotes in request'],
  ];
  for (const [wire, expected] of cases) {
    const [client, server] = memoryPair({ chunking: 'random', seed: 5 });
    const served = serveResp(server);
    void client.write(`PING\r\n${wire}`);
    t.equal(await readValue(client), 'PONG', `${JSON.stringify(wire)}: the request before it is answered`);
    const reply = await readValue(client);
    t.equal(reply instanceof RespError ? reply.message : reply, expected, `${JSON.stringify(wire)} → ${expected}`);
    t.equal((await withTimeout(client.readUntilClose(), WAIT_MS, 'close')).length, 0, 'then the server closes');
    await served;
    t.equal(server.error, null, 'server closed cleanly');
  }
});

/** Pipelined requests of every kind the server parses, and the replies they get (QUIT last). */
const MIXED_WIRE = [
  'PING\r\n', '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$12\r\nv1\r\nstill v1\r\n', '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n',
  '*0\r\n', '\r\n', 'ECHO "a b"\n', '*2\r\n$4\r\nECHO\r\n$0\r\n\r\n', '*1\r\n$4\r\nQUIT\r\n',
].join('');
const MIXED_REPLIES = '+PONG\r\n+OK\r\n$12\r\nv1\r\nstill v1\r\n$3\r\na b\r\n$0\r\n\r\n+OK\r\n';

test('resp server: pipelined requests cut in two at every byte boundary get the same replies', async (t) => {
  const wrong: string[] = [];
  for (let k = 1; k < MIXED_WIRE.length; k++) {
    // 'whole' chunking delivers each write as one chunk: the server gets the two halves apart.
    const [client, server] = memoryPair({ chunking: 'whole' });
    const served = serveResp(server);
    void client.write(MIXED_WIRE.slice(0, k));
    void client.write(MIXED_WIRE.slice(k));
    const got = new TextDecoder().decode(await withTimeout(client.readUntilClose(), WAIT_MS, `cut at ${k}`));
    await withTimeout(served, WAIT_MS, `server end, cut at ${k}`);
    if (got !== MIXED_REPLIES || server.error !== null) wrong.push(`cut at ${k}: ${JSON.stringify(got)} ${String(server.error)}`);
  }
  t.deepEqual(wrong, [], `all ${MIXED_WIRE.length - 1} cuts: the replies, in order, then a clean close`);
});

test('resp server: a line may be maxLine (64 KiB) long; a longer one gets the error reply, then the close', async (t) => {
  const MAX_LINE = DEFAULT_RESP_LIMITS.maxLine;
  t.equal(MAX_LINE, 64 * 1024, 'the default maxLine is Redis\'s PROTO_INLINE_MAX_SIZE');
  for (const chunking of ['whole', 'random'] as const) {
    // `ECHO <word>\r\n`, exactly MAX_LINE bytes: echoed back.
    const word = 'w'.repeat(MAX_LINE - 'ECHO \r\n'.length);
    const [client, server] = memoryPair({ chunking, seed: 21 });
    const served = serveResp(server);
    void client.write(`ECHO ${word}\r\n*2\r\n$4\r\nECHO\r\n$${MAX_LINE}\r\n${word}1234567\r\nQUIT\r\n`);
    t.equal(text(await withTimeout(readValue(client), WAIT_MS, 'echo')), word, `${chunking}: a MAX_LINE inline line is served`);
    t.equal((await readValue(client) as Uint8Array).length, MAX_LINE, `${chunking}: a bulk argument is not a line: it may be longer`);
    t.equal(await readValue(client), 'OK', `${chunking}: QUIT`);
    await withTimeout(served, WAIT_MS, 'server end');

    // One byte more, with and without a line end after it: Redis's reply, then a clean close.
    for (const tail of ['\r\n', 'x'.repeat(100_000)]) {
      const [c2, s2] = memoryPair({ chunking, seed: 22 });
      const served2 = serveResp(s2);
      void c2.write(`PING\r\nECHO ${word}x${tail}`);
      t.equal(await withTimeout(readValue(c2), WAIT_MS, 'PONG'), 'PONG', `${chunking}: the request before it is answered`);
      const reply = await withTimeout(readValue(c2), WAIT_MS, 'error reply');
      t.equal(reply instanceof RespError ? reply.message : reply, 'ERR Protocol error: too big inline request',
        `${chunking}, ${tail.length}-byte tail: too big inline request`);
      t.equal((await withTimeout(c2.readUntilClose(), WAIT_MS, 'EOF')).length, 0, `${chunking}: then the close`);
      await withTimeout(served2, WAIT_MS, 'server end');
      t.equal(s2.error, null, `${chunking}: the server closed cleanly`);
    }
  }
});

/** The replies a client of `serveResp(…, options)` gets for `wire`, and how the server ended. */
async function serveWire(wire: string, chunking: 'whole' | 'byte' | 'random', options: RespServeOptions = {}):
  Promise<{ replies: Plain[]; error: Error | null }> {
  const [client, server] = memoryPair({ chunking, seed: 31 });
  const served = serveResp(server, new Map(), options);
  void client.write(wire);
  const all = await withTimeout(client.readUntilClose(), WAIT_MS, `replies to ${JSON.stringify(wire.slice(0, 30))}`);
  await withTimeout(served, WAIT_MS, 'server end');
  const replies: Plain[] = [];
  const back = feed(all);
  for (;;) {
    const v = await readValue(back).then((x) => x, (e: unknown) => (e instanceof StreamClosedError ? undefined : Promise.reject(e)));
    if (v === undefined) break;
    replies.push(plain(v));
  }
  return { replies, error: server.error };
}

test('resp server: every limit gets Redis\'s error reply after the replies before it, then a clean close', async (t) => {
  const limits = { maxLine: 1024, maxBulk: 4096, maxArgs: 8 };
  const err = (m: string): Plain => ({ error: `ERR Protocol error: ${m}` });
  const cases: Array<[string, string, Plain]> = [
    ['inline line over maxLine', `ECHO ${'x'.repeat(1024 - 6)}\r\n`, err('too big inline request')],
    ['inline line still without its end', `ECHO ${'x'.repeat(3000)}`, err('too big inline request')],
    ['*n line over maxLine', `*${'1'.repeat(1100)}\r\n`, err('too big mbulk count string')],
    ['*n line still without its end', `*${'1'.repeat(1100)}`, err('too big mbulk count string')],
    ['$n line still without its end', `*1\r\n$${'1'.repeat(1100)}`, err('too big bulk count string')],
    ['$n line over maxLine', `*1\r\n$${'1'.repeat(1100)}\r\n`, err('too big bulk count string')],
    ['bulk over maxBulk', '*1\r\n$4097\r\n', err('invalid bulk length')],
    ['more than maxArgs arguments', '*9\r\n', err('invalid multibulk length')],
  ];
  for (const chunking of ['whole', 'byte', 'random'] as const) {
    for (const [what, wire, expected] of cases) {
      const { replies, error } = await serveWire(`PING\r\nECHO before\r\n${wire}`, chunking, { limits });
      t.deepEqual(replies, ['PONG', bulk('before'), expected], `${chunking}, ${what}: the replies before it, then ${JSON.stringify(expected)}`);
      t.equal(error, null, `${chunking}, ${what}: then a clean close`);
    }
    // Just within every limit: served.
    const line = `ECHO ${'y'.repeat(1024 - 7)}\r\n`; // 1024 bytes with its CRLF
    const big = 'z'.repeat(4096);
    const eight = `*8\r\n$4\r\nECHO\r\n$${big.length}\r\n${big}\r\n${'$0\r\n\r\n'.repeat(6)}`;
    const { replies, error } = await serveWire(`${line}*2\r\n$4\r\nECHO\r\n$4096\r\n${big}\r\n${eight}QUIT\r\n`, chunking, { limits });
    t.deepEqual(replies, [bulk('y'.repeat(1024 - 7)), bulk(big), { error: "ERR wrong number of arguments for 'echo' command" }, 'OK'],
      `${chunking}: a line of maxLine, a bulk of maxBulk and maxArgs arguments are served`);
    t.equal(error, null, `${chunking}: QUIT closes cleanly`);
  }
});

test('resp server: the default limits refuse a 100 MiB bulk with a reply (the stream could not hold it)', async (t) => {
  t.deepEqual({ ...DEFAULT_RESP_LIMITS }, { maxLine: 65536, maxBulk: 64 * 1024 * 1024, maxArgs: 1024 * 1024, maxPendingBulkBytes: 256 * 1024 * 1024 },
    'the defaults');
  for (const len of [100 * 1024 * 1024, 64 * 1024 * 1024 + 1, 536870913]) {
    const { replies, error } = await serveWire(`PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${len}\r\nxxxx`, 'random');
    t.deepEqual(replies, ['PONG', { error: 'ERR Protocol error: invalid bulk length' }], `$${len}: invalid bulk length`);
    t.equal(error, null, `$${len}: then a clean close`);
  }
  t.ok(respStreamBufferSize(DEFAULT_RESP_LIMITS) <= 100 * 1024 * 1024, 'a stream with the default maxBufferSize fits the default maxBulk');
});

test('resp server: respLimits and RespBudget check their arguments', (t) => {
  t.deepEqual(respLimits({ maxLine: 10 }), { ...DEFAULT_RESP_LIMITS, maxLine: 10 }, 'overrides over the defaults');
  t.throws(() => respLimits({ maxBulk: '1' as unknown as number }), TypeError, 'a string is a TypeError');
  t.throws(() => respLimits(null as unknown as Partial<RespLimits>), TypeError, 'null limits are a TypeError');
  for (const bad of [{ maxLine: 0 }, { maxArgs: 0 }, { maxBulk: -1 }, { maxPendingBulkBytes: 1.5 }, { maxBulk: Infinity }, { maxLine: NaN }]) {
    t.throws(() => respLimits(bad), RangeError, `${JSON.stringify(bad)} is a RangeError`);
  }
  t.throws(() => serveResp(memoryPair()[1], new Map(), { limits: { maxLine: -1 } }), RangeError, 'serveResp checks its limits');
  t.throws(() => new RespBudget(-1), RangeError, 'a negative budget is a RangeError');
  const budget = new RespBudget(10);
  t.ok(budget.reserve(6) && !budget.reserve(5) && budget.reserve(4), 'reserve() refuses what would pass the limit');
  budget.release(10);
  t.equal(budget.held, 0, 'release() gives it back');
  t.end();
});

test('resp server: inline commands (what redis-benchmark -t ping and telnet send), as Redis splits them', async (t) => {
  for (const chunking of ['whole', 'byte', 'random'] as const) {
    const [client, server] = memoryPair({ chunking, seed: 11 });
    const served = serveResp(server);
    // Each line is answered in order; empty lines and *0 get no reply at all.
    void client.write([
      'PING\r\n', 'ping\n', '\r\n', '   \n', '*0\r\n', 'PING "hello world"\r\n',
      'SET k "a\\tb\\x41\\n\\"q\\""\r\n', 'GET k\r\n', "ECHO 'it\\'s'\r\n", '  ECHO   spaced\t \r\n',
      '*2\r\n$4\r\nECHO\r\n$3\r\nmix\r\n', 'ECHO ""\r\n', 'FLY away\r\n', 'QUIT\r\n',
    ].join(''));
    const expected: Plain[] = ['PONG', 'PONG', bulk('hello world'), 'OK', bulk('a\tbA\n"q"'), bulk("it's"), bulk('spaced'),
      bulk('mix'), bulk(''), { error: "ERR unknown command 'fly'" }, 'OK'];
    const got: Plain[] = [];
    for (let i = 0; i < expected.length; i++) got.push(plain(await withTimeout(readValue(client), WAIT_MS, `reply ${i}`)));
    t.deepEqual(got, expected, `${chunking}: replies in order, nothing for the empty lines`);
    t.equal((await withTimeout(client.readUntilClose(), WAIT_MS, 'close')).length, 0, `${chunking}: closed after QUIT`);
    await served;
  }
});

test('resp server: splitInline follows sdssplitargs', (t) => {
  const split = (s: string): string[] => splitInline(new TextEncoder().encode(s)).map((a) => String.fromCharCode(...a));
  t.deepEqual(split(''), [], 'empty');
  t.deepEqual(split(' \t '), [], 'blanks only');
  t.deepEqual(split('SET  key\tvalue '), ['SET', 'key', 'value'], 'words on spaces and tabs');
  t.deepEqual(split('a"b c" d'), ['ab c', 'd'], 'a quote may start inside a word');
  t.deepEqual(split('"\\x4a\\x4B" "\\xZZ"'), ['JK', 'xZZ'], '\\xHH, and \\x without hex is x');
  t.deepEqual(split('"\\n\\r\\t\\b\\a\\\\\\z"'), ['\n\r\t\b\x07\\z'], 'escapes in "..."');
  t.deepEqual(split("'a\\nb' 'it\\'s'"), ['a\\nb', "it's"], "only \\' is an escape in '...'");
  t.deepEqual(split('"" \'\''), ['', ''], 'empty quoted arguments');
  for (const bad of ['"open', "'open", '"a"b', "'a'b", '"a\\"', 'a"b c"d']) {
    t.throws(() => split(bad), RespProtocolError, `${bad} → unbalanced quotes`);
  }
  t.end();
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

/** Reads from `socket` until `n` bytes came (or it ends), within `ms`. */
function receiveBytes(socket: net.Socket, n: number, ms: number, what: string): Promise<string> {
  return withTimeout(new Promise<string>((resolve, reject) => {
    let got = '';
    const off = (): void => { socket.off('data', onData); socket.off('end', onEnd); socket.off('error', onEnd); };
    const onData = (d: Buffer): void => { got += d.toString('latin1'); if (got.length >= n) { off(); resolve(got); } };
    const onEnd = (): void => { off(); reject(new Error(`${what}: connection ended after ${got.length} of ${n} bytes`)); };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onEnd);
  }), ms, what);
}

const BATCHES = 200;
/** Without a stall 200 batches take milliseconds; the stall cost 40 ms (a delayed ACK) each. */
const PIPELINE_BOUND_MS = 4000;

test('resp server over TCP: pipelined batches (16 commands per write, as redis-benchmark -P 16) do not stall', async (t) => {
  let served: Promise<void> | null = null;
  const { port, accepted } = await acceptOnce((socket) => { served = serveResp(new IOStream(socket)); });
  const client = net.connect(port, '127.0.0.1');
  try {
    await accepted;
    // Like redis-benchmark: one write of 16 commands, the next batch only once all 16 replies came.
    const set = encodeCommand(['SET', 'key:__rand_int__', 'xxx']);
    const get = encodeCommand(['GET', 'key:__rand_int__']);
    const batches = [Buffer.concat(Array.from({ length: 16 }, () => set)), Buffer.concat(Array.from({ length: 16 }, () => get))];
    const replies = ['+OK\r\n'.repeat(16), '$3\r\nxxx\r\n'.repeat(16)];
    let done = 0;
    const run = (async () => {
      for (; done < BATCHES; done++) {
        const reply = receiveBytes(client, (replies[done % 2] as string).length, PIPELINE_BOUND_MS, `batch ${done}`);
        client.write(batches[done % 2] as Buffer);
        if (await reply !== replies[done % 2]) throw new Error(`batch ${done}: wrong replies`);
      }
    })();
    const finished = await withTimeout(run, PIPELINE_BOUND_MS, 'batches').then(() => true, (err: unknown) => {
      t.fail(`${BATCHES} batches of 16 within ${PIPELINE_BOUND_MS} ms: only ${done} done (${String(err)}): a stall`);
      return false;
    });
    if (!finished) return;
    t.pass(`${BATCHES} batches of 16 pipelined commands answered within ${PIPELINE_BOUND_MS} ms`);

    // One write of 2000 commands: their replies (over 200 KiB) all come back, in order.
    const value = 'v'.repeat(100);
    const big = Buffer.concat([encodeCommand(['SET', 'big', value]), ...Array.from({ length: 2000 }, () => encodeCommand(['GET', 'big']))]);
    const expected = `+OK\r\n${`$100\r\n${value}\r\n`.repeat(2000)}`;
    const reply = receiveBytes(client, expected.length, WAIT_MS, '2000 pipelined GETs');
    client.write(big);
    t.ok(await reply === expected, `2000 pipelined GETs: ${expected.length} bytes of replies, in order`);
    const bye = receiveBytes(client, 5, WAIT_MS, 'QUIT');
    client.write('QUIT\r\n');
    t.equal(await bye, '+OK\r\n', 'QUIT');
    await withTimeout(served as unknown as Promise<void>, WAIT_MS, 'server end');
  } finally {
    client.destroy();
  }
});

test('resp server over TCP: pipelined commands written in pieces cut anywhere get every reply, in order', async (t) => {
  let served: Promise<void> | null = null;
  const { port, accepted } = await acceptOnce((socket) => { served = serveResp(new IOStream(socket)); });
  const client = net.connect(port, '127.0.0.1');
  client.setNoDelay(true);
  try {
    await accepted;
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    // SETs (one in ten of 50–200 KB: longer than a chunk), GETs in both forms, PINGs.
    const model = new Map<string, string>();
    const wire: Uint8Array[] = [];
    let expected = '';
    const bulkReply = (v: string | undefined): string => (v === undefined ? '$-1\r\n' : `$${v.length}\r\n${v}\r\n`);
    for (let i = 0; i < 400; i++) {
      const key = `key:${rnd(20)}`;
      const kind = rnd(4);
      if (kind === 0) {
        const value = `v${i}\r\n${'x'.repeat(rnd(10) === 0 ? 50_000 + rnd(150_000) : rnd(100))}`;
        wire.push(encodeCommand(['SET', key, value]));
        model.set(key, value);
        expected += '+OK\r\n';
      } else if (kind === 1) {
        wire.push(encodeCommand(['GET', key]));
        expected += bulkReply(model.get(key));
      } else if (kind === 2) {
        wire.push(new TextEncoder().encode(`GET ${key}\r\n`));
        expected += bulkReply(model.get(key));
      } else {
        wire.push(new TextEncoder().encode('PING\r\n'));
        expected += '+PONG\r\n';
      }
    }
    wire.push(encodeCommand(['QUIT']));
    expected += '+OK\r\n';
    const all = Buffer.concat(wire);
    const replies = receiveBytes(client, expected.length, WAIT_MS, 'replies');
    let writes = 0;
    for (let at = 0; at < all.length; writes++) {
      const n = 1 + rnd(3000);
      client.write(all.subarray(at, at + n));
      at += n;
      // Now and then the server gets to read before the next piece: requests arrive cut.
      if (rnd(3) === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const got = await replies;
    t.ok(got === expected, `${wire.length} commands (${all.length} bytes in ${writes} writes): ${expected.length} bytes of replies, in order`);
    await withTimeout(served as unknown as Promise<void>, WAIT_MS, 'server end');
  } finally {
    client.destroy();
  }
});

test('resp server: listenResp serves TCP clients (inline PING from a plain socket, RespClient over IOStream)', async (t) => {
  const server = await listenResp();
  const raw = net.connect(server.port, '127.0.0.1');
  const stream = new IOStream();
  try {
    const pong = receiveBytes(raw, 7, WAIT_MS, 'PONG');
    raw.write('PING\r\n');
    t.equal(await pong, '+PONG\r\n', 'inline PING over a plain socket');
    const redis = new RespClient(await stream.connect({ host: '127.0.0.1', port: server.port }));
    t.equal(await redis.command('SET', 'shared', 'yes'), 'OK', 'SET over IOStream');
    const got = receiveBytes(raw, 9, WAIT_MS, 'GET');
    raw.write('GET shared\r\n');
    t.equal(await got, '$3\r\nyes\r\n', 'connections share one store');
    const ended = new Promise<void>((resolve) => { raw.once('close', () => resolve()); });
    await withTimeout(server.close(), WAIT_MS, 'close');
    await withTimeout(ended, WAIT_MS, 'open connections closed');
    t.pass('close() stops listening and closes the open connections');
  } finally {
    raw.destroy();
    stream.close();
  }
});

/** Resolves once `cond()` holds, checking every few ms, within WAIT_MS. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Everything `socket` receives until the server closes it, within WAIT_MS. */
function receiveAll(socket: net.Socket, what: string): Promise<string> {
  return withTimeout(new Promise<string>((resolve, reject) => {
    let got = '';
    socket.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    socket.once('end', () => resolve(got));
    socket.once('error', reject);
  }), WAIT_MS, what);
}

/** A plain TCP client of `port`, connected. */
async function rawClient(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  return socket;
}

const MiB = 1024 * 1024;
/** A SET whose 1 MiB value is cut off after `sent` bytes: the server waits for the rest. */
const cutSet = (sent: number): string => `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${MiB}\r\n${'v'.repeat(sent)}`;

test('resp server over TCP: pending bulks of all connections share one budget; over it, -OOM and the close', async (t) => {
  const server = await listenResp({ limits: { maxBulk: MiB, maxPendingBulkBytes: 3 * (MiB + 2) } });
  const sockets: net.Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const s = await rawClient(server.port);
      sockets.push(s);
      s.write(cutSet(1000));
    }
    await until(() => server.budget.held === 3 * (MiB + 2), 'three pending bulks');
    t.pass('three pending 1 MiB bulks hold 3 * (1 MiB + 2) bytes of the budget');

    const fourth = await rawClient(server.port);
    sockets.push(fourth);
    const refused = receiveAll(fourth, 'the fourth connection');
    fourth.write(`PING\r\n${cutSet(0)}`);
    t.equal(await refused, `+PONG\r\n-${RESP_BUDGET_REPLY}\r\n`, 'a fourth: the reply before it, then -OOM, then the close');
    t.equal(server.budget.held, 3 * (MiB + 2), 'the refused bulk reserved nothing');

    // The first bulk completes: its bytes are given back and a new connection may take them.
    const first = sockets[0] as net.Socket;
    const ok = receiveBytes(first, 5, WAIT_MS, 'SET reply');
    first.write(`${'v'.repeat(MiB - 1000)}\r\n`);
    t.equal(await ok, '+OK\r\n', 'the first SET completes');
    t.equal(server.budget.held, 2 * (MiB + 2), 'and gives its reservation back');
    const fifth = await rawClient(server.port);
    sockets.push(fifth);
    fifth.write(cutSet(10));
    await until(() => server.budget.held === 3 * (MiB + 2), 'the fifth connection\'s bulk');
    t.pass('a new connection takes the room that was given back');

    // Each way a connection can end gives its reservation back: QUIT after the bulk, the
    // client's close, the client's reset, and the server's close.
    const bye = receiveAll(first, 'QUIT');
    first.write('QUIT\r\n');
    t.equal(await bye, '+OK\r\n', 'QUIT');
    (sockets[1] as net.Socket).end();
    await until(() => server.budget.held === 2 * (MiB + 2), 'a client close');
    t.pass('a client that closes mid-bulk gives its reservation back');
    (sockets[2] as net.Socket).resetAndDestroy();
    await until(() => server.budget.held === MiB + 2, 'a client reset');
    t.pass('a client that resets mid-bulk gives its reservation back');
    const closedByServer = new Promise<void>((resolve) => { fifth.once('close', () => resolve()); });
    await withTimeout(server.close(), WAIT_MS, 'server close');
    await withTimeout(closedByServer, WAIT_MS, 'fifth closed');
    await until(() => server.budget.held === 0, 'the server close');
    t.pass('closing the server gives back the last one');
  } finally {
    for (const s of sockets) s.destroy();
    await server.close();
  }
});

test('resp server over TCP: 10 connections destroyed mid-bulk leave the budget at 0', async (t) => {
  const server = await listenResp({ limits: { maxBulk: MiB } });
  const sockets: net.Socket[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      const s = await rawClient(server.port);
      sockets.push(s);
      s.write(cutSet(512 * 1024));
    }
    await until(() => server.budget.held === 10 * (MiB + 2), 'ten pending bulks');
    t.pass('ten connections, each half way through a 1 MiB bulk, hold 10 * (1 MiB + 2)');
    for (const [i, s] of sockets.entries()) {
      if (i % 2 === 0) s.destroy(); else s.resetAndDestroy();
    }
    await until(() => server.budget.held === 0, 'the budget back at 0');
    t.pass('destroyed (half of them reset): the budget is back at 0');
  } finally {
    for (const s of sockets) s.destroy();
    await server.close();
  }
});

test('resp server over TCP: a 20 MiB value just under the default limits makes the round trip', async (t) => {
  const server = await listenResp();
  const stream = new IOStream();
  try {
    const redis = new RespClient(await stream.connect({ host: '127.0.0.1', port: server.port }));
    const big = Uint8Array.from({ length: 20 * MiB }, (_, i) => (i * 31 + (i >> 12)) & 0xff);
    t.equal(await withTimeout(redis.command('SET', 'big', big), WAIT_MS, 'SET'), 'OK', 'SET of 20 MiB');
    const back = await withTimeout(redis.command('GET', 'big'), WAIT_MS, 'GET');
    t.ok(back instanceof Uint8Array && Buffer.compare(back, big) === 0, 'GET returns it intact');
    t.equal(server.budget.held, 0, 'nothing is held once it has come');
  } finally {
    stream.close();
    await server.close();
  }
});
